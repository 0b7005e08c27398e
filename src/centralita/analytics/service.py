"""Load KPI records and build reports: the I/O shell around ``analytics.kpis``.

A reporting read model: it reads the tables of several domains directly (interactions,
conversations, contacts, surveys, spam verdicts, staff messages, appointments, presence)
because a dashboard must be a handful of column-only queries, not a call per row. It never
writes. Queries are bounded by the tenant and ``arrived_at`` (``ix_interactions_tenant_arrived``).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.analytics import kpis
from centralita.analytics.kpis import DIMENSIONS, NONE_KEY, Options, PresenceSpan, Record
from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction
from centralita.core.clock import as_utc, utcnow
from centralita.core.errors import InvalidInput, NotFound
from centralita.routing.models import PresenceLogEntry
from centralita.scheduling.models import Appointment
from centralita.spam.models import SpamVerdict
from centralita.staff_messages.models import StaffMessage
from centralita.surveys.models import Survey
from centralita.tenants.models import Queue, StaffMember, Tenant
from centralita.web import i18n


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    count: int
    kpis: dict[str, float | None]


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    group_by: str | None
    options: Options
    total: ReportRow
    rows: list[ReportRow]


_OPTION_FIELDS = (
    "service_level_seconds",
    "service_level_target",
    "service_level_method",
    "short_abandon_seconds",
    "fcr_days",
)


def options_from(config: Mapping[str, Any] | None) -> Options:
    """The tenant document's ``kpis`` section (already validated on apply); missing → defaults."""
    values = {k: v for k, v in (config or {}).items() if k in _OPTION_FIELDS}
    return Options(**values)


async def _tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant


async def options_for(session: AsyncSession, *, tenant_id: str) -> Options:
    tenant = await _tenant(session, tenant_id)
    return options_from((tenant.config or {}).get("kpis"))


def check_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    unknown = sorted(set(filters or {}) - set(DIMENSIONS))
    if unknown:
        raise InvalidInput(f"unknown filter {unknown[0]!r}; use {', '.join(DIMENSIONS)}")
    return dict(filters or {})


def _interaction_query(tenant_id: str, start: datetime, end: datetime) -> Any:
    # Correlated lookups by primary key, not joins: for a day's few thousand interactions
    # PostgreSQL otherwise hashes the whole conversations and contacts tables.
    intent = (
        select(Conversation.intake["intent"].as_string())
        .where(Conversation.id == Interaction.conversation_id)
        .scalar_subquery()
    )
    value = select(Contact.value).where(Contact.id == Interaction.contact_id).scalar_subquery()
    verdict = (
        select(SpamVerdict.verdict)
        .where(SpamVerdict.tenant_id == tenant_id,
               SpamVerdict.conversation_id == Interaction.conversation_id)
        .scalar_subquery()
    )  # fmt: skip
    return select(
        Interaction.id, Interaction.conversation_id, Interaction.contact_id, Interaction.channel,
        Interaction.direction, Interaction.queue_id, Interaction.agent_id,
        Interaction.disposition, Interaction.arrived_at, Interaction.queued_at,
        Interaction.answered_at, Interaction.ended_at, Interaction.abandoned_at,
        Interaction.wrapup_started_at, Interaction.wrapup_ended_at, Interaction.hold_seconds,
        Interaction.handled_by_bot, intent.label("intent"), value.label("value"),
        verdict.label("verdict"),
    ).where(Interaction.tenant_id == tenant_id, Interaction.arrived_at >= start,
            Interaction.arrived_at < end)  # fmt: skip


