"""KPI reports, their definitions, and the interactions behind them (JSON and CSV).

Supervisors, admins and API keys with those roles only; everything is the caller's tenant.
``start``/``end`` take ISO dates (whole days in the tenant's zone) or datetimes (naive ones
are read in the tenant's zone); the range is [start, end).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.analytics import live, schemas, service
from centralita.analytics.kpis import DEFINITIONS, DIMENSIONS
from centralita.api.deps import ContainerDep, DbSession, require
from centralita.audit import service as audit_service
from centralita.core.errors import InvalidInput

router = APIRouter(tags=["kpis"])
SupervisorPrincipal = Annotated[Principal, require(Role.SUPERVISOR)]
MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=7)
Bound = Annotated[
    str | None,
    Query(max_length=40, description="ISO date (a whole local day) or datetime; default: 7 days"),
]
Filter = Annotated[str | None, Query(max_length=63)]
GroupBy = Annotated[str | None, Query(max_length=20, description=", ".join(DIMENSIONS))]


def parse_bound(value: str, tz: ZoneInfo, *, name: str, end: bool) -> datetime:
    """A date is local midnight (for ``end``, the next one: the day is included)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            at = datetime.combine(day + timedelta(days=1 if end else 0), time(), tz)
        else:
            at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.for_field(
            f"query.{name}", "use an ISO date (2026-12-07) or datetime (2026-12-07T09:00+01:00)"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


async def _range(
    db: DbSession, container: ContainerDep, tenant_id: str, start: str | None, end: str | None
) -> tuple[datetime, datetime]:
    tz = await service.tenant_zone(db, tenant_id=tenant_id)
    until = parse_bound(end, tz, name="end", end=True) if end else container.clock()
    since = parse_bound(start, tz, name="start", end=False) if start else until - DEFAULT_RANGE
    if until <= since:
        raise InvalidInput.for_field("query.end", "end must be after start (the range is reversed)")
    if until - since > MAX_RANGE:
        raise InvalidInput.for_field("query.end", "the range may span at most 366 days")
    return since, until


def _group(group_by: str | None) -> str | None:
    if group_by is not None and group_by not in DIMENSIONS:
        raise InvalidInput.for_field(
            "query.group_by", f"unknown dimension {group_by!r}; use one of {', '.join(DIMENSIONS)}"
        )
    return group_by


async def _filters(
    queue: Filter = None,
    channel: Filter = None,
    agent: Filter = None,
    intent: Filter = None,
    hour: Filter = None,
    day: Filter = None,
) -> dict[str, str]:
    """The dimension filters of a request (one query parameter per ``DIMENSIONS`` entry)."""
    given = {"queue": queue, "channel": channel, "agent": agent, "intent": intent,
             "hour": hour, "day": day}  # fmt: skip
    return {k: v for k, v in given.items() if v is not None}


Filters = Annotated[dict[str, str], Depends(_filters)]


@router.get("/kpis", summary="KPIs over a range, in total and per group")
async def kpis_report(
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
    filters: Filters,
    start: Bound = None,
    end: Bound = None,
    group_by: GroupBy = None,
) -> schemas.KpiReportRead:
    since, until = await _range(db, container, principal.tenant_id, start, end)
    found = await service.report(
        db, tenant_id=principal.tenant_id, start=since, end=until, group_by=_group(group_by),
        filters=filters,
        now=container.clock(),
    )  # fmt: skip
    return schemas.report_read(found)


@router.get("/kpis/today", summary="Today's KPIs, since midnight in the business's time zone")
async def kpis_today(
    db: DbSession, principal: SupervisorPrincipal, container: ContainerDep, group_by: GroupBy = None
) -> schemas.KpiReportRead:
    # a snapshot at most a few seconds old, refreshed in the background (analytics.live)
    found = await live.for_container(container).today(
        principal.tenant_id, _group(group_by), session=db
    )
    return schemas.report_read(found)


@router.get("/kpis/definitions", summary="Each KPI's exact formula")
async def kpis_definitions(principal: SupervisorPrincipal) -> list[schemas.DefinitionRead]:
    return [schemas.DefinitionRead(kpi=k, definition=v) for k, v in DEFINITIONS.items()]


async def _rows(
    db: DbSession, container: ContainerDep, tenant_id: str, start: str | None, end: str | None,
    filters: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    since, until = await _range(db, container, tenant_id, start, end)
    options = await service.options_for(db, tenant_id=tenant_id)
    found = await service.records(db, tenant_id=tenant_id, start=since, end=until,
                                  filters=filters, now=container.clock())  # fmt: skip
    return [schemas.interaction_row(r, options) for r in found]


@router.get("/kpis/interactions", summary="The interactions behind a report (drill-down)")
async def kpis_interactions(
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
    filters: Filters,
    start: Bound = None,
    end: Bound = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> schemas.InteractionPage:
    rows = await _rows(db, container, principal.tenant_id, start, end, filters)
    items = [schemas.InteractionRead.model_validate(r) for r in rows[offset : offset + limit]]
    return schemas.InteractionPage(total=len(rows), offset=offset, limit=limit, items=items)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(schemas.CSV_COLUMNS)
    for i, row in enumerate(rows):
        writer.writerow([_csv_value(row[c]) for c in schemas.CSV_COLUMNS])
        if i % 500 == 499:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/kpis/interactions.csv",
    summary="CSV export: one row per interaction with all its KPI inputs",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def kpis_interactions_csv(
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
    filters: Filters,
    start: Bound = None,
    end: Bound = None,
) -> StreamingResponse:
    rows = await _rows(db, container, principal.tenant_id, start, end, filters)
    await audit_service.record_read(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        object_type="contact",
        object_id="export",
        data={"export": "interactions.csv", "rows": len(rows), "start": start, "end": end},
    )
    return StreamingResponse(
        _csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="interactions.csv"'},
    )
