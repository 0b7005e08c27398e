"""Free slots and proposals across shifts, holidays, bookings and DST: table tests, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.scheduling import (
    AvailabilityRequest,
    PartOfDay,
    PreferredWindow,
    Resource,
    Slot,
    free_slots,
    part_of_day,
    propose,
)
from centralita.tenants.hours import Closure, HolidayCalendar, WeeklySchedule

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
SPLIT = [["09:00", "11:00"], ["16:00", "18:00"]]
WEEK = WeeklySchedule.from_config(
    {**{day: SPLIT for day in WEEKDAYS}, "saturday": [["10:00", "12:00"]]}
)
MONDAY_MORNING = WeeklySchedule.from_config({"monday": [["09:00", "12:00"]]})
TEN_TO_ELEVEN = WeeklySchedule.from_config(
    {day: [["10:00", "11:00"]] for day in ("saturday", "sunday", "monday")}
)
SUNDAY_NIGHT = WeeklySchedule.from_config({"sunday": [["01:00", "04:00"]]})
SUNDAY_GAP = WeeklySchedule.from_config({"sunday": [["02:30", "05:00"]]})
CALENDAR = HolidayCalendar.from_config(
    {
        "custom": [{"date": "2026-03-10", "name": "Fiesta local"}],
        "closures": [{"from": "2026-03-12", "to": "2026-03-13", "name": "Obras"}],
        "special": [{"date": "2026-03-15", "name": "Feria", "hours": [["10:00", "11:00"]]}],
    },
    country="ES",
    subdivision="MD",
)
PUBLIC_ONLY = HolidayCalendar.from_config({"country": "ES", "subdivision": "MD"})
BEA_MORNINGS = WeeklySchedule.from_config({day: [["10:00", "11:00"]] for day in WEEKDAYS})


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=MADRID, fold=fold)


MONDAY_7AM = local(2026, 3, 9, 7)  # Monday before opening, CET


def make_request(**overrides: Any) -> AvailabilityRequest:
    fields: dict[str, Any] = {
        "hours": WEEK,
        "calendar": None,
        "timezone": "Europe/Madrid",
        "resources": (Resource("ana"),),
        "duration": timedelta(minutes=60),
        "step": timedelta(minutes=60),
        "horizon_days": 1,
    }
    return AvailabilityRequest(**(fields | overrides))


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def show(slots: Sequence[Slot], *, offset: bool = False) -> list[str]:
    pattern = "%m-%d %H:%M%z" if offset else "%m-%d %H:%M"
    return [f"{slot.start.astimezone(MADRID):{pattern}} {slot.resource_key}" for slot in slots]


HALF_HOURS = {"hours": MONDAY_MORNING, "step": minutes(30), "duration": minutes(30)}
TEN_BOOKED = (local(2026, 3, 9, 10), local(2026, 3, 9, 10, 30))

FREE_SLOTS: list[tuple[str, dict[str, Any], datetime, list[str]]] = [
    # (description, request overrides, now, expected local starts)
    (
        "split shift",
        {},
        MONDAY_7AM,
        ["03-09 09:00 ana", "03-09 10:00 ana", "03-09 16:00 ana", "03-09 17:00 ana"],
    ),
    (
        "duration longer than the step",
        {"duration": minutes(90)},
        MONDAY_7AM,
        ["03-09 09:00 ana", "03-09 16:00 ana"],
    ),
    ("closed on Sunday", {}, local(2026, 3, 8, 7), []),
    ("zero horizon", {"horizon_days": 0}, MONDAY_7AM, []),
    (
        "horizon counts local days from today",
        {"horizon_days": 3},
        local(2026, 3, 7, 7),
        [
            "03-07 10:00 ana",
            "03-07 11:00 ana",
            "03-09 09:00 ana",
            "03-09 10:00 ana",
            "03-09 16:00 ana",
            "03-09 17:00 ana",
        ],
    ),
    (
        # Tue 10 is a custom holiday, Thu 12-Fri 13 a closure, Sun 15 a special opening.
        "holidays, closures and special days",
        {"calendar": CALENDAR, "horizon_days": 7, "hours": WEEK},
        MONDAY_7AM,
        [
            "03-09 09:00 ana",
            "03-09 10:00 ana",
            "03-09 16:00 ana",
            "03-09 17:00 ana",
            "03-11 09:00 ana",
            "03-11 10:00 ana",
            "03-11 16:00 ana",
            "03-11 17:00 ana",
            "03-14 10:00 ana",
            "03-14 11:00 ana",
            "03-15 10:00 ana",
        ],
    ),
    (
        "public holiday on 1 May",
        {"calendar": PUBLIC_ONLY, "horizon_days": 2, "step": minutes(120)},
        local(2026, 4, 30, 7),
        ["04-30 09:00 ana", "04-30 16:00 ana"],
    ),
    (
        "staff hours narrower than the business's, grid from the staff start",
        {
            "resources": (
                Resource("ana", WeeklySchedule.from_config({"monday": [["09:30", "17:00"]]})),
            )
        },
        MONDAY_7AM,
        ["03-09 09:30 ana", "03-09 16:00 ana"],
    ),
    (
        "sorted by start, then resource",
        {"resources": (Resource("bea", BEA_MORNINGS), Resource("ana"))},
        MONDAY_7AM,
        [
            "03-09 09:00 ana",
            "03-09 10:00 ana",
            "03-09 10:00 bea",
            "03-09 16:00 ana",
            "03-09 17:00 ana",
        ],
    ),
    (
        "staff closure",
        {
            "resources": (
                Resource(
                    "ana",
                    closures=(Closure(local(2026, 3, 9).date(), local(2026, 3, 9).date(), "Baja"),),
                ),
            )
        },
        MONDAY_7AM,
        [],
    ),
    (
        "staff default hours follow the business's special day",
        {"calendar": CALENDAR, "resources": (Resource("ana"), Resource("bea", BEA_MORNINGS))},
        local(2026, 3, 15, 7),
        ["03-15 10:00 ana"],
    ),
    (
        "step grid",
        {"hours": MONDAY_MORNING, "step": minutes(20), "duration": minutes(30)},
        MONDAY_7AM,
        [
            f"03-09 {t} ana"
            for t in ("09:00", "09:20", "09:40", "10:00", "10:20", "10:40", "11:00", "11:20")
        ],
    ),
    (
        "a booking blocks its own time only",
        HALF_HOURS | {"resources": (Resource("ana", bookings=(TEN_BOOKED,)),)},
        MONDAY_7AM,
        [f"03-09 {t} ana" for t in ("09:00", "09:30", "10:30", "11:00", "11:30")],
    ),
    (
        # The new appointment gets the same buffer, so 09:30-10:00 would leave none before 10:00.
        "buffer after every booking",
        HALF_HOURS
        | {"buffer": minutes(15), "resources": (Resource("ana", bookings=(TEN_BOOKED,)),)},
        MONDAY_7AM,
        ["03-09 09:00 ana", "03-09 11:00 ana", "03-09 11:30 ana"],
    ),
    (
        "overlapping bookings, given in UTC",
        HALF_HOURS
        | {
            "resources": (
                Resource(
                    "ana",
                    bookings=(
                        (
                            datetime(2026, 3, 9, 8, 45, tzinfo=UTC),
                            datetime(2026, 3, 9, 9, 45, tzinfo=UTC),
                        ),
                        (
                            datetime(2026, 3, 9, 8, 15, tzinfo=UTC),
                            datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
                        ),
                    ),
                ),
            )
        },
        MONDAY_7AM,
        ["03-09 11:00 ana", "03-09 11:30 ana"],
    ),
    (
        "a booking of one resource leaves the other free",
        HALF_HOURS
        | {
            "step": minutes(60),
            "resources": (Resource("ana", bookings=(TEN_BOOKED,)), Resource("bea")),
        },
        MONDAY_7AM,
        [
            "03-09 09:00 ana",
            "03-09 09:00 bea",
            "03-09 10:00 bea",
            "03-09 11:00 ana",
            "03-09 11:00 bea",
        ],
    ),
    (
        "notice: nothing within two hours of now",
        HALF_HOURS | {"notice": timedelta(hours=2)},
        local(2026, 3, 9, 9, 10),
        ["03-09 11:30 ana"],
    ),
    (
        "notice: a slot exactly at now + notice is fine",
        {"notice": timedelta(hours=2)},
        MONDAY_7AM,
        ["03-09 09:00 ana", "03-09 10:00 ana", "03-09 16:00 ana", "03-09 17:00 ana"],
    ),
    (
        "fully booked",
        {
            "resources": (
                Resource("ana", bookings=((local(2026, 3, 9, 8), local(2026, 3, 9, 19)),)),
            )
        },
        MONDAY_7AM,
        [],
    ),
    ("no resources", {"resources": ()}, MONDAY_7AM, []),
]


@pytest.mark.parametrize(
    ("overrides", "now", "expected"),
    [case[1:] for case in FREE_SLOTS],
    ids=[case[0] for case in FREE_SLOTS],
)
def test_free_slots(overrides: dict[str, Any], now: datetime, expected: list[str]) -> None:
    request = make_request(**overrides)
    slots = free_slots(request, now=now)
    assert show(slots) == expected
    for slot in slots:
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        assert slot.end - slot.start == request.duration


DST = [
    # (description, hours, now, step and duration in minutes, expected starts with offsets)
    (
        "10:00 stays 10:00 over spring forward",
        TEN_TO_ELEVEN,
        local(2026, 3, 28, 7),
        60,
        ["03-28 10:00+0100 ana", "03-29 10:00+0200 ana", "03-30 10:00+0200 ana"],
    ),
    (
        "10:00 stays 10:00 over fall back",
        TEN_TO_ELEVEN,
        local(2026, 10, 24, 7),
        60,
        ["10-24 10:00+0200 ana", "10-25 10:00+0100 ana", "10-26 10:00+0100 ana"],
    ),
    # Clocks jump from 02:00 CET to 03:00 CEST on 2026-03-29: no slots inside the gap.
    (
        "skipped hour",
        SUNDAY_NIGHT,
        local(2026, 3, 28, 7),
        30,
        [
            "03-29 01:00+0100 ana",
            "03-29 01:30+0100 ana",
            "03-29 03:00+0200 ana",
            "03-29 03:30+0200 ana",
        ],
    ),
    (
        "shift starting inside the skipped hour",
        SUNDAY_GAP,
        local(2026, 3, 28, 7),
        30,
        ["03-29 03:30+0200 ana", "03-29 04:00+0200 ana", "03-29 04:30+0200 ana"],
    ),
    # Clocks go back from 03:00 CEST to 02:00 CET on 2026-10-25: the business is open both times.
    (
        "repeated hour",
        SUNDAY_NIGHT,
        local(2026, 10, 24, 7),
        60,
        [
            "10-25 01:00+0200 ana",
            "10-25 02:00+0200 ana",
            "10-25 02:00+0100 ana",
            "10-25 03:00+0100 ana",
        ],
    ),
]


@pytest.mark.parametrize(
    ("hours", "now", "step", "expected"),
    [case[1:] for case in DST],
    ids=[case[0] for case in DST],
)
def test_dst(hours: WeeklySchedule, now: datetime, step: int, expected: list[str]) -> None:
    request = make_request(hours=hours, step=minutes(step), duration=minutes(step), horizon_days=3)
    assert show(free_slots(request, now=now), offset=True) == expected


def test_spring_forward_utc_instants() -> None:
    request = make_request(hours=TEN_TO_ELEVEN, horizon_days=3)
    starts = [slot.start for slot in free_slots(request, now=local(2026, 3, 28, 7))]
    assert starts == [
        datetime(2026, 3, 28, 9, tzinfo=UTC),
        datetime(2026, 3, 29, 8, tzinfo=UTC),
        datetime(2026, 3, 30, 8, tzinfo=UTC),
    ]


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("unknown zone", {"timezone": "Europe/Atlantis"}),
    ("malformed zone", {"timezone": "../etc/passwd"}),
    ("zero duration", {"duration": timedelta(0)}),
    ("negative step", {"step": minutes(-15)}),
    ("negative buffer", {"buffer": minutes(-5)}),
    ("negative horizon", {"horizon_days": -1}),
    ("duplicate resources", {"resources": (Resource("ana"), Resource("ana"))}),
]


@pytest.mark.parametrize(
    "overrides", [case[1] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_requests(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_request(**overrides)


@pytest.mark.parametrize(
    "bookings",
    [
        ((datetime(2026, 3, 9, 10), local(2026, 3, 9, 11)),),
        ((local(2026, 3, 9, 11), local(2026, 3, 9, 10)),),
    ],
    ids=["naive booking", "booking ending before it starts"],
)
def test_invalid_bookings(bookings: tuple[tuple[datetime, datetime], ...]) -> None:
    with pytest.raises(ValueError):
        Resource("ana", bookings=bookings)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        free_slots(make_request(), now=datetime(2026, 3, 9, 7))


PART_OF_DAY = [
    ("morning", local(2026, 3, 9, 0, 30), PartOfDay.MORNING),
    ("last of the morning", local(2026, 3, 9, 13, 59), PartOfDay.MORNING),
    ("afternoon from lunch", local(2026, 3, 9, 14), PartOfDay.AFTERNOON),
    ("last of the afternoon", local(2026, 3, 9, 19, 59), PartOfDay.AFTERNOON),
    ("evening", local(2026, 3, 9, 20), PartOfDay.EVENING),
    ("judged in local time", datetime(2026, 7, 1, 12, 30, tzinfo=UTC), PartOfDay.AFTERNOON),
]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [case[1:] for case in PART_OF_DAY],
    ids=[case[0] for case in PART_OF_DAY],
)
def test_part_of_day(moment: datetime, expected: PartOfDay) -> None:
    assert part_of_day(moment, MADRID) is expected


# Mon 9 - Sat 14 March: Ana on the whole split shift, Bea 10-11 on weekdays.
WEEK_SLOTS = free_slots(
    make_request(resources=(Resource("ana"), Resource("bea", BEA_MORNINGS)), horizon_days=6),
    now=MONDAY_7AM,
)
MARCH_11, MARCH_12, MARCH_14 = (local(2026, 3, day).date() for day in (11, 12, 14))

PROPOSE: list[tuple[str, PreferredWindow | None, int, list[str]]] = [
    (
        "earliest, then other parts of day and days",
        None,
        3,
        ["03-09 09:00 ana", "03-09 16:00 ana", "03-10 09:00 ana"],
    ),
    ("count one", None, 1, ["03-09 09:00 ana"]),
    ("count zero", None, 0, []),
    (
        "preferred afternoon",
        PreferredWindow(part=PartOfDay.AFTERNOON),
        3,
        ["03-09 16:00 ana", "03-10 16:00 ana", "03-11 16:00 ana"],
    ),
    (
        "preferred resource",
        PreferredWindow(resource_key="bea"),
        3,
        ["03-09 10:00 bea", "03-10 10:00 bea", "03-11 10:00 bea"],
    ),
    (
        "preferred date range",
        PreferredWindow(first_day=MARCH_11, last_day=MARCH_12),
        3,
        ["03-11 09:00 ana", "03-11 16:00 ana", "03-12 09:00 ana"],
    ),
    (
        "all preferences together",
        PreferredWindow(first_day=MARCH_11, part=PartOfDay.MORNING, resource_key="bea"),
        2,
        ["03-11 10:00 bea", "03-12 10:00 bea"],
    ),
    (
        "too few matches: fill with the earliest others, at new times",
        PreferredWindow(first_day=MARCH_14),
        4,
        ["03-14 10:00 ana", "03-14 11:00 ana", "03-09 09:00 ana", "03-09 16:00 ana"],
    ),
    (
        "nothing matches: fall back to the earliest",
        PreferredWindow(part=PartOfDay.EVENING),
        3,
        ["03-09 09:00 ana", "03-09 16:00 ana", "03-10 09:00 ana"],
    ),
]


@pytest.mark.parametrize(
    ("preferred", "count", "expected"),
    [case[1:] for case in PROPOSE],
    ids=[case[0] for case in PROPOSE],
)
def test_propose(preferred: PreferredWindow | None, count: int, expected: list[str]) -> None:
    proposed = propose(WEEK_SLOTS, preferred=preferred, timezone="Europe/Madrid", count=count)
    assert show(proposed) == expected


def test_propose_never_repeats_a_time() -> None:
    ten = [slot for slot in WEEK_SLOTS if slot.start == local(2026, 3, 9, 10)]
    assert show(ten) == ["03-09 10:00 ana", "03-09 10:00 bea"]
    assert show(propose(ten, preferred=None, timezone="Europe/Madrid")) == ["03-09 10:00 ana"]


def test_propose_nothing_free() -> None:
    assert (
        propose([], preferred=PreferredWindow(part=PartOfDay.MORNING), timezone="Europe/Madrid")
        == []
    )


def test_propose_accepts_unsorted_slots() -> None:
    shuffled = list(reversed(WEEK_SLOTS))
    assert propose(shuffled, preferred=None, timezone="Europe/Madrid") == propose(
        WEEK_SLOTS, preferred=None, timezone="Europe/Madrid"
    )


def test_request_is_frozen() -> None:
    request = make_request()
    with pytest.raises(AttributeError):
        request.horizon_days = 3  # type: ignore[misc]
    assert replace(request, horizon_days=3).horizon_days == 3
