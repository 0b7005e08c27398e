"""Which few free slots to offer a caller: near what they asked for, and spread out.

Pure: takes availability slots (one per start time) and the caller's preference, returns the
pick. Parts of the day follow Spanish usage and overlap on purpose: "la tarde" runs until
about 20:00 while an "evening" caller is happy from 18:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from centralita.scheduling import availability
from centralita.scheduling.availability import PartOfDay, Slot

PARTS_OF_DAY = ("morning", "afternoon", "evening")


def in_part_of_day(moment: datetime, zone: ZoneInfo, part: str) -> bool:
    """Morning before 14:00 (Spanish lunch), afternoon 14-20, evening from 18 (they overlap)."""
    local = moment.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    if part == "morning":
        return minutes < 14 * 60
    if part == "afternoon":
        return 14 * 60 <= minutes < 20 * 60
    return minutes >= 18 * 60


def choose(
    slots: Sequence[Slot],
    zone: ZoneInfo,
    *,
    preferred: datetime | None,
    window_end: datetime | None,
    part_of_day: str | None,
    count: int,
    gap: timedelta,
) -> list[Slot]:
    """Up to ``count`` slots, closest to the preference first and spread out within a group.

    Groups, in order: inside ``[preferred, window_end)``; on the preferred local day; the rest.
    Inside a group a preferred time of day ranks by distance to it, otherwise by how near the
    day is (later days before earlier ones) and then by start.
    """
    if part_of_day is not None:
        slots = [s for s in slots if in_part_of_day(s.start, zone, part_of_day)] or list(slots)
    if preferred is None:
        return _spread(list(slots), zone, count, by_bucket=True, gap=gap)
    local = preferred.astimezone(zone)
    day = local.date()
    timed = local.time() != time(0)

    def group(slot: Slot) -> int:
        if window_end is not None and preferred <= slot.start < window_end:
            return 0
        return 1 if slot.start.astimezone(zone).date() == day else 2

    def closeness(slot: Slot) -> tuple[Any, ...]:
        if timed and group(slot) != 0:
            return (abs(slot.start - preferred), slot.start)
        offset = (slot.start.astimezone(zone).date() - day).days
        return (abs(offset), offset < 0, slot.start)

    chosen: list[Slot] = []
    for index in range(3):
        members = sorted((s for s in slots if group(s) == index), key=closeness)
        by_bucket = index == 0 or not timed
        chosen += _spread(members, zone, count - len(chosen), by_bucket=by_bucket, gap=gap)
    return chosen


def _spread(
    ordered: Sequence[Slot],
    zone: ZoneInfo,
    count: int,
    *,
    by_bucket: bool,
    gap: timedelta,
) -> list[Slot]:
    """Greedy picks in order: first one per (day, part of day), then ``gap`` apart, then any."""
    picked: list[Slot] = []

    def bucket(slot: Slot) -> tuple[date, PartOfDay]:
        return slot.start.astimezone(zone).date(), availability.part_of_day(slot.start, zone)

    def apart(slot: Slot) -> bool:
        return all(abs(slot.start - p.start) >= gap for p in picked)

    passes = ["bucket", "gap", "any"] if by_bucket else ["gap", "any"]
    for rule in passes:
        for slot in ordered:
            if len(picked) >= count:
                return sorted(picked, key=lambda s: s.start)
            if any(slot.start == p.start for p in picked):
                continue
            if rule == "bucket" and bucket(slot) in {bucket(p) for p in picked}:
                continue
            if rule in ("bucket", "gap") and not apart(slot):
                continue
            picked.append(slot)
    return sorted(picked, key=lambda s: s.start)
