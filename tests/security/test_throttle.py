"""The pure login-throttling decisions, table-driven, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.access.throttle import (
    ACCOUNT_POLICY,
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    after_success,
    retry_after,
)

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _fail(
    times: int,
    state: ThrottleState = ThrottleState(),
    *,
    every: timedelta = MIN,
    start: datetime = T0,
) -> tuple[ThrottleState, list[bool]]:
    locks = []
    for i in range(times):
        outcome = after_failure(state, start + every * i, ACCOUNT_POLICY)
        state = outcome.state
        locks.append(outcome.locked_now)
    return state, locks


def test_the_fifth_failure_within_the_window_locks_for_fifteen_minutes() -> None:
    state, locks = _fail(5)
    assert locks == [False, False, False, False, True]
    at = T0 + 4 * MIN
    assert state.locked_until == at + timedelta(minutes=15)
    assert retry_after(state, at) == timedelta(minutes=15)
    assert retry_after(state, at + timedelta(minutes=15)) is None


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    state, locks = _fail(20, every=timedelta(minutes=4))
    assert not any(locks)
    assert state.locked_until is None


@pytest.mark.parametrize(
    ("lockouts", "length"),
    [(0, 15), (1, 30), (2, 60), (3, 120), (6, 960), (7, 1440), (10, 1440), (60, 1440)],
)
def test_each_lock_doubles_up_to_a_cap(lockouts: int, length: int) -> None:
    assert ACCOUNT_POLICY.lock_length(lockouts) == timedelta(minutes=length)


def test_a_second_lock_lasts_twice_as_long() -> None:
    state, _ = _fail(5)
    assert state.locked_until is not None
    after = state.locked_until
    state, locks = _fail(5, state, start=after)
    assert locks[-1] is True
    assert state.locked_until == after + 4 * MIN + timedelta(minutes=30)
    assert state.lockouts == 2


def test_a_quiet_day_forgets_earlier_locks() -> None:
    state, _ = _fail(5)
    state, _ = _fail(5, state, start=T0 + timedelta(days=2))
    assert state.lockouts == 1
    assert state.locked_until == T0 + timedelta(days=2, minutes=4 + 15)


def test_success_clears_everything() -> None:
    state, _ = _fail(4)
    assert after_success(state) == ThrottleState()


def test_a_custom_policy() -> None:
    policy = ThrottlePolicy(max_failures=2, first_lock=timedelta(seconds=10))
    first = after_failure(ThrottleState(), T0, policy)
    second = after_failure(first.state, T0, policy)
    assert (first.locked_now, second.locked_now) == (False, True)
    assert retry_after(second.state, T0) == timedelta(seconds=10)