def _record(row: Any) -> Record:
    # Positional unpacking: a dashboard builds thousands of these per request.
    (id_, conversation_id, contact_id, channel, direction, queue_id, agent_id, disposition,
     arrived_at, queued_at, answered_at, ended_at, abandoned_at, wrapup_started_at,
     wrapup_ended_at, hold_seconds, handled_by_bot, intent, value, verdict) = row  # fmt: skip
    if value is not None and not isinstance(value, Decimal):
        value = Decimal(value)
    return Record(
        id_, conversation_id, contact_id, channel, arrived_at, direction, queue_id, agent_id,
        intent or None, disposition, queued_at, answered_at, ended_at, abandoned_at,
        wrapup_started_at, wrapup_ended_at, float(hold_seconds or 0.0), bool(handled_by_bot),
        verdict == "spam", contact_value=value,
    )  # fmt: skip


def _matches(record: Record, filters: Mapping[str, str], tz: ZoneInfo) -> bool:
    return all(kpis.group_key(record, dim, tz) == value for dim, value in filters.items())


class _Placer:
    """Finds the interaction a conversation-level fact belongs to: the latest one of its
    conversation that had begun by then (else the conversation's first in the set)."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.by_conversation: dict[str, list[Record]] = {}
        for r in sorted(records, key=lambda r: r.arrived_at):
            self.by_conversation.setdefault(r.conversation_id, []).append(r)

    def place(self, conversation_id: str | None, at: datetime | None) -> str | None:
        legs = self.by_conversation.get(conversation_id or "")
        if not legs:
            return None
        if at is None:
            return legs[-1].interaction_id
        i = bisect.bisect_right([r.arrived_at for r in legs], at)
        return legs[max(0, i - 1)].interaction_id


async def _surveys(
    session: AsyncSession, tenant_id: str, start: datetime, conversations: set[str]
) -> list[Any]:
    # By time, then by conversation in Python: an ``IN (subquery)`` over the window let
    # PostgreSQL pick a nested loop on stale statistics (minutes on a freshly loaded table).
    # A survey is answered after its interaction arrived, so ``answered_at >= start`` holds.
    rows = await session.execute(
        select(Survey.interaction_id, Survey.conversation_id, Survey.kind, Survey.score,
               Survey.answered_at)
        .where(Survey.tenant_id == tenant_id, Survey.status == "answered",
               Survey.score.is_not(None), Survey.answered_at >= start)
        .order_by(Survey.answered_at)
    )  # fmt: skip
    return [row for row in rows if row.conversation_id in conversations]


async def _facts(
    session: AsyncSession, tenant_id: str, start: datetime, end: datetime
) -> tuple[list[Any], list[Any]]:
    """Staff messages taken and appointments booked in the window (conversation, times)."""
    messages = await session.execute(
        select(StaffMessage.conversation_id, StaffMessage.created_at,
               StaffMessage.acknowledged_at)
        .where(StaffMessage.tenant_id == tenant_id, StaffMessage.created_at >= start,
               StaffMessage.created_at < end)
    )  # fmt: skip
    booked = await session.execute(
        select(Appointment.conversation_id, Appointment.created_at).where(
            Appointment.tenant_id == tenant_id, Appointment.created_at >= start,
            Appointment.created_at < end, Appointment.conversation_id.is_not(None),
        )
    )  # fmt: skip
    return list(messages), list(booked)


def _attach(records: list[Record], surveys: list[Any], messages: list[Any],
            booked: list[Any]) -> list[Record]:  # fmt: skip
    placer = _Placer(records)
    by_id = {r.interaction_id: r for r in records}
    changes: dict[str, dict[str, Any]] = {}

    def change(interaction_id: str | None) -> dict[str, Any] | None:
        if interaction_id is None or interaction_id not in by_id:
            return None
        return changes.setdefault(interaction_id, {})

    for s in surveys:  # ordered by answer: the latest answer of a kind wins
        target = s.interaction_id if s.interaction_id in by_id else None
        slot = change(target or placer.place(s.conversation_id, s.answered_at))
        if slot is not None and s.kind in ("csat", "nps", "ces"):
            slot[s.kind] = int(s.score)
    for m in messages:
        slot = change(placer.place(m.conversation_id, m.created_at))
        if slot is not None:
            slot["messages_taken"] = slot.get("messages_taken", 0) + 1
            if m.acknowledged_at is not None:
                ack = max(0.0, (m.acknowledged_at - m.created_at).total_seconds())
                slot["ack_seconds"] = (*slot.get("ack_seconds", ()), ack)
    for a in booked:
        slot = change(placer.place(a.conversation_id, a.created_at))
        if slot is not None:
            slot["appointments_booked"] = slot.get("appointments_booked", 0) + 1
    return [replace(r, **changes[r.interaction_id]) if r.interaction_id in changes else r
            for r in records]  # fmt: skip


async def _later(session: AsyncSession, tenant_id: str, contacts: set[str], end: datetime,
                 until: datetime) -> list[Record]:  # fmt: skip
    """The same contacts' interactions after the window, for first contact resolution (by
    time, then by contact in Python, for the reason given in ``_surveys``)."""
    if until <= end or not contacts:
        return []
    query = _interaction_query(tenant_id, end, until)
    connection = await session.connection()
    return [_record(row) for row in await connection.execute(query) if row.contact_id in contacts]


async def records(
    session: AsyncSession,
    *,
    tenant_id: str,
    start: datetime,
    end: datetime,
    filters: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Record]:
    """The interactions that arrived in [start, end), with their KPI inputs, filtered."""
    tenant = await _tenant(session, tenant_id)
    options = options_from((tenant.config or {}).get("kpis"))
    return await _load(session, tenant, options, as_utc(start), as_utc(end), filters, now)


async def _load(session: AsyncSession, tenant: Tenant, options: Options, start: datetime,
                end: datetime, filters: Mapping[str, str] | None,
                now: datetime | None) -> list[Record]:  # fmt: skip
    wanted = check_filters(filters)
    tz = ZoneInfo(tenant.timezone)
    window = _interaction_query(tenant.id, start, end)
    for column, dim in ((Interaction.queue_id, "queue"), (Interaction.agent_id, "agent")):
        if dim in wanted:
            value = wanted[dim]
            window = window.where(column.is_(None) if value == NONE_KEY else column == value)
    if "channel" in wanted:
        window = window.where(Interaction.channel == wanted["channel"])
    # Core, not ORM, execution: plain rows are all a dashboard needs, a third cheaper. A long
    # range's rows become records in a worker thread, like its other CPU-heavy steps (``_cpu``).
    heavy = _heavy(start, end)
    connection = await session.connection()
    result = await connection.execute(window)
    found = await _cpu(heavy, lambda: [_record(row) for row in result])
    surveys = await _surveys(session, tenant.id, start, {r.conversation_id for r in found})
    messages, booked = await _facts(session, tenant.id, start, end)
    found = await _cpu(heavy, _attach, found, surveys, messages, booked)
    as_of = as_utc(now or utcnow())
    later = await _later(session, tenant.id, {r.contact_id for r in found}, end,
                         min(end + timedelta(days=options.fcr_days), as_of))  # fmt: skip
    found = await _cpu(heavy, _finish_records, found, later, options, as_of, wanted, tz)
    return sorted(found, key=lambda r: (r.arrived_at, r.interaction_id))


# A report over more than this many days does its CPU work (records, FCR, the formulas) in a
# worker thread: a 90-day report is seconds of Python, during which a process serving it on
# the event loop would take no messages. Shorter ones (today's dashboard) stay on the loop,
# where they take a few milliseconds; a thread hop costs a few more (GIL hand-offs).
HEAVY_RANGE = timedelta(days=2)
_P = ParamSpec("_P")
_T = TypeVar("_T")


# Set by a caller nobody waits on (``analytics.live``'s background refresh): even a short
# range does its CPU work in a worker thread, so requests on the loop are not held behind it.
OFFLOAD: ContextVar[bool] = ContextVar("centralita_kpi_offload", default=False)


def _heavy(start: datetime, end: datetime) -> bool:
    return end - start > HEAVY_RANGE or OFFLOAD.get()


async def _cpu(heavy: bool, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    if heavy:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def _finish_records(
    found: list[Record],
    later: list[Record],
    options: Options,
    as_of: datetime,
    wanted: Mapping[str, str],
    tz: ZoneInfo,
) -> list[Record]:
    found = kpis.mark_first_contact(found, later=later, fcr_days=options.fcr_days, as_of=as_of)
    return [r for r in found if _matches(r, wanted, tz)]


async def _spans(session: AsyncSession, tenant_id: str, start: datetime,
                 end: datetime) -> list[PresenceSpan]:  # fmt: skip
    """Agents' presence spans within [start, end) from the presence log."""
    opening = (
        select(PresenceLogEntry.agent_id, func.max(PresenceLogEntry.at).label("at"))
        .where(PresenceLogEntry.tenant_id == tenant_id, PresenceLogEntry.at < start)
        .group_by(PresenceLogEntry.agent_id)
        .subquery()
    )
    before = await session.execute(
        select(PresenceLogEntry.agent_id, PresenceLogEntry.presence, PresenceLogEntry.at).join(
            opening,
            and_(PresenceLogEntry.agent_id == opening.c.agent_id,
                 PresenceLogEntry.at == opening.c.at),
        ).where(PresenceLogEntry.tenant_id == tenant_id)
    )  # fmt: skip
    during = await session.execute(
        select(PresenceLogEntry.agent_id, PresenceLogEntry.presence, PresenceLogEntry.at).where(
            PresenceLogEntry.tenant_id == tenant_id, PresenceLogEntry.at >= start,
            PresenceLogEntry.at < end,
        )
    )  # fmt: skip
    changes = [(a, p, at) for a, p, at in [*before, *during]]
    return kpis.presence_spans(changes, start=start, end=end)


