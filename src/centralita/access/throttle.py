"""Login throttling: when failed sign-ins lock an account or a client address. Pure.

Each key (an account, a client address) counts its failures in a sliding window that starts
at the first failure. Reaching the limit locks the key; every further lock of the same key
lasts twice as long as the previous one, up to a cap. A success clears the key's counters;
a key that stays quiet for ``forget_after`` starts again from the first lock length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    first_lock: timedelta = timedelta(minutes=15)
    max_lock: timedelta = timedelta(hours=24)
    forget_after: timedelta = timedelta(days=1)

    def lock_length(self, lockouts: int) -> timedelta:
        """The length of the ``lockouts``-th lock (0 is the first): doubling, capped."""
        if lockouts >= 32:  # 2**32 locks overflow timedelta long before this
            return self.max_lock
        doubled: timedelta = self.first_lock * (2**lockouts)
        return min(doubled, self.max_lock)


ACCOUNT_POLICY = ThrottlePolicy()
# Many people can share one address (an office, a mobile carrier's NAT): a higher limit.
ADDRESS_POLICY = ThrottlePolicy(max_failures=30)


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    window_started_at: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0
    last_failure_at: datetime | None = None


@dataclass(frozen=True)
class FailureOutcome:
    state: ThrottleState
    locked_now: bool  # this failure started a lock (audit it once)


def retry_after(state: ThrottleState, now: datetime) -> timedelta | None:
    """How long the key stays locked, or None when it may try now."""
    if state.locked_until is None or now >= state.locked_until:
        return None
    return state.locked_until - now


def after_failure(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> FailureOutcome:
    """Count one failed attempt; lock the key when it reaches the limit within the window."""
    lockouts = state.lockouts
    if state.last_failure_at is not None and now - state.last_failure_at >= policy.forget_after:
        lockouts = 0
    failures, started = state.failures, state.window_started_at
    if started is None or now - started >= policy.window:
        failures, started = 0, now
    failures += 1
    if failures < policy.max_failures:
        new = replace(
            state,
            failures=failures,
            window_started_at=started,
            lockouts=lockouts,
            last_failure_at=now,
        )
        return FailureOutcome(new, locked_now=False)
    locked = ThrottleState(
        failures=0,
        window_started_at=None,
        locked_until=now + policy.lock_length(lockouts),
        lockouts=lockouts + 1,
        last_failure_at=now,
    )
    return FailureOutcome(locked, locked_now=True)


def after_success(state: ThrottleState) -> ThrottleState:
    """A correct password (outside any lock) clears the key."""
    return ThrottleState()
