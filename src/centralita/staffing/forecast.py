"""Forecast next week's contacts per interval from past arrivals, and the agents each needs.

Pure: plain datetimes in, frozen dataclasses out; standard library and ``erlang`` only.

Method (deliberately simple, and checkable by hand)
----------------------------------------------------
Arrivals are bucketed by the local weekday and the slot of the day (30 minutes by default),
for each of the last ``weeks`` weeks before ``history_end``: week 0 is the 7 days just before
``history_end``, week 1 the 7 before that, and so on. A week counts only if the history reaches
back into it (the earliest arrival), so a new tenant's empty past is not read as zero demand.

* **Forecast**: for each weekday and slot, the weighted mean of that slot over the counted
  weeks, with linearly decaying weights (the latest week ``n``, the one before ``n - 1`` ... the
  oldest 1), so recent weeks matter more; ``weighted=False`` gives the plain mean. There is no
  trend adjustment: a short weighted window already follows a change within a few weeks.
* **Naive baseline**: the same slot last week (seasonal naive).
* **Accuracy**: the latest week is held out and forecast from the weeks before it, both by the
  method and by the naive baseline; the errors are WAPE (``sum |actual - forecast| / sum
  actual``, over all slots) and MAPE (the mean of ``|actual - forecast| / actual`` over slots
  with contacts). Both need two weeks of history.

Agents per interval come from ``erlang.agents_needed`` (or Erlang A with a patience); an
interval with no forecast contacts needs nobody.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from centralita.staffing import erlang

__all__ = [
    "Accuracy",
    "Forecast",
    "IntervalStaffing",
    "SlotForecast",
    "forecast_week",
    "mape",
    "slot_counts",
    "staff_forecast",
    "wape",
]

Key = tuple[int, int]  # (weekday, slot of the day): Monday is 0


@dataclass(frozen=True)
class SlotForecast:
    """One interval of the forecast week: when it starts (local time) and the contacts."""

    start: datetime
    weekday: int
    slot: int
    calls: float
    naive: float


@dataclass(frozen=True)
class Accuracy:
    """The method and the naive baseline, both tried on the held-out latest week."""

    actual: int
    wape: float | None
    mape: float | None
    naive_wape: float | None
    naive_mape: float | None


@dataclass(frozen=True)
class Forecast:
    """Next week's contacts per interval, with the history it came from."""

    start: datetime
    slot_minutes: int
    weeks_used: int
    slots: tuple[SlotForecast, ...]
    accuracy: Accuracy | None

    @property
    def total(self) -> float:
        return sum(s.calls for s in self.slots)


@dataclass(frozen=True)
class IntervalStaffing:
    """The agents one forecast interval needs (``None``: no staffing reaches the target)."""

    slot: SlotForecast
    agents: int | None
    rostered: int | None
    service_level: float | None
    occupancy: float | None


def _check(weeks: int, slot_minutes: int) -> None:
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    if slot_minutes < 1 or 1440 % slot_minutes:
        raise ValueError(f"slot_minutes must divide a day, got {slot_minutes}")


def _midnight(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("history_end and start must be timezone-aware")
    return datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)


