"""Free appointment slots and a short, well-spread list of them to offer a caller.

Pure: takes ``now`` and plain frozen dataclasses, returns slots as aware UTC datetimes.
Opening hours, holidays and DST come from ``tenants.hours``; this module only intersects
them with each resource's hours, lays the step grid on local wall-clock time and removes
what bookings, buffers and notice rule out.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from centralita.tenants.hours import (
    Closure,
    HolidayCalendar,
    WeeklySchedule,
    intervals_on,
)

Interval = tuple[datetime, datetime]  # half-open, aware UTC

# Wall-clock offsets move by at most two hours in any zone in use, so walking the grid this
# far past an interval's real length is enough to reach every instant inside it.
_MAX_OFFSET_CHANGE = timedelta(hours=2)


def _require_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Resource:
    """A bookable staff member (or room): hours, closures and existing bookings."""

    key: str
    hours: WeeklySchedule | None = None  # None: whenever the business is open
    closures: tuple[Closure, ...] = ()  # whole local days off on top of business holidays
    bookings: tuple[Interval, ...] = ()  # aware (start, end); any zone

    def __post_init__(self) -> None:
        for start, end in self.bookings:
            if _require_aware(start, "a booking start") >= _require_aware(end, "a booking end"):
                raise ValueError(f"booking of {self.key!r} must end after it starts")


@dataclass(frozen=True)
class AvailabilityRequest:
    hours: WeeklySchedule
    calendar: HolidayCalendar | None
    timezone: str  # zoneinfo name, e.g. "Europe/Madrid"
    resources: tuple[Resource, ...]
    duration: timedelta
    step: timedelta = timedelta(minutes=15)
    buffer: timedelta = timedelta(0)  # kept free after every booking, the new one included
    notice: timedelta = timedelta(0)  # no slot starts sooner than this after ``now``
    horizon_days: int = 14  # local calendar days searched, today included

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        if self.duration <= timedelta(0) or self.step <= timedelta(0):
            raise ValueError("duration and step must be positive")
        if self.buffer < timedelta(0) or self.notice < timedelta(0) or self.horizon_days < 0:
            raise ValueError("buffer, notice and horizon_days cannot be negative")
        keys = [resource.key for resource in self.resources]
        if len(set(keys)) != len(keys):
            raise ValueError("resource keys must be unique")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Slot:
    resource_key: str
    start: datetime  # aware UTC
    end: datetime  # aware UTC, exclusive


def _slot_order(slot: Slot) -> tuple[datetime, str]:
    return slot.start, slot.resource_key


def free_slots(request: AvailabilityRequest, *, now: datetime) -> list[Slot]:
    """Every bookable slot within the horizon, sorted by start and then resource."""
    instant = _require_aware(now, "now")
    earliest = instant + request.notice
    zone = request.zone
    today = instant.astimezone(zone).date()
    busy = {resource.key: _Busy.of(resource, request.buffer) for resource in request.resources}
    slots: list[Slot] = []
    for offset in range(request.horizon_days):
        day = today + timedelta(days=offset)
        business = intervals_on(request.hours, request.calendar, zone, day)
        if not business:
            continue
        for resource in request.resources:
            for start, end in _intersect(business, _resource_intervals(request, resource, day)):
                for slot_start in _grid(start, end, request.step, zone):
                    slot_end = slot_start + request.duration
                    if slot_end > end or slot_start < earliest:
                        continue
                    if busy[resource.key].is_free(slot_start, slot_end + request.buffer):
                        slots.append(Slot(resource.key, slot_start, slot_end))
    return sorted(slots, key=_slot_order)


def _resource_intervals(
    request: AvailabilityRequest, resource: Resource, day: date
) -> list[Interval]:
    own = HolidayCalendar(closures=resource.closures)
    if resource.hours is not None:
        return intervals_on(resource.hours, own, request.zone, day)
    if own.closed_reason(day) is not None:
        return []
    # Default to the business's intervals so that its special days apply to the staff too.
    return intervals_on(request.hours, request.calendar, request.zone, day)


def _intersect(left: Sequence[Interval], right: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return out


def _grid(start: datetime, end: datetime, step: timedelta, zone: ZoneInfo) -> list[datetime]:
    """Instants in ``[start, end)`` whose wall-clock time is ``start``'s plus whole steps.

    A wall time skipped by a spring change yields nothing; one repeated by an autumn change
    yields both of its instants, since the business is genuinely open during both.
    """
    first = start.astimezone(zone).replace(tzinfo=None)
    last = first + (end - start) + _MAX_OFFSET_CHANGE
    found: set[datetime] = set()
    wall = first
    while wall < last:
        for fold in (0, 1):
            candidate = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            exists = candidate.astimezone(zone).replace(tzinfo=None) == wall
            if exists and start <= candidate < end:
                found.add(candidate)
        wall += step
    return sorted(found)


@dataclass(frozen=True)
class _Busy:
    """A resource's bookings widened by the buffer after them: disjoint and sorted."""

    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]

    @classmethod
    def of(cls, resource: Resource, buffer: timedelta) -> _Busy:
        widened = sorted(
            (start.astimezone(UTC), end.astimezone(UTC) + buffer)
            for start, end in resource.bookings
        )
        merged: list[Interval] = []
        for start, end in widened:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return cls(tuple(start for start, _ in merged), tuple(end for _, end in merged))

    def is_free(self, start: datetime, end: datetime) -> bool:
        # Disjoint and sorted, so the ends are sorted too: only the first period ending
        # after ``start`` can overlap ``[start, end)``.
        index = bisect.bisect_right(self.ends, start)
        return index == len(self.starts) or self.starts[index] >= end


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