def _bucket_seconds(spans: list[PresenceSpan], dimension: str,
                    tz: ZoneInfo) -> dict[str, dict[str, float]]:  # fmt: skip
    """Staffed seconds per agent in each local hour-of-day or day bucket."""
    step = timedelta(hours=1) if dimension == "hour" else timedelta(days=1)
    out: dict[str, dict[str, float]] = {}
    for span in spans:
        if span.presence not in kpis.STAFFED_PRESENCES:
            continue
        cursor = span.start
        while cursor < span.end:
            local = cursor.astimezone(tz)
            if dimension == "hour":
                floor = local.replace(minute=0, second=0, microsecond=0)
                key = f"{local.hour:02d}"
            else:
                floor = local.replace(hour=0, minute=0, second=0, microsecond=0)
                key = local.date().isoformat()
            # Stepping in UTC keeps DST days right: the next local boundary, then back.
            boundary = (floor + step).astimezone(tz).replace(tzinfo=None)
            nxt = min(span.end, boundary.replace(tzinfo=tz).astimezone(cursor.tzinfo))
            if nxt <= cursor:
                nxt = min(span.end, cursor + step)
            slot = out.setdefault(key, {})
            slot[span.agent_id] = slot.get(span.agent_id, 0.0) + (nxt - cursor).total_seconds()
            cursor = nxt
    return out


