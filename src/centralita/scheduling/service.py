"""Appointment and callback use cases: the only writers of appointments.

Each mutation records its event in the caller's transaction. Free time comes from the pure
``scheduling.availability``, fed from the tenant document (hours, holidays, staff hours,
services, booking policy) and the booked rows. Booking serialises per staff member: on
PostgreSQL with a transaction-scoped advisory lock, on SQLite by the engine's
``BEGIN IMMEDIATE`` (one writer at a time), so two callers can never take the same slot.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts import service as contacts_service
from centralita.conversations import service as conversations_service
from centralita.core.clock import utcnow
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.core.phone import to_e164
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.scheduling import availability, proposals
from centralita.scheduling.availability import AvailabilityRequest, Resource, free_slots
from centralita.scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentRescheduled,
    CalendarFeedCreated,
)
from centralita.scheduling.ical import CalendarEntry, render_calendar
from centralita.scheduling.models import KINDS, SOURCES, STATUSES, Appointment, CalendarFeed
from centralita.tenants import service as tenants_service
from centralita.tenants.config.export import tenant_document
from centralita.tenants.config.schema import ServiceConfig, TenantDocument
from centralita.tenants.hours import intervals_on
from centralita.tenants.models import Tenant

MAX_NOTES = 2000
MAX_REASON = 500
FEED_HISTORY = timedelta(days=60)  # past appointments a calendar feed still shows
FEED_CANCELLED = timedelta(days=30)  # cancelled ones stay (as CANCELLED) this long
MIN_YEAR, MAX_YEAR = 1970, 3000
_BUSINESS = "*"  # availability resource of bookings that need no particular staff member


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    staff_key: str | None


class PageRequest(Protocol):
    """What ``list_appointments`` needs of a page request (``api.deps.PageParams`` fits)."""

    @property
    def limit(self) -> int: ...

    @property
    def cursor(self) -> str | None: ...


@dataclass(frozen=True)
class PageSpec:
    """A page request for callers outside the API."""

    limit: int = 50
    cursor: str | None = None


# ---- the tenant document as a booking plan ----------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What is being booked: how long, and who may serve it (None: the business itself)."""

    doc: TenantDocument
    kind: str
    service_key: str | None
    duration: timedelta
    candidates: tuple[str | None, ...]  # in order of preference

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.doc.tenant.timezone)


def _plan(
    doc: TenantDocument,
    *,
    kind: str,
    service_key: str | None,
    staff_key: str | None,
    default_service: bool = True,
) -> _Plan:
    if kind not in KINDS:
        raise InvalidInput.for_field("kind", f"use one of {', '.join(KINDS)}")
    policy = doc.receptionist.booking
    staff = {member.key: member for member in doc.staff}
    services = {service.key: service for service in doc.services}
    if staff_key is not None and staff_key not in staff:
        raise InvalidInput.for_field("staff_key", f"no staff member {staff_key!r}")
    service: ServiceConfig | None = None
    if service_key is not None:
        service = services.get(service_key)
        if service is None:
            raise InvalidInput.for_field("service_key", f"no service {service_key!r}")
    if kind == "callback":
        if staff_key is not None:
            raise InvalidInput.for_field("staff_key", "callbacks are not booked with staff")
        slot = timedelta(minutes=policy.slot_minutes)
        return _Plan(doc, kind, service_key, slot, (None,))
    if service is not None:
        if not service.bookable:
            raise InvalidInput.for_field("service_key", f"{service.key} cannot be booked")
        if staff_key is not None and service.staff and staff_key not in service.staff:
            raise InvalidInput.for_field(
                "staff_key", f"{staff[staff_key].name} does not provide {service.key}"
            )
    elif default_service and policy.default_service in services:
        fallback = services[policy.default_service]
        fits = staff_key is None or not fallback.staff or staff_key in fallback.staff
        service = fallback if fallback.bookable and fits else None
    minutes = service.duration_minutes if service and service.duration_minutes else None
    duration = timedelta(minutes=minutes or policy.slot_minutes)
    candidates: tuple[str | None, ...] = (None,)
    if staff_key is not None:
        candidates = (staff_key,)
    elif service is not None and any(key in staff for key in service.staff):
        candidates = tuple(key for key in service.staff if key in staff)
    return _Plan(doc, kind, service.key if service else None, duration, candidates)


