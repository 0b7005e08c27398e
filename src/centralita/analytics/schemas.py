"""The KPI API's response models, and the one place a record becomes a flat row (JSON, CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from centralita.analytics.kpis import Options, Record
from centralita.analytics.service import Report, ReportRow


class OptionsRead(BaseModel):
    service_level_seconds: int
    service_level_target: float
    service_level_method: str
    short_abandon_seconds: int
    fcr_days: int


class KpiRowRead(BaseModel):
    key: str
    label: str
    count: int
    kpis: dict[str, float | None]


class KpiReportRead(BaseModel):
    start: datetime
    end: datetime
    group_by: str | None
    options: OptionsRead
    total: KpiRowRead
    rows: list[KpiRowRead]


class DefinitionRead(BaseModel):
    kpi: str
    definition: str


class InteractionRead(BaseModel):
    """One interaction with every KPI input, as the CSV export has it (same columns)."""

    interaction_id: str
    conversation_id: str
    contact_id: str
    channel: str
    direction: str
    queue_id: str | None
    agent_id: str | None
    intent: str | None
    disposition: str | None
    arrived_at: datetime
    queued_at: datetime | None
    answered_at: datetime | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    wrapup_started_at: datetime | None
    wrapup_ended_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    hold_seconds: float
    wrap_seconds: float | None
    handle_seconds: float | None
    handled_by_bot: bool
    contained: bool
    short_abandon: bool
    spam: bool
    fcr: bool | None
    csat: int | None
    nps: int | None
    ces: int | None
    contact_value: float | None
    messages_taken: int
    ack_seconds: float | None
    appointments_booked: int


class InteractionPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[InteractionRead]


CSV_COLUMNS = tuple(InteractionRead.model_fields)


def interaction_row(record: Record, options: Options) -> dict[str, Any]:
    acks = record.ack_seconds
    return {
        "interaction_id": record.interaction_id,
        "conversation_id": record.conversation_id,
        "contact_id": record.contact_id,
        "channel": record.channel,
        "direction": record.direction,
        "queue_id": record.queue_id,
        "agent_id": record.agent_id,
        "intent": record.intent,
        "disposition": record.disposition,
        "arrived_at": record.arrived_at,
        "queued_at": record.queued_at,
        "answered_at": record.answered_at,
        "abandoned_at": record.abandoned_at,
        "ended_at": record.ended_at,
        "wrapup_started_at": record.wrapup_started_at,
        "wrapup_ended_at": record.wrapup_ended_at,
        "wait_seconds": record.wait_seconds,
        "talk_seconds": record.talk_seconds,
        "hold_seconds": record.hold_seconds,
        "wrap_seconds": record.wrap_seconds,
        "handle_seconds": record.handle_seconds,
        "handled_by_bot": record.handled_by_bot,
        "contained": record.contained,
        "short_abandon": record.is_short_abandon(options),
        "spam": record.spam,
        "fcr": record.fcr,
        "csat": record.csat,
        "nps": record.nps,
        "ces": record.ces,
        "contact_value": float(record.contact_value) if record.contact_value is not None else None,
        "messages_taken": record.messages_taken,
        "ack_seconds": sum(acks) / len(acks) if acks else None,
        "appointments_booked": record.appointments_booked,
    }


def _row(row: ReportRow) -> KpiRowRead:
    return KpiRowRead(key=row.key, label=row.label, count=row.count, kpis=row.kpis)


def report_read(report: Report) -> KpiReportRead:
    o = report.options
    return KpiReportRead(
        start=report.start,
        end=report.end,
        group_by=report.group_by,
        options=OptionsRead(
            service_level_seconds=o.service_level_seconds,
            service_level_target=o.service_level_target,
            service_level_method=o.service_level_method,
            short_abandon_seconds=o.short_abandon_seconds,
            fcr_days=o.fcr_days,
        ),
        total=_row(report.total),
        rows=[_row(r) for r in report.rows],
    )
