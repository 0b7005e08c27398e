"""Appointment, availability and calendar-feed endpoints, and the public iCal feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from centralita.access.models import Role
from centralita.api.deps import ContainerDep, CurrentPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.core.clock import utcnow
from centralita.core.errors import InvalidInput, PermissionDenied
from centralita.scheduling import service as scheduling_service
from centralita.scheduling.schemas import (
    AppointmentCancel,
    AppointmentCreate,
    AppointmentRead,
    AppointmentReschedule,
    AvailabilityRead,
    CalendarFeedRead,
    Id,
    Key,
    Kind,
    PartOfDay,
    SlotRead,
    Status,
)
from centralita.tenants import service as tenants_service

router = APIRouter(tags=["appointments"])
public_router = APIRouter(tags=["calendar"])

_WHY = {
    403: {"description": "The caller's role may not do this."},
    404: {"description": "No such id in the caller's tenant."},
    409: {"description": "The slot is taken, or the appointment is no longer booked."},
    422: {"description": "Invalid input: past, too soon, closed or off the staff's hours."},
}


def _errors(*codes: int) -> dict[int | str, dict[str, str]]:
    return {code: _WHY[code] for code in codes}


@router.get("/appointments", summary="List appointments and callbacks, newest first")
async def list_appointments(
    db: DbSession,
    principal: CurrentPrincipal,
    page: Paging,
    contact_id: Annotated[Id | None, Query()] = None,
    staff_key: Annotated[Key | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    start_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Starting at or after")
    ] = None,
    start_to: Annotated[AwareDatetime | None, Query(alias="to", description="Starting before")] = (
        None
    ),
) -> Page[AppointmentRead]:
    result = await scheduling_service.list_appointments(
        db,
        principal.tenant_id,
        contact_id=contact_id,
        staff_key=staff_key,
        status=status,
        start_from=start_from,
        start_to=start_to,
        paging=page,
    )
    return Page(
        items=[AppointmentRead.model_validate(a) for a in result.items],
        next_cursor=result.next_cursor,
    )


@router.post("/appointments", status_code=201, responses=_errors(404, 409, 422))
async def book_appointment(
    body: AppointmentCreate, db: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    tenant = await tenants_service.get_tenant(db, tenant_id=principal.tenant_id)
    appointment = await scheduling_service.book(
        db,
        tenant=tenant,
        start=body.start,
        now=utcnow(),
        service_key=body.service_key,
        staff_key=body.staff_key,
        kind=body.kind,
        contact_id=body.contact_id,
        phone=body.phone,
        notes=body.notes,
        source="api",
    )
    return AppointmentRead.model_validate(appointment)


@router.get("/appointments/{appointment_id}", responses=_errors(404))
async def get_appointment(
    appointment_id: str, db: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    appointment = await scheduling_service.get_appointment(db, principal.tenant_id, appointment_id)
    return AppointmentRead.model_validate(appointment)


@router.post("/appointments/{appointment_id}/reschedule", responses=_errors(404, 409, 422))
async def reschedule_appointment(
    appointment_id: str, body: AppointmentReschedule, db: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    tenant = await tenants_service.get_tenant(db, tenant_id=principal.tenant_id)
    appointment = await scheduling_service.reschedule(
        db,
        tenant=tenant,
        appointment_id=appointment_id,
        start=body.start,
        now=utcnow(),
        actor=principal.actor,
    )
    return AppointmentRead.model_validate(appointment)


@router.post("/appointments/{appointment_id}/cancel", responses=_errors(404, 409, 422))
async def cancel_appointment(
    appointment_id: str,
    db: DbSession,
    principal: CurrentPrincipal,
    body: AppointmentCancel | None = None,
) -> AppointmentRead:
    appointment = await scheduling_service.cancel(
        db,
        tenant_id=principal.tenant_id,
        appointment_id=appointment_id,
        now=utcnow(),
        reason=body.reason if body is not None else None,
    )
    return AppointmentRead.model_validate(appointment)


@router.post("/appointments/{appointment_id}/confirm", responses=_errors(404, 409))
async def confirm_appointment(
    appointment_id: str, db: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    appointment = await scheduling_service.confirm(
        db, tenant_id=principal.tenant_id, appointment_id=appointment_id, now=utcnow()
    )
    return AppointmentRead.model_validate(appointment)


@router.get(
    "/availability",
    summary="Free slots to offer, well spread, each with the staff member who is free",
    responses=_errors(422),
)
async def availability(
    db: DbSession,
    principal: CurrentPrincipal,
    service_key: Annotated[Key | None, Query()] = None,
    staff_key: Annotated[Key | None, Query()] = None,
    kind: Annotated[Kind, Query()] = "appointment",
    start_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Only slots from this instant")
    ] = None,
    part_of_day: Annotated[PartOfDay | None, Query()] = None,
    count: Annotated[int, Query(ge=1, le=10)] = 3,
) -> AvailabilityRead:
    tenant = await tenants_service.get_tenant(db, tenant_id=principal.tenant_id)
    # A window reaching past any booking horizon: slots before ``from`` only fill up a short
    # list, and are dropped below.
    window_end = None
    if start_from is not None:
        try:
            window_end = start_from + timedelta(days=400)
        except OverflowError:
            raise InvalidInput.for_field("from", "choose an earlier date") from None
    slots = await scheduling_service.find_slots(
        db,
        tenant,
        now=utcnow(),
        service_key=service_key,
        staff_key=staff_key,
        preferred=start_from,
        window_end=window_end,
        part_of_day=part_of_day,
        kind=kind,
        count=count,
    )
    return AvailabilityRead(
        slots=[
            SlotRead(start=s.start, end=s.end, staff_key=s.staff_key)
            for s in slots
            if start_from is None or s.start >= start_from
        ]
    )


@router.post(
    "/staff/{staff_key}/calendar-feed",
    status_code=201,
    summary="Issue a secret iCal URL of one staff member's appointments (revokes the last one)",
    responses=_errors(403, 404),
)
async def create_calendar_feed(
    staff_key: str, db: DbSession, principal: CurrentPrincipal, container: ContainerDep
) -> CalendarFeedRead:
    if not principal.at_least(Role.SUPERVISOR):
        raise PermissionDenied("this needs the supervisor or admin role")
    feed, url = await scheduling_service.create_calendar_feed(
        db, principal.tenant_id, staff_key, base_url=container.settings.public_base_url
    )
    return CalendarFeedRead(
        id=feed.id, staff_key=feed.staff_key, url=url, created_at=feed.created_at
    )


@public_router.get(
    "/ical/{token}.ics",
    summary="A staff member's appointments as iCalendar; the token in the URL is the key",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The iCalendar feed."},
        404: {"description": "Unknown or revoked token."},
    },
)
async def ical_feed(token: str, db: DbSession) -> Response:
    body = await scheduling_service.calendar_for_token(db, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )
