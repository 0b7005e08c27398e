"""Appointment reminders: a built-in, transactional notification.

When the tenant's ``outreach.reminders`` is on, each booked appointment (confirmed or not) of
a known contact gets one message per ``reminder_hours`` offset before it starts. One row per
(appointment, start time, offset) in ``appointment_reminders`` makes it idempotent; a
rescheduled appointment is reminded of its new time, a cancelled one never. A reminder needs
no marketing consent (it is about something the contact booked) but respects the opt-out
ledger and quiet hours (held back until they end, or skipped if that is too late). When
several offsets are due at once (the runner was down) only the nearest goes out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns import audience, optouts
from centralita.campaigns.events import AppointmentReminderSent
from centralita.campaigns.models import ReminderSent
from centralita.campaigns.schedule import QuietHours, next_allowed, reminder_due
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.core.errors import DomainError
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.scheduling.models import Appointment
from centralita.tenants.config.schema import OutreachConfig
from centralita.tenants.models import Tenant

CHANNEL_ORDER = ("sms", "whatsapp", "email")
_ADDRESS_KIND = {"sms": "phone", "whatsapp": "whatsapp", "email": "email"}
_TEXT = {
    "es": "Recordatorio de {business}: tienes cita el {date} a las {time}. "
    "Si no puedes venir, responde a este mensaje.",
    "en": "Reminder from {business}: your appointment is on {date} at {time}. "
    "If you cannot make it, reply to this message.",
}


def reminder_text(*, business: str, when: datetime, language: str | None) -> str:
    lang = "en" if (language or "").lower().startswith("en") else "es"
    fmt = "%m/%d/%Y" if lang == "en" else "%d/%m/%Y"
    return _TEXT[lang].format(
        business=business, date=when.strftime(fmt), time=when.strftime("%H:%M")
    )


async def _channel(session: AsyncSession, contact: Contact) -> str | None:
    """The channel the contact last wrote on, if we can write there; else SMS, WhatsApp,
    email, whichever address they have."""
    kinds = {a.kind for a in contact.addresses}
    latest: tuple[datetime, str] | None = None
    for channel in CHANNEL_ORDER:
        if _ADDRESS_KIND[channel] not in kinds:
            continue
        last = await conversations_service.last_inbound(
            session, tenant_id=contact.tenant_id, contact_id=contact.id, channel=channel
        )
        if last is not None and (latest is None or last[1] > latest[0]):
            latest = (last[1], channel)
    if latest is not None:
        return latest[1]
    return next((c for c in CHANNEL_ORDER if _ADDRESS_KIND[c] in kinds), None)


def _record(
    session: AsyncSession,
    appointment: Appointment,
    *,
    hours: int,
    status: str,
    now: datetime,
    reason: str | None = None,
    channel: str | None = None,
    message_id: str | None = None,
) -> None:
    session.add(
        ReminderSent(
            id=new_id("rem"),
            tenant_id=appointment.tenant_id,
            appointment_id=appointment.id,
            start_at=appointment.start_at,
            hours_before=hours,
            status=status,
            reason=reason,
            channel=channel,
            message_id=message_id,
            at=now,
        )
    )
    outbox.record(
        session,
        AppointmentReminderSent(
            tenant_id=appointment.tenant_id,
            appointment_id=appointment.id,
            contact_id=appointment.contact_id or "",
            hours_before=hours,
            status=status,
            message_id=message_id,
        ),
    )


async def tick_reminders(
    session: AsyncSession, *, tenant: Tenant, config: OutreachConfig, now: datetime
) -> int:
    """Send the reminders due now; the number sent."""
    hours = sorted(set(config.reminder_hours))
    if not hours:
        return 0
    appointments = (
        await session.scalars(
            select(Appointment).where(
                Appointment.tenant_id == tenant.id,
                Appointment.kind == "appointment",
                Appointment.status == "booked",
                Appointment.contact_id.is_not(None),
                Appointment.start_at > now,
                Appointment.start_at <= now + timedelta(hours=hours[-1]),
            )
        )
    ).all()
    if not appointments:
        return 0
    done = {
        (r[0], r[1], r[2])
        for r in (
            await session.execute(
                select(
                    ReminderSent.appointment_id, ReminderSent.start_at, ReminderSent.hours_before
                ).where(
                    ReminderSent.tenant_id == tenant.id,
                    ReminderSent.appointment_id.in_([a.id for a in appointments]),
                )
            )
        ).all()
    }
    quiet = QuietHours.parse(config.quiet_start, config.quiet_end)
    sent = 0
    for appointment in appointments:
        due = [
            h
            for h in hours
            if (appointment.id, appointment.start_at, h) not in done
            and reminder_due(
                start_at=appointment.start_at,
                booked_at=appointment.created_at,
                hours_before=h,
                now=now,
            )
        ]
        if not due:
            continue
        if await _remind(session, tenant, appointment, due, quiet=quiet, now=now):
            sent += 1
    return sent


async def _remind(
    session: AsyncSession,
    tenant: Tenant,
    appointment: Appointment,
    due: list[int],
    *,
    quiet: QuietHours,
    now: datetime,
) -> bool:
    nearest, older = due[0], due[1:]
    try:
        contact = await contacts_service.get_active_contact(
            session, tenant_id=tenant.id, contact_id=appointment.contact_id or ""
        )
    except DomainError:
        _record(
            session, appointment, hours=nearest, status="skipped", reason="contact_gone", now=now
        )
        return False
    tz = audience.contact_zone(contact, tenant)
    allowed = next_allowed(now, tz, quiet)
    if allowed > now and allowed < appointment.start_at - timedelta(hours=1):
        return False  # quiet hours: the next tick after they end sends it
    for hours in older:
        _record(session, appointment, hours=hours, status="skipped", reason="superseded", now=now)
    if allowed > now:
        _record(
            session, appointment, hours=nearest, status="skipped", reason="quiet_hours", now=now
        )
        return False
    channel = await _channel(session, contact)
    if channel is None:
        _record(session, appointment, hours=nearest, status="skipped", reason="no_address", now=now)
        return False
    if await optouts.is_opted_out(
        session, tenant_id=tenant.id, contact_id=contact.id, channel=channel
    ):
        _record(
            session,
            appointment,
            hours=nearest,
            status="skipped",
            reason="opted_out",
            channel=channel,
            now=now,
        )
        return False
    body = reminder_text(
        business=tenant.name, when=appointment.start_at.astimezone(tz), language=contact.language
    )
    try:
        message = await conversations_outbound.start_outbound(
            session,
            tenant_id=tenant.id,
            contact_id=contact.id,
            channel=channel,
            body=body,
            conversation_id=appointment.conversation_id,
            meta={"appointment_id": appointment.id, "reminder_hours": nearest},
            now=now,
        )
    except DomainError:  # no account for that channel
        _record(
            session,
            appointment,
            hours=nearest,
            status="skipped",
            reason="no_address",
            channel=channel,
            now=now,
        )
        return False
    _record(
        session,
        appointment,
        hours=nearest,
        status="sent",
        channel=channel,
        message_id=message.id,
        now=now,
    )
    return True
