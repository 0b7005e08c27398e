"""Opening hours: is a business open at an instant, and when does it next open.

Pure: no I/O besides the offline ``holidays`` tables. Shifts are wall-clock times in the
tenant's time zone; every comparison is made in UTC so that DST changes are handled. A wall
time that does not exist (the hour skipped when clocks go forward) is shifted forward by the
gap, as calendars do; an ambiguous one (clocks going back) means its first occurrence.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_MINUTES = 24 * 60


def parse_clock(text: str) -> int:
    """``"09:30"`` -> 570 minutes after midnight; ``"24:00"`` is the end of the day."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"use HH:MM, not {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > DAY_MINUTES:
        raise ValueError(f"not a time of day: {text!r}")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Shift:
    start: int  # minutes after local midnight
    end: int  # exclusive; up to 1440 (24:00)

    @classmethod
    def parse(cls, start: str, end: str) -> Shift:
        shift = cls(parse_clock(start), parse_clock(end))
        if shift.start >= shift.end:
            raise ValueError(f"a shift must end after it starts: {start}-{end}")
        return shift

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


def parse_shifts(pairs: Iterable[Sequence[str]]) -> tuple[Shift, ...]:
    """Parse ``[["09:00", "14:00"], ...]``, sorted; overlapping shifts are an error."""
    shifts = sorted(Shift.parse(start, end) for start, end in pairs)
    for before, after in itertools.pairwise(shifts):
        if after.start < before.end:
            raise ValueError(f"shifts {before} and {after} overlap")
    return tuple(shifts)


@dataclass(frozen=True)
class WeeklySchedule:
    days: tuple[tuple[Shift, ...], ...]  # seven entries, Monday first

    @classmethod
    def from_config(cls, hours: Mapping[str, Iterable[Sequence[str]]] | None) -> WeeklySchedule:
        hours = hours or {}
        return cls(tuple(parse_shifts(hours.get(day) or ()) for day in WEEKDAYS))

    @classmethod
    def always_closed(cls) -> WeeklySchedule:
        return cls(((),) * 7)


@dataclass(frozen=True)
class Closure:
    start: date
    end: date  # inclusive
    name: str


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays of a country/subdivision plus the business's own closures."""

    country: str | None = None
    subdivision: str | None = None
    language: str | None = None
    custom: Mapping[date, str] = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()
    special: Mapping[date, tuple[Shift, ...]] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | None,
        *,
        country: str | None = None,
        subdivision: str | None = None,
        language: str | None = None,
    ) -> HolidayCalendar:
        """Build from the ``holidays`` section of a tenant document (JSON form)."""
        config = config or {}
        return cls(
            country=config.get("country") or country,
            subdivision=config.get("subdivision") or subdivision,
            language=language,
            custom={_as_date(c["date"]): c["name"] for c in config.get("custom") or ()},
            closures=tuple(
                Closure(_as_date(c["from"]), _as_date(c["to"]), c["name"])
                for c in config.get("closures") or ()
            ),
            special={
                _as_date(s["date"]): parse_shifts(s.get("hours") or ())
                for s in config.get("special") or ()
            },
        )

    def public_holiday(self, day: date) -> str | None:
        if not self.country:
            return None
        names = _public_holidays(self.country, self.subdivision, day.year, self.language)
        return names.get(day)

    def closed_reason(self, day: date) -> str | None:
        """Why the business is closed all of ``day``, or None if it follows its hours."""
        if day in self.special:
            return None
        if day in self.custom:
            return self.custom[day]
        for closure in self.closures:
            if closure.start <= day <= closure.end:
                return closure.name
        return self.public_holiday(day)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@functools.lru_cache(maxsize=256)
def _public_holidays(
    country: str, subdivision: str | None, year: int, language: str | None
) -> dict[date, str]:
    cls = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    supported = getattr(cls, "supported_languages", ()) or ()
    chosen = next((lang for lang in supported if language and lang.startswith(language)), None)
    table = holidays_lib.country_holidays(country, subdiv=subdivision, years=year, language=chosen)
    return dict(table.items())


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _instant(day: date, minutes: int, tz: tzinfo) -> datetime:
    if minutes >= DAY_MINUTES:
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
    # fold=0: the first of two ambiguous times; a skipped time lands after the gap.
    return local.astimezone(UTC)


def shifts_on(
    schedule: WeeklySchedule, calendar: HolidayCalendar | None, day: date
) -> tuple[Shift, ...]:
    """The wall-clock shifts that apply on ``day`` after holidays and special days."""
    if calendar is not None:
        if day in calendar.special:
            return tuple(calendar.special[day])
        if calendar.closed_reason(day) is not None:
            return ()
    return schedule.days[day.weekday()]


def intervals_on(
    schedule: WeeklySchedule, calendar: HolidayCalendar | None, tz: tzinfo | str, day: date
) -> list[tuple[datetime, datetime]]:
    """Opening intervals of the local ``day`` as half-open, aware UTC ``(start, end)`` pairs."""
    zone = _zone(tz)
    out = []
    for shift in shifts_on(schedule, calendar, day):
        start, end = _instant(day, shift.start, zone), _instant(day, shift.end, zone)
        if start < end:
            out.append((start, end))
    return out


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def is_open(
    hours: WeeklySchedule, holidays_cfg: HolidayCalendar | None, tz: tzinfo | str, now: datetime
) -> bool:
    """True when ``now`` falls inside one of the day's opening intervals."""
    instant = _require_aware(now)
    zone = _zone(tz)
    day = instant.astimezone(zone).date()
    return any(
        start <= instant < end for start, end in intervals_on(hours, holidays_cfg, zone, day)
    )


def next_opening(
    hours: WeeklySchedule,
    holidays_cfg: HolidayCalendar | None,
    tz: tzinfo | str,
    now: datetime,
    *,
    horizon_days: int = 400,
) -> datetime | None:
    """The first instant at or after ``now`` when the business is open, in the tenant's zone.

    Returns ``now`` itself while open, and None if nothing opens within ``horizon_days``.
    """
    instant = _require_aware(now)
    zone = _zone(tz)
    first = instant.astimezone(zone).date()
    for offset in range(horizon_days + 1):
        for start, end in intervals_on(hours, holidays_cfg, zone, first + timedelta(days=offset)):
            if end > instant:
                return max(start, instant).astimezone(zone)
    return None


def next_closing(
    hours: WeeklySchedule, holidays_cfg: HolidayCalendar | None, tz: tzinfo | str, now: datetime
) -> datetime | None:
    """When the current opening interval ends (in the tenant's zone), or None if closed."""
    instant = _require_aware(now)
    zone = _zone(tz)
    day = instant.astimezone(zone).date()
    for start, end in intervals_on(hours, holidays_cfg, zone, day):
        if start <= instant < end:
            following = intervals_on(hours, holidays_cfg, zone, day + timedelta(days=1))
            if end.astimezone(zone).time() == time(0) and following and following[0][0] == end:
                end = following[0][1]  # a shift to 24:00 continuing after midnight
            return end.astimezone(zone)
    return None