def _resource_key(staff_key: str | None) -> str:
    return staff_key if staff_key is not None else _BUSINESS


def _staff_key(resource_key: str) -> str | None:
    return None if resource_key == _BUSINESS else resource_key


Bookings = dict[str | None, list[tuple[datetime, datetime]]]


async def _bookings(
    session: AsyncSession,
    tenant_id: str,
    plan: _Plan,
    *,
    start: datetime,
    end: datetime,
    exclude_id: str | None = None,
) -> Bookings:
    """Booked intervals overlapping ``[start, end)`` of each candidate, by staff key."""
    lanes: list[Any] = []
    staff_keys = [key for key in plan.candidates if key is not None]
    if staff_keys:
        lanes.append(Appointment.staff_key.in_(staff_keys))
    if None in plan.candidates:  # the business lane: appointments and callbacks apart
        lanes.append(and_(Appointment.staff_key.is_(None), Appointment.kind == plan.kind))
    stmt = select(Appointment.staff_key, Appointment.start_at, Appointment.end_at).where(
        Appointment.tenant_id == tenant_id,
        Appointment.status == "booked",
        Appointment.start_at < end,
        Appointment.end_at > start,
        or_(*lanes),
    )
    if exclude_id is not None:
        stmt = stmt.where(Appointment.id != exclude_id)
    found: Bookings = {}
    for staff_key, booked_start, booked_end in (await session.execute(stmt)).all():
        found.setdefault(staff_key, []).append((booked_start, booked_end))
    return found


def _request(
    plan: _Plan, bookings: Bookings, *, horizon_days: int, notice: timedelta
) -> AvailabilityRequest:
    doc = plan.doc
    staff = {member.key: member for member in doc.staff}
    resources = []
    for key in plan.candidates:
        member = staff.get(key) if key is not None else None
        hours = member.hours.schedule() if member is not None and member.hours else None
        resources.append(
            Resource(_resource_key(key), hours=hours, bookings=tuple(bookings.get(key, ())))
        )
    return AvailabilityRequest(
        hours=doc.opening_schedule(),
        calendar=doc.holiday_calendar(),
        timezone=doc.tenant.timezone,
        resources=tuple(resources),
        duration=plan.duration,
        step=timedelta(minutes=doc.receptionist.booking.step_minutes),
        notice=notice,
        horizon_days=horizon_days,
    )


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput.for_field(field, "include the time zone offset, e.g. +01:00")
    # Far-off years would overflow the date arithmetic below; nobody books them anyway.
    if not MIN_YEAR < value.year < MAX_YEAR:
        raise InvalidInput.for_field(field, f"choose a year between {MIN_YEAR} and {MAX_YEAR}")
    return value.astimezone(UTC)


def _one_per_start(slots: Sequence[availability.Slot], plan: _Plan) -> list[availability.Slot]:
    """At each start time keep the candidate the plan prefers (the service's order)."""
    rank = {_resource_key(key): i for i, key in enumerate(plan.candidates)}
    best: dict[datetime, availability.Slot] = {}
    for slot in slots:
        kept = best.get(slot.start)
        if kept is None or rank[slot.resource_key] < rank[kept.resource_key]:
            best[slot.start] = slot
    return [best[start] for start in sorted(best)]


# ---- reads -------------------------------------------------------------------------------