async def _labels(session: AsyncSession, tenant: Tenant, dimension: str | None,
                  keys: list[str]) -> dict[str, str]:  # fmt: skip
    if dimension == "queue":
        rows = await session.execute(select(Queue.id, Queue.name).where(
            Queue.tenant_id == tenant.id, Queue.id.in_(keys)))  # fmt: skip
        return {**{NONE_KEY: "(no queue)"}, **{k: v for k, v in rows}}
    if dimension == "agent":
        rows = await session.execute(select(StaffMember.id, StaffMember.name).where(
            StaffMember.tenant_id == tenant.id, StaffMember.id.in_(keys)))  # fmt: skip
        return {**{NONE_KEY: "(no agent)"}, **{k: v for k, v in rows}}
    if dimension == "intent":
        words = i18n.strings(i18n.pick_language(tenant.locale))
        return {NONE_KEY: "(unknown)", **{k: words.get(f"int_{k}", k) for k in keys}}
    if dimension == "hour":
        return {k: f"{k}:00" for k in keys}
    return {}


async def report(
    session: AsyncSession,
    *,
    tenant_id: str,
    start: datetime,
    end: datetime,
    group_by: str | None = None,
    filters: Mapping[str, str] | None = None,
    options: Options | None = None,
    now: datetime | None = None,
) -> Report:
    """KPIs over [start, end) for the whole set and, with ``group_by``, per group."""
    if group_by is not None and group_by not in DIMENSIONS:
        raise InvalidInput.for_field(
            "group_by", f"unknown dimension {group_by!r}; use {', '.join(DIMENSIONS)}"
        )
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InvalidInput.for_field("end", "end must be after start")
    tenant = await _tenant(session, tenant_id)
    options = options or options_from((tenant.config or {}).get("kpis"))
    tz = ZoneInfo(tenant.timezone)
    found = await _load(session, tenant, options, start, end, filters, now)
    spans = await _spans(session, tenant_id, start, min(end, as_utc(now or utcnow())))
    staffed = kpis.staffed_seconds(spans, start=start, end=end)
    narrowed = bool(set(check_filters(filters)) - {"agent"})
    total_staffed = None if narrowed else _only(staffed, (filters or {}).get("agent"))
    heavy = _heavy(start, end)
    totals = await _cpu(heavy, kpis.compute, found, options, agent_seconds=total_staffed)
    total = ReportRow("total", "Total", len(found), totals)
    rows: list[ReportRow] = []
    if group_by is not None:
        groups = await _cpu(heavy, kpis.group, found, group_by, tz)
        labels = await _labels(session, tenant, group_by, list(groups))
        buckets = _bucket_seconds(spans, group_by, tz) if group_by in ("hour", "day") else {}
        per_agent = None if narrowed else staffed
        rows = await _cpu(heavy, _group_rows, groups, labels, group_by, options, per_agent, buckets)
    return Report(start, end, group_by, options, total, rows)