def slot_counts(
    arrivals: Iterable[datetime], *, history_end: datetime, weeks: int, slot_minutes: int = 30
) -> list[Counter[Key]]:
    """Arrivals per (weekday, slot) for each of the ``weeks`` weeks before ``history_end``.

    Index 0 is the latest week. Times are read in ``history_end``'s time zone, whose local
    midnight ends the history; arrivals outside the window are ignored.
    """
    _check(weeks, slot_minutes)
    end = _midnight(history_end)
    tz = end.tzinfo
    counts: list[Counter[Key]] = [Counter() for _ in range(weeks)]
    for arrival in arrivals:
        local = arrival.astimezone(tz)
        days = (end.date() - local.date()).days
        if days < 1 or days > weeks * 7:
            continue
        slot = (local.hour * 60 + local.minute) // slot_minutes
        counts[(days - 1) // 7][(local.weekday(), slot)] += 1
    return counts


def _weeks_with_history(earliest: date | None, end: date, weeks: int) -> int:
    if earliest is None or earliest >= end:
        return 0
    return min(weeks, math.ceil((end - earliest).days / 7))


def _mean(counts: Sequence[Mapping[Key, int]], key: Key, weighted: bool) -> float:
    if not counts:
        return 0.0
    weights = [len(counts) - i if weighted else 1 for i in range(len(counts))]
    return sum(w * c.get(key, 0) for w, c in zip(weights, counts, strict=True)) / sum(weights)


def wape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Weighted absolute percentage error: ``sum |a - p| / sum a`` (``None`` if no actuals)."""
    total = sum(actual)
    if total <= 0:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / total


def mape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Mean absolute percentage error over the slots with contacts (``None`` if none)."""
    errors = [abs(a - p) / a for a, p in zip(actual, predicted, strict=True) if a > 0]
    return sum(errors) / len(errors) if errors else None


def _accuracy(
    counts: Sequence[Mapping[Key, int]], keys: Sequence[Key], weighted: bool
) -> Accuracy | None:
    if len(counts) < 2:
        return None
    held_out, before = counts[0], counts[1:]
    actual = [float(held_out.get(k, 0)) for k in keys]
    predicted = [_mean(before, k, weighted) for k in keys]
    naive = [float(before[0].get(k, 0)) for k in keys]
    return Accuracy(
        actual=int(sum(actual)),
        wape=wape(actual, predicted),
        mape=mape(actual, predicted),
        naive_wape=wape(actual, naive),
        naive_mape=mape(actual, naive),
    )


def forecast_week(
    arrivals: Sequence[datetime],
    *,
    start: datetime,
    history_end: datetime | None = None,
    weeks: int = 4,
    slot_minutes: int = 30,
    weighted: bool = True,
) -> Forecast:
    """Contacts per interval for the 7 days from ``start``'s local midnight (see the module).

    The history is the ``weeks`` weeks before ``history_end`` (default: ``start``), read in
    ``start``'s time zone; one more week is read to hold out for the accuracy figures.
    """
    _check(weeks, slot_minutes)
    first = _midnight(start)
    end = _midnight(history_end or start).astimezone(first.tzinfo)
    counts = slot_counts(arrivals, history_end=end, weeks=weeks + 1, slot_minutes=slot_minutes)
    earliest = min((a.astimezone(first.tzinfo).date() for a in arrivals), default=None)
    available = _weeks_with_history(earliest, end.date(), weeks + 1)
    used = counts[: min(weeks, available)]
    per_day = 1440 // slot_minutes
    slots = []
    for day in range(7):
        moment_day = first.date() + timedelta(days=day)
        for slot in range(per_day):
            minutes = slot * slot_minutes
            key = (moment_day.weekday(), slot)
            slots.append(
                SlotForecast(
                    start=datetime.combine(
                        moment_day, time(minutes // 60, minutes % 60), tzinfo=first.tzinfo
                    ),
                    weekday=key[0],
                    slot=slot,
                    calls=_mean(used, key, weighted),
                    naive=float(used[0].get(key, 0)) if used else 0.0,
                )
            )
    keys = [(s.weekday, s.slot) for s in slots]
    return Forecast(
        start=first,
        slot_minutes=slot_minutes,
        weeks_used=len(used),
        slots=tuple(slots),
        accuracy=_accuracy(counts[:available], keys, weighted),
    )


def _check_staffing(
    aht: float, target: float, threshold: float, shrinkage: float, patience: float | None
) -> None:
    # Checked up front: a week without contacts would otherwise accept any nonsense.
    if not aht > 0:
        raise ValueError(f"aht_seconds must be positive, got {aht!r}")
    if not 0 < target < 1:
        raise ValueError(f"target must be strictly between 0 and 1, got {target!r}")
    if not threshold >= 0:
        raise ValueError(f"threshold_seconds must not be negative, got {threshold!r}")
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    if patience is not None and not patience > 0:
        raise ValueError(f"patience_seconds must be positive, got {patience!r}")


def staff_forecast(
    forecast: Forecast,
    *,
    aht_seconds: float,
    target: float,
    threshold_seconds: float,
    shrinkage: float = 0.0,
    patience_seconds: float | None = None,
) -> list[IntervalStaffing]:
    """The agents each interval needs for the target (Erlang C, or Erlang A with patience).

    Raises ``ValueError`` for bad inputs (a non-positive AHT, a target outside ``(0, 1)``).
    """
    interval = forecast.slot_minutes * 60.0
    _check_staffing(aht_seconds, target, threshold_seconds, shrinkage, patience_seconds)
    out = []
    for slot in forecast.slots:
        if slot.calls <= 0:
            out.append(IntervalStaffing(slot, 0, 0, None, None))
            continue
        found: (
            erlang.StaffingResult[erlang.ErlangCResult]
            | erlang.StaffingResult[erlang.ErlangAResult]
        )
        if patience_seconds:
            found = erlang.agents_needed_erlang_a(
                slot.calls,
                interval,
                aht_seconds,
                patience_seconds,
                target,
                threshold_seconds,
                shrinkage=shrinkage,
            )
        else:
            found = erlang.agents_needed(
                slot.calls, interval, aht_seconds, target, threshold_seconds, shrinkage=shrinkage
            )
        metrics = found.metrics
        out.append(
            IntervalStaffing(
                slot, found.agents, found.rostered, metrics.service_level, metrics.occupancy
            )
        )
    return out
