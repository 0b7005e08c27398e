"""Contact-center KPIs as pure formulas over plain interaction records.

Every KPI has one declared formula (``DEFINITIONS``; docs/kpis.md explains the choices). A
KPI without a denominator is ``None``, never 0. The shell (``analytics.service``) loads the
records; nothing here touches a database, a clock or a request.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

SlMethod = Literal["abandoned_count_against", "abandoned_excluded", "short_abandons_excluded"]
SL_METHODS: tuple[SlMethod, ...] = (
    "abandoned_count_against",
    "abandoned_excluded",
    "short_abandons_excluded",
)
DIMENSIONS = ("queue", "channel", "agent", "intent", "hour", "day")
STAFFED_PRESENCES = frozenset({"available", "wrapup"})
NONE_KEY = "-"  # the group of records without a queue, agent or intent


@dataclass(frozen=True)
class Options:
    """How KPIs are computed: the tenant's ``KpiConfig`` fields."""

    service_level_seconds: int = 20
    service_level_target: float = 0.8
    service_level_method: SlMethod = "short_abandons_excluded"
    short_abandon_seconds: int = 5
    fcr_days: int = 7


# The Spanish customer-service law's target for large companies: 95% of calls answered by a
# person within 3 minutes (180 s). Select it per tenant by setting these two KpiConfig fields.
SPAIN_95_180 = Options(service_level_seconds=180, service_level_target=0.95)


@dataclass(frozen=True)
class Record:
    """One interaction with everything its KPIs need (plain data, loaded by the shell)."""

    interaction_id: str
    conversation_id: str
    contact_id: str
    channel: str
    arrived_at: datetime
    direction: str = "inbound"
    queue_id: str | None = None
    agent_id: str | None = None
    intent: str | None = None
    disposition: str | None = None
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    abandoned_at: datetime | None = None
    wrapup_started_at: datetime | None = None
    wrapup_ended_at: datetime | None = None
    hold_seconds: float = 0.0
    handled_by_bot: bool = True
    spam: bool = False
    csat: int | None = None  # 1-5
    nps: int | None = None  # 0-10
    ces: int | None = None  # 1-7
    contact_value: Decimal | None = None
    messages_taken: int = 0
    ack_seconds: tuple[float, ...] = field(default=())  # per acknowledged message
    appointments_booked: int = 0
    fcr: bool | None = None  # set by ``mark_first_contact``; None: unknown or not eligible

    @property
    def answered(self) -> bool:
        """Answered by a person (the bot never "answers": it is not a queue)."""
        return self.answered_at is not None

    @property
    def abandoned(self) -> bool:
        return self.abandoned_at is not None and self.answered_at is None

    @property
    def wait_seconds(self) -> float | None:
        """Time in queue until answered or abandoned; None while still waiting."""
        began = self.queued_at or self.arrived_at
        end = self.answered_at or self.abandoned_at
        return None if end is None else max(0.0, (end - began).total_seconds())

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        connected = (self.ended_at - self.answered_at).total_seconds()
        return max(0.0, connected - self.hold_seconds)

    @property
    def wrap_seconds(self) -> float | None:
        """Wrap-up time; 0 without wrap-up, None while it is still going on."""
        if self.wrapup_started_at is None:
            return 0.0
        if self.wrapup_ended_at is None:
            return None
        return max(0.0, (self.wrapup_ended_at - self.wrapup_started_at).total_seconds())

    @property
    def handle_seconds(self) -> float | None:
        """Talk + hold + wrap-up, once handling by a person is complete; else None."""
        talk, wrap = self.talk_seconds, self.wrap_seconds
        if talk is None or wrap is None:
            return None
        return talk + self.hold_seconds + wrap

    @property
    def contained(self) -> bool:
        """Handled by the receptionist alone: never queued for a person, never answered."""
        return self.handled_by_bot and self.queued_at is None and self.answered_at is None

    def is_short_abandon(self, options: Options) -> bool:
        wait = self.wait_seconds
        return self.abandoned and wait is not None and wait < options.short_abandon_seconds


