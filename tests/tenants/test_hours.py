"""Opening hours across split shifts, holidays and DST changes: table tests, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from centralita.tenants.hours import (
    HolidayCalendar,
    WeeklySchedule,
    intervals_on,
    is_open,
    next_closing,
    next_opening,
    parse_shifts,
)

MADRID = ZoneInfo("Europe/Madrid")
LONDON = ZoneInfo("Europe/London")
SPLIT = [["09:00", "14:00"], ["16:00", "20:00"]]
CLINIC = WeeklySchedule.from_config(
    {
        "monday": SPLIT,
        "tuesday": SPLIT,
        "wednesday": SPLIT,
        "thursday": SPLIT,
        "friday": [["09:00", "15:00"]],
        "saturday": [["10:00", "14:00"]],
    }
)
CLINIC_CAL = HolidayCalendar.from_config(
    {
        "custom": [{"date": "2026-05-15", "name": "San Isidro"}],
        "closures": [{"from": "2026-08-10", "to": "2026-08-23", "name": "Vacaciones"}],
        "special": [{"date": "2026-12-24", "name": "Nochebuena", "hours": [["09:00", "14:00"]]}],
    },
    country="ES",
    subdivision="MD",
    language="es",
)
NIGHT = WeeklySchedule.from_config({"sunday": [["01:00", "04:00"]]})
GAP = WeeklySchedule.from_config({"sunday": [["02:30", "05:00"]]})
ROUND_THE_CLOCK = WeeklySchedule.from_config({day: [["00:00", "24:00"]] for day in ("friday",)})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)


IS_OPEN = [
    # (description, schedule, calendar, zone, instant, expected)
    ("morning shift", CLINIC, None, MADRID, local(MADRID, 2026, 3, 9, 9, 0), True),
    ("lunch break", CLINIC, None, MADRID, local(MADRID, 2026, 3, 9, 15, 0), False),
    ("afternoon shift", CLINIC, None, MADRID, local(MADRID, 2026, 3, 9, 19, 59), True),
    ("end is exclusive", CLINIC, None, MADRID, local(MADRID, 2026, 3, 9, 20, 0), False),
    ("sunday", CLINIC, None, MADRID, local(MADRID, 2026, 3, 8, 11, 0), False),
    # 07:30 UTC is 08:30 in winter (closed) and 09:30 in summer (open).
    ("winter offset", CLINIC, None, MADRID, utc(2026, 3, 27, 7, 30), False),
    ("summer offset", CLINIC, None, MADRID, utc(2026, 3, 30, 7, 30), True),
    ("a UTC instant late on the local day", CLINIC, None, MADRID, utc(2026, 3, 30, 17, 30), True),
    ("regional holiday", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 5, 1, 10), False),
    ("Madrid day holiday", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 5, 15, 10), False),
    ("summer closure", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 8, 17, 10), False),
    ("after the closure", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 8, 24, 10), True),
    ("special day morning", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 12, 24, 10), True),
    ("special day afternoon", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 12, 24, 17), False),
    ("ordinary Thursday", CLINIC, CLINIC_CAL, MADRID, local(MADRID, 2026, 12, 17, 17), True),
    # Clocks go back at 03:00 CEST on 2026-10-25: 02:30 happens twice, both inside 01-04.
    ("first 02:30", NIGHT, None, MADRID, local(MADRID, 2026, 10, 25, 2, 30), True),
    ("second 02:30", NIGHT, None, MADRID, local(MADRID, 2026, 10, 25, 2, 30, fold=1), True),
    ("04:00 CET", NIGHT, None, MADRID, utc(2026, 10, 25, 3, 0), False),
    ("just before 04:00 CET", NIGHT, None, MADRID, utc(2026, 10, 25, 2, 59), True),
    # Clocks go forward at 02:00 CET on 2026-03-29: a 02:30 start becomes 03:30 CEST.
    ("03:15 CEST, skipped start", GAP, None, MADRID, utc(2026, 3, 29, 1, 15), False),
    ("03:45 CEST", GAP, None, MADRID, utc(2026, 3, 29, 1, 45), True),
    ("24:00 end", ROUND_THE_CLOCK, None, LONDON, local(LONDON, 2026, 6, 5, 23, 59), True),
    ("after 24:00", ROUND_THE_CLOCK, None, LONDON, local(LONDON, 2026, 6, 6, 0, 0), False),
]


@pytest.mark.parametrize(
    ("schedule", "calendar", "zone", "instant", "expected"),
    [case[1:] for case in IS_OPEN],
    ids=[case[0] for case in IS_OPEN],
)
def test_is_open(
    schedule: WeeklySchedule,
    calendar: HolidayCalendar | None,
    zone: ZoneInfo,
    instant: datetime,
    expected: bool,
) -> None:
    assert is_open(schedule, calendar, zone, instant) is expected


NEXT_OPENING = [
    # (description, schedule, calendar, zone, now, expected local opening or None)
    (
        "open now",
        CLINIC,
        None,
        MADRID,
        local(MADRID, 2026, 3, 9, 10),
        local(MADRID, 2026, 3, 9, 10),
    ),
    ("lunch", CLINIC, None, MADRID, local(MADRID, 2026, 3, 9, 15), local(MADRID, 2026, 3, 9, 16)),
    # Saturday afternoon before the spring change: Monday 09:00 is 07:00 UTC, not 08:00.
    ("over DST", CLINIC, None, MADRID, local(MADRID, 2026, 3, 28, 15), utc(2026, 3, 30, 7, 0)),
    ("over autumn DST", CLINIC, None, MADRID, utc(2026, 10, 24, 13), utc(2026, 10, 26, 8, 0)),
    # 1 May (national) and 2 May (Comunidad de Madrid), then the weekend.
    (
        "skips holidays",
        CLINIC,
        CLINIC_CAL,
        MADRID,
        local(MADRID, 2026, 4, 30, 21),
        local(MADRID, 2026, 5, 4, 9),
    ),
    (
        "skips closure",
        CLINIC,
        CLINIC_CAL,
        MADRID,
        local(MADRID, 2026, 8, 8, 15),
        local(MADRID, 2026, 8, 24, 9),
    ),
    (
        "new year",
        CLINIC,
        CLINIC_CAL,
        MADRID,
        local(MADRID, 2026, 12, 31, 21),
        local(MADRID, 2027, 1, 2, 10),
    ),
    ("skipped start", GAP, None, MADRID, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 30)),
    ("never opens", WeeklySchedule.always_closed(), None, MADRID, utc(2026, 1, 1), None),
]


@pytest.mark.parametrize(
    ("schedule", "calendar", "zone", "now", "expected"),
    [case[1:] for case in NEXT_OPENING],
    ids=[case[0] for case in NEXT_OPENING],
)
def test_next_opening(
    schedule: WeeklySchedule,
    calendar: HolidayCalendar | None,
    zone: ZoneInfo,
    now: datetime,
    expected: datetime | None,
) -> None:
    found = next_opening(schedule, calendar, zone, now)
    assert found == expected
    if found is not None:
        assert found.tzinfo == zone and is_open(schedule, calendar, zone, found)


def test_bank_holidays_come_from_the_country_and_region() -> None:
    office = WeeklySchedule.from_config({"monday": [["09:00", "17:30"]]})
    england = HolidayCalendar(country="GB", subdivision="ENG", language="en")
    scotland = HolidayCalendar(country="GB", subdivision="SCT", language="en")
    late_summer = local(LONDON, 2026, 8, 31, 10)  # England's late summer bank holiday
    assert england.closed_reason(late_summer.date()) == "Late Summer Bank Holiday"
    assert not is_open(office, england, LONDON, late_summer)
    assert is_open(office, scotland, LONDON, late_summer)
    assert next_opening(office, england, "Europe/London", late_summer) == local(
        LONDON, 2026, 9, 7, 9
    )


def test_closed_reason_names_the_day_in_the_tenant_language() -> None:
    assert CLINIC_CAL.closed_reason(date(2026, 5, 2)) == "Fiesta de la Comunidad de Madrid"
    assert CLINIC_CAL.closed_reason(date(2026, 5, 15)) == "San Isidro"
    assert CLINIC_CAL.closed_reason(date(2026, 8, 20)) == "Vacaciones"
    assert CLINIC_CAL.closed_reason(date(2026, 12, 24)) is None  # special hours, not closed
    assert CLINIC_CAL.closed_reason(date(2026, 5, 14)) is None


def test_an_autumn_night_shift_lasts_one_hour_longer() -> None:
    [(start, end)] = intervals_on(NIGHT, None, MADRID, date(2026, 10, 25))
    assert end - start == timedelta(hours=4)
    [(start, end)] = intervals_on(NIGHT, None, MADRID, date(2026, 11, 1))
    assert end - start == timedelta(hours=3)


def test_next_closing_joins_a_shift_that_runs_past_midnight() -> None:
    late = WeeklySchedule.from_config(
        {"friday": [["18:00", "24:00"]], "saturday": [["00:00", "02:00"]]}
    )
    now = local(LONDON, 2026, 6, 5, 23)
    assert next_closing(late, None, LONDON, now) == local(LONDON, 2026, 6, 6, 2)
    assert next_closing(late, None, LONDON, local(LONDON, 2026, 6, 5, 17)) is None


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([["09:00", "14:00"], ["13:00", "17:00"]], "overlap"),
        ([["14:00", "09:00"]], "end after it starts"),
        ([["09:00", "09:00"]], "end after it starts"),
        ([["9", "10:00"]], "HH:MM"),
        ([["24:30", "25:00"]], "not a time of day"),
        ([["09:60", "10:00"]], "not a time of day"),
    ],
)
def test_bad_shifts_are_refused(pairs: list[list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shifts(pairs)


def test_shifts_are_sorted_and_may_touch() -> None:
    shifts = parse_shifts([["16:00", "20:00"], ["09:00", "16:00"]])
    assert [str(s) for s in shifts] == ["09:00-16:00", "16:00-20:00"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(CLINIC, None, MADRID, datetime(2026, 3, 9, 10))
