"""When to try a failed webhook delivery again, and when to give up (pure).

Exponential: 30 s after the first failure, doubling each time up to six hours, each delay
spread by up to 20 % either way so that many deliveries failing together do not all come back
at the same instant. The last try is made at the deadline, three days after the
event; a delivery that fails then is given up (``dead``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
JITTER = 0.2


def delay(failures: int, *, jitter: float = 0.5) -> timedelta:
    """The wait after the ``failures``-th failed attempt (1-based); ``jitter`` in [0, 1)."""
    if failures < 1:
        raise ValueError("failures counts from 1")
    base: timedelta = min(FIRST_DELAY * 2 ** min(failures - 1, 30), MAX_DELAY)
    return base * (1 - JITTER + 2 * JITTER * jitter)


def next_attempt(
    failures: int, *, now: datetime, deadline: datetime, jitter: float = 0.5
) -> datetime | None:
    """When to try again after ``failures`` failed attempts; None means give up."""
    if now >= deadline:
        return None
    return min(now + delay(failures, jitter=jitter), deadline)