DEFINITIONS: dict[str, str] = {
    "contacts": "Interactions in the set (every channel and direction).",
    "handled": "Interactions answered by a person (answered_at set).",
    "aht": "Average handle time in seconds: mean of talk + hold + wrap-up over interactions a "
    "person answered whose handling and wrap-up have ended.",
    "asa": "Average speed of answer in seconds: mean of answered_at − queued_at (arrived_at when "
    "never queued) over interactions a person answered.",
    "abandonment_rate": "Abandoned ÷ queued, both without short abandons: (abandoned − short) ÷ "
    "(answered + abandoned − short); short = hung up within short_abandon_seconds.",
    "service_level": "Answered within service_level_seconds ÷ a denominator set by "
    "service_level_method: abandoned_count_against = answered + abandoned; abandoned_excluded "
    "= answered; short_abandons_excluded = answered + abandoned − short abandons.",
    "occupancy": "Handle time ÷ staffed time (agents available or in wrap-up, from the "
    "presence log), capped at 1; None without presence data for the set.",
    "fcr": "First contact resolution: share of inbound, non-spam, non-abandoned interactions "
    "whose contact did not come back with the same intent within fcr_days; interactions whose "
    "fcr_days have not yet passed are left out (see fcr_pending).",
    "fcr_pending": "Interactions left out of fcr because their fcr_days have not yet passed.",
    "csat": "Customer satisfaction: share of CSAT answers (1–5) that are 4 or 5.",
    "nps": "Net promoter score: % promoters (9–10) − % detractors (0–6) of NPS answers, −100..100.",
    "ces": "Customer effort score: mean of CES answers (1–7).",
    "clv": "Customer lifetime value: mean contact value over the distinct contacts in the set.",
    "clv_total": "Sum of contact value over the distinct contacts in the set.",
    "ai_containment": "Share of inbound, non-spam interactions the receptionist handled alone "
    "(never queued for a person and never answered by one).",
    "messages_taken": "Messages for staff the receptionist took in these conversations.",
    "ack_seconds": "Mean seconds from a message being taken to its acknowledgement, over "
    "acknowledged messages.",
    "spam_filtered": "Inbound interactions whose conversation's verdict is spam.",
    "appointments_booked": "Appointments and callbacks booked in these conversations.",
}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def service_level(records: Sequence[Record], options: Options) -> float | None:
    """Answered within the threshold over the denominator the method names."""
    answered = [r for r in records if r.answered]
    within = sum(
        1
        for r in answered
        if (wait := r.wait_seconds) is not None and wait <= options.service_level_seconds
    )
    abandoned = [r for r in records if r.abandoned]
    short = sum(1 for r in abandoned if r.is_short_abandon(options))
    if options.service_level_method == "abandoned_excluded":
        denominator = len(answered)
    elif options.service_level_method == "abandoned_count_against":
        denominator = len(answered) + len(abandoned)
    else:
        denominator = len(answered) + len(abandoned) - short
    return _ratio(within, denominator)


def _survey_kpis(records: Sequence[Record]) -> dict[str, float | None]:
    csat = [r.csat for r in records if r.csat is not None]
    nps = [r.nps for r in records if r.nps is not None]
    ces = [float(r.ces) for r in records if r.ces is not None]
    promoters = sum(1 for s in nps if s >= 9)
    detractors = sum(1 for s in nps if s <= 6)
    return {
        "csat": _ratio(sum(1 for s in csat if s >= 4), len(csat)),
        "nps": _ratio(100.0 * (promoters - detractors), len(nps)),
        "ces": _mean(ces),
    }


def _value_kpis(records: Sequence[Record]) -> dict[str, float | None]:
    values: dict[str, Decimal] = {}
    for r in records:
        if r.contact_value is not None:
            values[r.contact_id] = r.contact_value
    total = sum(values.values(), Decimal(0))
    return {
        "clv": float(total / len(values)) if values else None,
        "clv_total": float(total) if values else None,
    }


def compute(
    records: Sequence[Record],
    options: Options,
    *,
    agent_seconds: Mapping[str, float] | None = None,
) -> dict[str, float | None]:
    """Every KPI of ``DEFINITIONS`` over ``records``.

    ``agent_seconds`` is each agent's staffed time over the same span (None: unknown, and
    occupancy is None). Only records of those agents count towards occupancy's handle time.
    """
    answered = [r for r in records if r.answered]
    abandoned = [r for r in records if r.abandoned]
    short = sum(1 for r in abandoned if r.is_short_abandon(options))
    handles = [h for r in answered if (h := r.handle_seconds) is not None]
    waits = [w for r in answered if (w := r.wait_seconds) is not None]
    inbound = [r for r in records if r.direction == "inbound"]
    genuine = [r for r in inbound if not r.spam]
    fcr_known = [r.fcr for r in genuine if r.fcr is not None]
    acks = [s for r in records for s in r.ack_seconds]
    out: dict[str, float | None] = {
        "contacts": float(len(records)),
        "handled": float(len(answered)),
        "aht": _mean(handles),
        "asa": _mean(waits),
        "abandonment_rate": _ratio(len(abandoned) - short, len(answered) + len(abandoned) - short),
        "service_level": service_level(records, options),
        "occupancy": occupancy(records, agent_seconds),
        "fcr": _ratio(sum(1 for ok in fcr_known if ok), len(fcr_known)),
        "fcr_pending": float(sum(1 for r in genuine if fcr_eligible(r) and r.fcr is None)),
        **_survey_kpis(records),
        **_value_kpis(records),
        "ai_containment": _ratio(sum(1 for r in genuine if r.contained), len(genuine)),
        "messages_taken": float(sum(r.messages_taken for r in records)),
        "ack_seconds": _mean(acks),
        "spam_filtered": float(sum(1 for r in inbound if r.spam)),
        "appointments_booked": float(sum(r.appointments_booked for r in records)),
    }
    return out