async def find_slots(
    session: AsyncSession,
    tenant: Tenant,
    *,
    now: datetime,
    service_key: str | None = None,
    staff_key: str | None = None,
    preferred: datetime | None = None,
    window_end: datetime | None = None,
    part_of_day: str | None = None,
    kind: str = "appointment",
    count: int = 3,
    exclude_appointment_id: str | None = None,
) -> list[Slot]:
    """Up to ``count`` free slots to offer, at distinct times, each with the staff who is free."""
    if part_of_day is not None and part_of_day not in proposals.PARTS_OF_DAY:
        parts = ", ".join(proposals.PARTS_OF_DAY)
        raise InvalidInput.for_field("part_of_day", f"use one of {parts}")
    plan = _plan(tenant_document(tenant), kind=kind, service_key=service_key, staff_key=staff_key)
    now = _aware(now, "now")
    preferred = _aware(preferred, "preferred") if preferred is not None else None
    window_end = _aware(window_end, "window_end") if window_end is not None else None
    if count <= 0:
        return []
    policy = plan.doc.receptionist.booking
    bookings = await _bookings(
        session,
        tenant.id,
        plan,
        start=now,
        end=now + timedelta(days=policy.horizon_days + 1),
        exclude_id=exclude_appointment_id,
    )
    request = _request(
        plan,
        bookings,
        horizon_days=policy.horizon_days,
        notice=timedelta(minutes=policy.notice_minutes),
    )
    free = _one_per_start(free_slots(request, now=now), plan)
    chosen = proposals.choose(
        free,
        plan.zone,
        preferred=preferred,
        window_end=window_end,
        part_of_day=part_of_day,
        count=count,
        gap=max(plan.duration, request.step),
    )
    return [Slot(s.start, s.end, _staff_key(s.resource_key)) for s in chosen]


async def get_appointment(
    session: AsyncSession, tenant_id: str, appointment_id: str
) -> Appointment:
    return await get_scoped(
        session, Appointment, tenant_id=tenant_id, id=appointment_id, label="appointment"
    )


async def upcoming_for_contact(
    session: AsyncSession, tenant_id: str, contact_id: str, now: datetime
) -> list[Appointment]:
    """The contact's booked appointments and callbacks that have not started, soonest first."""
    rows = await session.scalars(
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.contact_id == contact_id,
            Appointment.status == "booked",
            Appointment.start_at >= _aware(now, "now"),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(50)
    )
    return list(rows.all())


async def list_appointments(
    session: AsyncSession,
    tenant_id: str,
    *,
    contact_id: str | None = None,
    staff_key: str | None = None,
    status: str | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    paging: PageRequest,
) -> Slice[Appointment]:
    """Appointments newest first (by creation), filtered; ``start_to`` is exclusive."""
    if paging.cursor is not None and not looks_like_id(paging.cursor):
        raise InvalidInput.for_field("cursor", "use next_cursor from the previous page")
    if status is not None and status not in STATUSES:
        raise InvalidInput.for_field("status", f"use one of {', '.join(STATUSES)}")
    stmt: Select[Any] = select(Appointment).where(Appointment.tenant_id == tenant_id)
    if contact_id is not None:
        stmt = stmt.where(Appointment.contact_id == contact_id)
    if staff_key is not None:
        stmt = stmt.where(Appointment.staff_key == staff_key)
    if status is not None:
        stmt = stmt.where(Appointment.status == status)
    if start_from is not None:
        stmt = stmt.where(Appointment.start_at >= _aware(start_from, "from"))
    if start_to is not None:
        stmt = stmt.where(Appointment.start_at < _aware(start_to, "to"))
    return await paginate(session, stmt, Appointment.id, limit=paging.limit, cursor=paging.cursor)


# ---- writes ------------------------------------------------------------------------------


