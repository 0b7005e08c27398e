"""The weekly forecast and its staffing, on data small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from centralita.staffing.forecast import (
    forecast_week,
    mape,
    slot_counts,
    staff_forecast,
    wape,
)

END = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: the forecast week starts here
MONDAY_9 = END - timedelta(days=7) + timedelta(hours=9)  # last Monday, 09:00


def _arrivals(per_week: list[int], at: datetime = MONDAY_9) -> list[datetime]:
    """``per_week[k]`` arrivals in the slot of ``at``, ``k`` weeks before it (0: latest)."""
    return [
        at - timedelta(weeks=k) + timedelta(minutes=i % 30)
        for k, count in enumerate(per_week)
        for i in range(count)
    ]


def _slot(forecast, weekday: int, slot: int):  # type: ignore[no-untyped-def]
    [found] = [s for s in forecast.slots if (s.weekday, s.slot) == (weekday, slot)]
    return found


@pytest.mark.parametrize(
    ("moment", "key", "week"),
    [
        (END - timedelta(minutes=1), (6, 47), 0),  # Sunday 23:59, the latest week
        (MONDAY_9 + timedelta(minutes=29), (0, 18), 0),  # 09:29 is still the 09:00 slot
        (MONDAY_9 + timedelta(minutes=30), (0, 19), 0),
        (MONDAY_9 - timedelta(minutes=1), (0, 17), 0),
        (END - timedelta(days=7, minutes=1), (6, 47), 1),  # the Sunday before: week 1
    ],
)
def test_arrivals_fall_in_their_weekday_slot_and_week(
    moment: datetime, key: tuple[int, int], week: int
) -> None:
    counts = slot_counts([moment], history_end=END, weeks=2)
    assert counts[week] == {key: 1}
    assert sum(sum(c.values()) for c in counts) == 1


def test_arrivals_outside_the_window_are_ignored() -> None:
    outside = [END, END + timedelta(hours=3), END - timedelta(weeks=2, minutes=1)]
    assert slot_counts(outside, history_end=END, weeks=2) == [{}, {}]


def test_slots_are_local_time() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    end = datetime(2026, 3, 2, tzinfo=madrid)
    # 23:30 UTC on Saturday is 00:30 on Sunday in Madrid (UTC+1 in winter): slot 1 of Sunday
    counts = slot_counts([datetime(2026, 2, 28, 23, 30, tzinfo=UTC)], history_end=end, weeks=1)
    assert counts[0] == {(6, 1): 1}


def test_the_forecast_is_the_weighted_mean_of_the_same_slot() -> None:
    # Monday 09:00 had 4, 3, 2 and 1 contacts over the last four weeks (latest first).
    arrivals = _arrivals([4, 3, 2, 1])
    weighted = forecast_week(arrivals, start=END, weeks=4)
    monday_9 = _slot(weighted, 0, 18)
    assert monday_9.start == END + timedelta(hours=9)
    assert monday_9.calls == pytest.approx((4 * 4 + 3 * 3 + 2 * 2 + 1 * 1) / 10)  # 3.0
    assert monday_9.naive == 4
    assert weighted.weeks_used == 4
    assert len(weighted.slots) == 7 * 48 and weighted.total == pytest.approx(3.0)
    plain = forecast_week(arrivals, start=END, weeks=4, weighted=False)
    assert _slot(plain, 0, 18).calls == pytest.approx(2.5)


def test_the_latest_week_is_held_out_to_measure_the_error() -> None:
    forecast = forecast_week(_arrivals([4, 3, 2, 1]), start=END, weeks=4)
    accuracy = forecast.accuracy
    assert accuracy is not None and accuracy.actual == 4
    # held out: 4; from the three weeks before it, (3*3 + 2*2 + 1*1) / 6 = 7/3; naive: 3
    assert accuracy.wape == pytest.approx((4 - 7 / 3) / 4)
    assert accuracy.mape == pytest.approx((4 - 7 / 3) / 4)
    assert accuracy.naive_wape == pytest.approx(0.25)


def test_a_new_tenant_is_not_diluted_by_weeks_it_did_not_exist() -> None:
    forecast = forecast_week(_arrivals([6]), start=END, weeks=4)
    assert forecast.weeks_used == 1
    assert _slot(forecast, 0, 18).calls == 6  # not 6 * 4 / 10
    assert forecast.accuracy is None  # one week: nothing to hold out


def test_no_history_forecasts_nothing() -> None:
    forecast = forecast_week([], start=END, weeks=4)
    assert forecast.weeks_used == 0 and forecast.total == 0 and forecast.accuracy is None


def test_the_history_can_end_before_the_forecast_week() -> None:
    # Today is Thursday; the forecast is for next Monday's week; history ends today.
    thursday = END - timedelta(days=4)
    arrivals = _arrivals([5], at=thursday - timedelta(days=3) + timedelta(hours=9))  # Monday
    forecast = forecast_week(arrivals, start=END, history_end=thursday, weeks=1)
    assert _slot(forecast, 0, 18).calls == 5


@pytest.mark.parametrize(
    ("actual", "predicted", "expected_wape", "expected_mape"),
    [
        ([10, 0, 10], [8, 2, 12], 0.3, 0.2),
        ([5, 5], [5, 5], 0.0, 0.0),
        ([0, 0], [1, 1], None, None),
        ([4], [0], 1.0, 1.0),
    ],
)
def test_error_measures(
    actual: list[float],
    predicted: list[float],
    expected_wape: float | None,
    expected_mape: float | None,
) -> None:
    assert wape(actual, predicted) == pytest.approx(expected_wape)
    assert mape(actual, predicted) == pytest.approx(expected_mape)


def test_each_interval_is_staffed_with_erlang_c() -> None:
    # 100 contacts every Monday 09:00-09:30: the textbook 14 agents (20 with 30% shrinkage).
    forecast = forecast_week(_arrivals([100]), start=END, weeks=1)
    staffed = staff_forecast(
        forecast, aht_seconds=180, target=0.8, threshold_seconds=20, shrinkage=0.3
    )
    busy = [s for s in staffed if s.slot.calls]
    assert [(s.slot.weekday, s.slot.slot, s.agents, s.rostered) for s in busy] == [(0, 18, 14, 20)]
    assert busy[0].service_level == pytest.approx(0.8884, abs=1e-4)
    quiet = [s for s in staffed if not s.slot.calls]
    assert len(quiet) == 7 * 48 - 1
    assert all(s.agents == 0 and s.service_level is None for s in quiet)


def test_erlang_a_staffing_with_patience_needs_no_more_than_erlang_c() -> None:
    forecast = forecast_week(_arrivals([100]), start=END, weeks=1)
    [c] = [s for s in staff_forecast(forecast, aht_seconds=180, target=0.8,
                                     threshold_seconds=20) if s.agents]  # fmt: skip
    [a] = [s for s in staff_forecast(forecast, aht_seconds=180, target=0.8, threshold_seconds=20,
                                     patience_seconds=300) if s.agents]  # fmt: skip
    assert a.agents is not None and c.agents is not None and a.agents <= c.agents


@pytest.mark.parametrize(
    "bad",
    [
        {"aht_seconds": 0},
        {"target": 1.0},
        {"threshold_seconds": -1},
        {"shrinkage": 1.0},
        {"patience_seconds": -5},
    ],
)
def test_bad_staffing_inputs_are_refused_even_for_a_quiet_week(bad: dict[str, float]) -> None:
    arguments = {"aht_seconds": 180.0, "target": 0.8, "threshold_seconds": 20.0, **bad}
    with pytest.raises(ValueError):
        staff_forecast(forecast_week([], start=END), **arguments)  # type: ignore[arg-type]


def test_bad_windows_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="weeks"):
        forecast_week([], start=END, weeks=0)
    with pytest.raises(ValueError, match="slot_minutes"):
        forecast_week([], start=END, slot_minutes=7)
    with pytest.raises(ValueError, match="timezone"):
        forecast_week([], start=datetime(2026, 3, 2))