def occupancy(records: Sequence[Record], agent_seconds: Mapping[str, float] | None) -> float | None:
    if agent_seconds is None:
        return None
    staffed = sum(agent_seconds.values())
    if staffed <= 0:
        return None
    handled = sum(
        h for r in records if r.agent_id in agent_seconds and (h := r.handle_seconds) is not None
    )
    return min(1.0, handled / staffed)


# ---- first contact resolution -----------------------------------------------------------------


def fcr_eligible(record: Record) -> bool:
    return record.direction == "inbound" and not record.spam and not record.abandoned


def mark_first_contact(
    records: Sequence[Record],
    *,
    later: Iterable[Record] = (),
    fcr_days: int,
    as_of: datetime,
) -> list[Record]:
    """Set ``fcr`` on every eligible record: False when the same contact came back with the
    same intent within ``fcr_days`` (in ``records`` or ``later``), True when it did not; both
    only once the days have passed by ``as_of`` (None before: the answer is not final).

    Ineligible records (outbound, spam, abandoned) keep None. Unknown intents match each other.
    """
    window = timedelta(days=fcr_days)
    arrivals: dict[tuple[str, str | None], list[datetime]] = {}
    for r in [*records, *later]:
        if r.direction == "inbound" and not r.spam:
            arrivals.setdefault((r.contact_id, r.intent), []).append(r.arrived_at)
    for times in arrivals.values():
        times.sort()
    marked = []
    for r in records:
        verdict: bool | None = None
        # Undecided until the days have passed, even when a repeat is already known: deciding
        # the failures early would bias a recent window towards failure.
        if fcr_eligible(r) and r.arrived_at + window <= as_of:
            times = arrivals[(r.contact_id, r.intent)]
            nxt = bisect.bisect_right(times, r.arrived_at)
            verdict = not (nxt < len(times) and times[nxt] - r.arrived_at <= window)
        marked.append(r if r.fcr is verdict else replace(r, fcr=verdict))
    return marked


# ---- grouping and staffed time ------------------------------------------------------------------


def group_key(record: Record, dimension: str, tz: ZoneInfo) -> str:
    if dimension == "queue":
        return record.queue_id or NONE_KEY
    if dimension == "agent":
        return record.agent_id or NONE_KEY
    if dimension == "channel":
        return record.channel
    if dimension == "intent":
        return record.intent or NONE_KEY
    local = record.arrived_at.astimezone(tz)
    if dimension == "hour":
        return f"{local.hour:02d}"
    if dimension == "day":
        return local.date().isoformat()
    raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")


def group(records: Iterable[Record], dimension: str, tz: ZoneInfo) -> dict[str, list[Record]]:
    """Records by their key for ``dimension`` (hour 00-23 and day in the tenant's zone), sorted."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(group_key(r, dimension, tz), []).append(r)
    return dict(sorted(groups.items()))


@dataclass(frozen=True)
class PresenceSpan:
    """An agent in one presence from ``start`` until ``end``."""

    agent_id: str
    presence: str
    start: datetime
    end: datetime


def presence_spans(
    changes: Iterable[tuple[str, str, datetime]], *, start: datetime, end: datetime
) -> list[PresenceSpan]:
    """Spans from (agent, presence, at) changes; a change before ``start`` sets the opening one."""
    by_agent: dict[str, list[tuple[datetime, str]]] = {}
    for agent, presence, at in changes:
        by_agent.setdefault(agent, []).append((at, presence))
    spans = []
    for agent, seq in by_agent.items():
        seq.sort()
        for i, (at, presence) in enumerate(seq):
            until = seq[i + 1][0] if i + 1 < len(seq) else end
            lo, hi = max(at, start), min(until, end)
            if hi > lo:
                spans.append(PresenceSpan(agent, presence, lo, hi))
    return spans


def staffed_seconds(
    spans: Iterable[PresenceSpan], *, start: datetime, end: datetime
) -> dict[str, float]:
    """Each agent's seconds in a staffed presence (available, wrap-up) within [start, end)."""
    out: dict[str, float] = {}
    for s in spans:
        if s.presence not in STAFFED_PRESENCES:
            continue
        lo, hi = max(s.start, start), min(s.end, end)
        if hi > lo:
            out[s.agent_id] = out.get(s.agent_id, 0.0) + (hi - lo).total_seconds()
    return out
