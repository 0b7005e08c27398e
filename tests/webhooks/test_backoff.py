"""The retry schedule: exponential, capped, jittered, and a last try at the deadline (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.webhooks import backoff

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=1)),
        (3, timedelta(minutes=2)),
        (10, timedelta(minutes=256)),
        (11, timedelta(hours=6)),
        (40, timedelta(hours=6)),
    ],
)
def test_delay_doubles_up_to_six_hours(failures: int, expected: timedelta) -> None:
    assert backoff.delay(failures) == expected  # jitter 0.5: the middle


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.999])
def test_jitter_stays_within_twenty_percent(jitter: float) -> None:
    d = backoff.delay(4, jitter=jitter)
    assert timedelta(minutes=4) * 0.8 <= d <= timedelta(minutes=4) * 1.2


def test_last_try_is_at_the_deadline_then_give_up() -> None:
    deadline = T0 + backoff.GIVE_UP_AFTER
    near = deadline - timedelta(hours=1)
    assert backoff.next_attempt(15, now=near, deadline=deadline) == deadline
    assert backoff.next_attempt(16, now=deadline, deadline=deadline) is None
    assert backoff.next_attempt(1, now=T0, deadline=deadline) == T0 + timedelta(seconds=30)


def test_whole_schedule_spans_three_days() -> None:
    deadline = T0 + backoff.GIVE_UP_AFTER
    now, failures = T0, 1
    while (at := backoff.next_attempt(failures, now=now, deadline=deadline)) is not None:
        now, failures = at, failures + 1
    assert now == deadline
    assert 20 <= failures <= 25


def test_failures_count_from_one() -> None:
    with pytest.raises(ValueError):
        backoff.delay(0)