# Spanish usage: "la mañana" runs until lunch at about 14:00, "la tarde" until about 20:00.
_PART_STARTS = ((20 * 60, PartOfDay.EVENING), (14 * 60, PartOfDay.AFTERNOON))


def part_of_day(moment: datetime, zone: ZoneInfo) -> PartOfDay:
    local = moment.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    return next((part for start, part in _PART_STARTS if minutes >= start), PartOfDay.MORNING)


@dataclass(frozen=True)
class PreferredWindow:
    """What the caller asked for; every field left as None means "no preference"."""

    first_day: date | None = None  # local dates, inclusive
    last_day: date | None = None
    part: PartOfDay | None = None
    resource_key: str | None = None

    def matches(self, slot: Slot, zone: ZoneInfo) -> bool:
        day = slot.start.astimezone(zone).date()
        return (
            (self.first_day is None or day >= self.first_day)
            and (self.last_day is None or day <= self.last_day)
            and (self.part is None or part_of_day(slot.start, zone) is self.part)
            and (self.resource_key is None or slot.resource_key == self.resource_key)
        )


def propose(
    slots: Iterable[Slot],
    *,
    preferred: PreferredWindow | None,
    timezone: str,
    count: int = 3,
) -> list[Slot]:
    """Up to ``count`` slots at distinct times: matches of ``preferred`` first, then the rest.

    Within each group the earliest slot comes first, then the earliest in each local day and
    part of day not yet offered, then the earliest at a time not yet offered.
    """
    zone = ZoneInfo(timezone)
    ordered = sorted(slots, key=_slot_order)
    if preferred is None:
        groups = [ordered]
    else:
        matching = [slot for slot in ordered if preferred.matches(slot, zone)]
        groups = [matching, [slot for slot in ordered if not preferred.matches(slot, zone)]]
    chosen: list[Slot] = []
    for group in groups:
        picked = _spread(group, zone, count - len(chosen), {slot.start for slot in chosen})
        chosen.extend(sorted(picked, key=_slot_order))
    return chosen


def _spread(
    ordered: Sequence[Slot], zone: ZoneInfo, count: int, taken: set[datetime]
) -> list[Slot]:
    picked: list[Slot] = []
    buckets: set[tuple[date, PartOfDay]] = set()
    times = set(taken)
    for new_bucket_only in (True, False):
        for slot in ordered:
            if len(picked) >= count:
                return picked
            bucket = (slot.start.astimezone(zone).date(), part_of_day(slot.start, zone))
            if slot.start in times or (new_bucket_only and bucket in buckets):
                continue
            picked.append(slot)
            buckets.add(bucket)
            times.add(slot.start)
    return picked