def _group_rows(
    groups: Mapping[str, list[Record]],
    labels: Mapping[str, str],
    group_by: str,
    options: Options,
    staffed: dict[str, float] | None,
    buckets: Mapping[str, Mapping[str, float]],
) -> list[ReportRow]:
    """One row per group; staffed time (occupancy) only where it can be split that way."""
    rows = []
    for key, members in groups.items():
        seconds: Mapping[str, float] | None = None
        if staffed is not None and group_by == "agent":
            seconds = _only(staffed, key)
        elif staffed is not None and group_by in ("hour", "day"):
            seconds = buckets.get(key, {})
        values = kpis.compute(members, options, agent_seconds=seconds)
        rows.append(ReportRow(key, labels.get(key, key), len(members), values))
    return rows


def _only(staffed: dict[str, float], agent: str | None) -> dict[str, float]:
    return staffed if agent is None else {agent: staffed.get(agent, 0.0)}


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    local = as_utc(now).astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


async def today(
    session: AsyncSession, *, tenant_id: str, now: datetime, group_by: str | None = None
) -> Report:
    """Since local midnight in the tenant's time zone until ``now``."""
    tenant = await _tenant(session, tenant_id)
    now = as_utc(now)
    start = as_utc(local_midnight(now, ZoneInfo(tenant.timezone)))
    end = now + timedelta(microseconds=1)  # [start, now] inclusive of what arrived right now
    return await report(session, tenant_id=tenant_id, start=start, end=end, group_by=group_by,
                        now=now)  # fmt: skip


async def tenant_zone(session: AsyncSession, *, tenant_id: str) -> ZoneInfo:
    return ZoneInfo((await _tenant(session, tenant_id)).timezone)