def _lock_id(tenant_id: str, lane: str) -> int:
    digest = hashlib.sha256(f"appointments:{tenant_id}:{lane}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _lock_lanes(session: AsyncSession, tenant_id: str, plan: _Plan) -> None:
    """Serialise bookings of the same staff (or business lane) until this transaction ends.

    SQLite needs nothing: every transaction already starts with BEGIN IMMEDIATE. Locks are
    taken in one global order so that two multi-staff bookings cannot deadlock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lanes = {key if key is not None else f"{_BUSINESS}{plan.kind}" for key in plan.candidates}
    for lock in sorted(_lock_id(tenant_id, lane) for lane in lanes):
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock})


def _check_notice(plan: _Plan, start: datetime, now: datetime) -> None:
    policy = plan.doc.receptionist.booking
    if start <= now:
        raise InvalidInput.for_field("start", "that time has already passed")
    if start < now + timedelta(minutes=policy.notice_minutes):
        raise InvalidInput.for_field(
            "start", f"book at least {policy.notice_minutes} minutes ahead"
        )
    zone = plan.zone
    days_ahead = (start.astimezone(zone).date() - now.astimezone(zone).date()).days
    if days_ahead >= policy.horizon_days:
        raise InvalidInput.for_field(
            "start", f"bookings open {policy.horizon_days} days ahead; choose an earlier date"
        )


def _covers(intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(open_ <= start and end <= close for open_, close in intervals)


def _not_bookable(plan: _Plan, start: datetime) -> InvalidInput:
    """Why ``start`` is no slot at all (as opposed to a slot someone already took)."""
    doc, zone = plan.doc, plan.zone
    day = start.astimezone(zone).date()
    calendar = doc.holiday_calendar()
    closed = None if day in calendar.special else calendar.closed_reason(day)
    if closed is not None:
        return InvalidInput.for_field("start", f"{doc.tenant.name} is closed on {day}: {closed}")
    end = start + plan.duration
    opening = intervals_on(doc.opening_schedule(), calendar, zone, day)
    if not _covers(opening, start, end):
        return InvalidInput.for_field("start", "outside opening hours")
    staff = {member.key: member for member in doc.staff}

    def works(key: str | None) -> bool:
        hours = staff[key].hours if key is not None else None
        if hours is None:  # no hours of their own: whenever the business is open
            return True
        return _covers(intervals_on(hours.schedule(), None, zone, day), start, end)

    if not any(works(key) for key in plan.candidates):
        who = " or ".join(staff[key].name for key in plan.candidates if key is not None)
        return InvalidInput.for_field("start", f"{who} does not work at that time")
    step = doc.receptionist.booking.step_minutes
    return InvalidInput.for_field("start", f"start on the {step}-minute grid of the day")


async def _free_candidate(
    session: AsyncSession,
    tenant_id: str,
    plan: _Plan,
    *,
    start: datetime,
    now: datetime,
    exclude_id: str | None = None,
) -> str | None:
    """The first candidate free for exactly ``[start, start + duration)``; 409 or 422 if none."""
    end = start + plan.duration
    bookings = await _bookings(
        session, tenant_id, plan, start=start, end=end, exclude_id=exclude_id
    )
    zone = plan.zone
    midnight = datetime.combine(start.astimezone(zone).date(), time(0), tzinfo=zone)
    probe = max(now, midnight.astimezone(UTC))  # only the start's local day; notice was checked

    def free_at(booked: Bookings) -> set[str]:
        request = _request(plan, booked, horizon_days=1, notice=timedelta(0))
        return {s.resource_key for s in free_slots(request, now=probe) if s.start == start}

    free = free_at(bookings)
    for key in plan.candidates:
        if _resource_key(key) in free:
            return key
    if free_at({}):
        raise Conflict("that slot was just taken; ask for the free times again")
    raise _not_bookable(plan, start)


async def _own_contact(session: AsyncSession, tenant_id: str, contact_id: str | None) -> str | None:
    """A contact of this tenant (404 otherwise); a merged contact stands for its winner."""
    if contact_id is None:
        return None
    contact = await contacts_service.get_contact(
        session, tenant_id=tenant_id, contact_id=contact_id
    )
    return contact.merged_into_id or contact.id


async def _callback_phone(
    session: AsyncSession, tenant: Tenant, kind: str, phone: str | None, contact_id: str | None
) -> str | None:
    if phone is not None and phone.strip():
        return to_e164(phone, default_region=tenant.country, field="phone")
    if kind != "callback":
        return None
    if contact_id is not None:
        contact = await contacts_service.get_contact(
            session, tenant_id=tenant.id, contact_id=contact_id
        )
        for address in contact.addresses:
            if address.kind == "phone":
                return address.value
    raise InvalidInput.for_field("phone", "a callback needs a phone number to call")


def _text(value: str | None, limit: int) -> str | None:
    """Trimmed free text; an overlong one (a caller's whole story) is cut, not refused."""
    cleaned = (value or "").replace("\x00", "").strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned or None


def _facts(appointment: Appointment) -> dict[str, Any]:
    return {
        "tenant_id": appointment.tenant_id,
        "appointment_id": appointment.id,
        "kind": appointment.kind,
        "contact_id": appointment.contact_id,
        "staff_key": appointment.staff_key,
        "service_key": appointment.service_key,
        "start": appointment.start_at,
        "end": appointment.end_at,
    }


async def book(
    session: AsyncSession,
    *,
    tenant: Tenant,
    start: datetime,
    now: datetime,
    service_key: str | None = None,
    staff_key: str | None = None,
    kind: str = "appointment",
    contact_id: str | None = None,
    conversation_id: str | None = None,
    phone: str | None = None,
    notes: str | None = None,
    source: str = "receptionist",
) -> Appointment:
    """Book ``start`` if it is exactly a free slot; with no staff named, the first one free.

    422 for a time that is past, too soon, too far ahead, closed or off the staff's hours;
    409 when someone else holds it.
    """
    if source not in SOURCES:
        raise InvalidInput.for_field("source", f"use one of {', '.join(SOURCES)}")
    plan = _plan(tenant_document(tenant), kind=kind, service_key=service_key, staff_key=staff_key)
    start, now = _aware(start, "start"), _aware(now, "now")
    contact_id = await _own_contact(session, tenant.id, contact_id)
    if conversation_id is not None:
        await conversations_service.get_conversation(
            session, tenant_id=tenant.id, conversation_id=conversation_id
        )
    phone = await _callback_phone(session, tenant, plan.kind, phone, contact_id)
    notes = _text(notes, MAX_NOTES)
    _check_notice(plan, start, now)
    await _lock_lanes(session, tenant.id, plan)
    chosen = await _free_candidate(session, tenant.id, plan, start=start, now=now)
    appointment = Appointment(
        id=new_id("apt"),
        tenant_id=tenant.id,
        kind=plan.kind,
        status="booked",
        contact_id=contact_id,
        conversation_id=conversation_id,
        staff_key=chosen,
        service_key=plan.service_key,
        start_at=start,
        end_at=start + plan.duration,
        phone=phone,
        notes=notes,
        source=source,
        version=1,
    )
    session.add(appointment)
    await session.flush()
    outbox.record(session, AppointmentBooked(**_facts(appointment), source=source))
    return appointment


def _require_booked(appointment: Appointment, action: str) -> None:
    if appointment.status != "booked":
        raise Conflict(
            f"appointment {appointment.id} is {appointment.status.replace('_', ' ')}; "
            f"only a booked appointment can be {action}"
        )


async def reschedule(
    session: AsyncSession,
    *,
    tenant: Tenant,
    appointment_id: str,
    start: datetime,
    now: datetime,
    actor: str = "receptionist",
) -> Appointment:
    """Move a booked appointment to ``start`` (same staff, same length); checks as ``book``."""
    appointment = await get_appointment(session, tenant.id, appointment_id)
    _require_booked(appointment, "rescheduled")
    start, now = _aware(start, "start"), _aware(now, "now")
    if start == appointment.start_at:
        return appointment
    plan = _plan(
        tenant_document(tenant),
        kind=appointment.kind,
        service_key=appointment.service_key,
        staff_key=appointment.staff_key,
        default_service=False,
    )
    plan = replace(plan, duration=appointment.end_at - appointment.start_at)
    _check_notice(plan, start, now)
    await _lock_lanes(session, tenant.id, plan)
    await _free_candidate(session, tenant.id, plan, start=start, now=now, exclude_id=appointment.id)
    previous = appointment.start_at
    appointment.rescheduled_from = previous
    appointment.start_at, appointment.end_at = start, start + plan.duration
    appointment.confirmed_at = None  # the new time has not been confirmed yet
    appointment.version += 1
    await session.flush()
    outbox.record(
        session,
        AppointmentRescheduled(**_facts(appointment), previous_start=previous, actor=actor),
    )
    return appointment


async def cancel(
    session: AsyncSession,
    *,
    tenant_id: str,
    appointment_id: str,
    now: datetime,
    reason: str | None = None,
) -> Appointment:
    """Cancel and free the slot; cancelling a cancelled appointment changes nothing."""
    appointment = await get_appointment(session, tenant_id, appointment_id)
    if appointment.status == "cancelled":
        return appointment
    _require_booked(appointment, "cancelled")
    appointment.status = "cancelled"
    appointment.cancelled_at = _aware(now, "now")
    appointment.cancel_reason = _text(reason, MAX_REASON)
    appointment.version += 1
    await session.flush()
    outbox.record(
        session, AppointmentCancelled(**_facts(appointment), reason=appointment.cancel_reason)
    )
    return appointment


async def confirm(
    session: AsyncSession, *, tenant_id: str, appointment_id: str, now: datetime
) -> Appointment:
    """The caller confirmed they will come; confirming twice changes nothing."""
    appointment = await get_appointment(session, tenant_id, appointment_id)
    _require_booked(appointment, "confirmed")
    if appointment.confirmed_at is not None:
        return appointment
    appointment.confirmed_at = _aware(now, "now")
    appointment.version += 1
    await session.flush()
    outbox.record(session, AppointmentConfirmed(**_facts(appointment)))
    return appointment


# ---- calendar feeds ----------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_calendar_feed(
    session: AsyncSession, tenant_id: str, staff_key: str, *, base_url: str
) -> tuple[CalendarFeed, str]:
    """A new secret feed URL for one staff member (shown once); earlier URLs stop working."""
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    if staff_key not in {member.key for member in tenant_document(tenant).staff}:
        raise NotFound(f"staff member {staff_key} not found")
    now = utcnow()
    await session.execute(
        update(CalendarFeed)
        .where(
            CalendarFeed.tenant_id == tenant_id,
            CalendarFeed.staff_key == staff_key,
            CalendarFeed.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        id=new_id("cal"),
        tenant_id=tenant_id,
        staff_key=staff_key,
        token_hash=_token_hash(token),
        created_at=now,
    )
    session.add(feed)
    await session.flush()
    outbox.record(
        session, CalendarFeedCreated(tenant_id=tenant_id, feed_id=feed.id, staff_key=staff_key)
    )
    return feed, f"{base_url.rstrip('/')}/ical/{token}.ics"


async def calendar_for_token(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> bytes:
    """The iCal feed behind a secret URL token; unknown or revoked tokens are 404."""
    feed = None
    if 0 < len(token) <= 200:
        feed = await session.scalar(
            select(CalendarFeed).where(
                CalendarFeed.token_hash == _token_hash(token), CalendarFeed.revoked_at.is_(None)
            )
        )
    if feed is None:
        raise NotFound("calendar not found")
    tenant = await tenants_service.get_tenant(session, tenant_id=feed.tenant_id)
    doc = tenant_document(tenant)
    member = next((m for m in doc.staff if m.key == feed.staff_key), None)
    if member is None:  # the staff member left the directory: so does the feed
        raise NotFound("calendar not found")
    now = _aware(now or utcnow(), "now")
    rows = await session.scalars(
        select(Appointment)
        .where(
            Appointment.tenant_id == feed.tenant_id,
            Appointment.staff_key == feed.staff_key,
            Appointment.start_at >= now - FEED_HISTORY,
            or_(
                Appointment.status != "cancelled",
                Appointment.cancelled_at >= now - FEED_CANCELLED,
            ),
        )
        .order_by(Appointment.start_at)
        .limit(2000)
    )
    services = {service.key: service.name.text(doc.tenant.locale) for service in doc.services}
    names: dict[str, str | None] = {}
    entries = []
    for row in rows.all():
        if row.contact_id is not None and row.contact_id not in names:
            names[row.contact_id] = await _contact_name(session, row.tenant_id, row.contact_id)
        entries.append(
            CalendarEntry(
                id=row.id,
                kind=row.kind,
                status=row.status,
                start=row.start_at,
                end=row.end_at,
                version=row.version,
                last_modified=row.updated_at,
                confirmed=row.confirmed_at is not None,
                service_name=services.get(row.service_key or ""),
                caller_name=names.get(row.contact_id or ""),
            )
        )
    return render_calendar(
        f"{member.name} · {doc.tenant.name}",
        entries,
        timezone=doc.tenant.timezone,
        locale=doc.tenant.locale,
    )


async def _contact_name(session: AsyncSession, tenant_id: str, contact_id: str) -> str | None:
    try:
        contact = await contacts_service.get_contact(
            session, tenant_id=tenant_id, contact_id=contact_id
        )
    except NotFound:
        return None
    return contact.name
