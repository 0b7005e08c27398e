"""Sending staff messages: email (SMTP), a Slack/Teams-style webhook, and the in-app inbox.

Each delivery row is claimed in a short transaction, sent with no transaction open, then
marked sent or failed in another short transaction. The claim is a conditional update (it
bumps ``attempts`` and leases the row), so two workers never send the same row at once and a
redelivered event finds nothing left to send. Failed rows are retried by ``retry_failed``
with backoff, at most ``MAX_ATTEMPTS`` times; channels that went out are never sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiosmtplib
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.config import Settings
from centralita.core.clock import utcnow
from centralita.events import outbox
from centralita.events.envelope import Envelope
from centralita.staff_messages import service as staff_messages_service
from centralita.staff_messages.directory import MessageFields, format_message
from centralita.staff_messages.events import StaffMessageDelivered
from centralita.staff_messages.models import StaffMessage, StaffMessageDelivery
from centralita.tenants import service as tenants_service
from centralita.webhooks.pinned import post_pinned
from centralita.webhooks.resolve import policy_from

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)  # longer than any send can take (SMTP_TIMEOUT, WEBHOOK_TIMEOUT)
SMTP_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 5.0
RETRY_BATCH = 100
_RETRYABLE = ("pending", "failed")


class DeliveryError(Exception):
    """A channel refused or could not be reached; the text goes to ``last_error``."""


def retry_backoff(attempts: int) -> timedelta:
    """30 s after the first failure, then 2, 8 and 32 minutes."""
    return min(timedelta(seconds=30 * 4 ** max(attempts - 1, 0)), timedelta(hours=1))


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    message_id: str
    tenant_id: str
    channel: str
    target: str
    subject: str
    body: str
    business: str


# ---- entry points -------------------------------------------------------------------------


async def deliver_staff_message(container: Container, envelope: Envelope) -> None:
    """On staff_message.created / .escalated: send every delivery of the message that was
    never tried. A failure is recorded on its row, not raised: the sweep retries it."""
    message_id = envelope.payload.get("message_id")
    if not isinstance(message_id, str):
        return
    async with container.sessions() as session, session.begin():
        ids = await session.scalars(
            select(StaffMessageDelivery.id)
            .where(
                StaffMessageDelivery.tenant_id == envelope.tenant_id,
                StaffMessageDelivery.message_id == message_id,
                StaffMessageDelivery.status == "pending",
                StaffMessageDelivery.next_attempt_at.is_(None),
            )
            .order_by(StaffMessageDelivery.id)
        )
        delivery_ids = list(ids.all())
    await send_deliveries(container, delivery_ids, now=utcnow())


async def retry_failed(container: Container, now: datetime) -> int:
    """Retry every tenant's failed deliveries whose backoff is over (and sends a crashed
    worker left half-done). Returns how many went out."""
    async with container.sessions() as session, session.begin():
        ids = await session.scalars(
            select(StaffMessageDelivery.id)
            .where(
                StaffMessageDelivery.status.in_(_RETRYABLE),
                StaffMessageDelivery.attempts < MAX_ATTEMPTS,
                StaffMessageDelivery.next_attempt_at <= now,
            )
            .order_by(StaffMessageDelivery.next_attempt_at)
            .limit(RETRY_BATCH)
        )
        delivery_ids = list(ids.all())
    return await send_deliveries(container, delivery_ids, now=now)


async def send_deliveries(
    container: Container, delivery_ids: Sequence[str], *, now: datetime
) -> int:
    """Claim, send and mark each delivery in turn; returns how many were sent."""
    sent = 0
    for delivery_id in delivery_ids:
        job = await _claim(container, delivery_id, now)
        if job is None:
            continue
        error = await _send(container.settings, job, now)
        await _finish(container, job, error, now)
        sent += error is None
    return sent


# ---- claim and finish: short transactions -------------------------------------------------


async def _claim(container: Container, delivery_id: str, now: datetime) -> _Job | None:
    async with container.sessions() as session, session.begin():
        D = StaffMessageDelivery
        result = await session.execute(
            update(D)
            .where(
                D.id == delivery_id,
                D.status.in_(_RETRYABLE),
                D.attempts < MAX_ATTEMPTS,
                or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
            )
            .values(attempts=D.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None  # someone else has it, or it is done
        delivery = await session.get(D, delivery_id)
        message = await session.get(StaffMessage, delivery.message_id) if delivery else None
        if delivery is None or message is None:
            return None
        if delivery.escalation and message.acknowledged_at is not None:
            # A reminder to the backup about a message someone already saw helps nobody.
            delivery.status = "failed"
            delivery.last_error = "not sent: the message was acknowledged first"
            delivery.next_attempt_at = None
            return None
        return await _job(session, container.settings, delivery, message)


async def _job(
    session: AsyncSession, settings: Settings, delivery: StaffMessageDelivery, msg: StaffMessage
) -> _Job:
    tenant = await tenants_service.get_tenant(session, tenant_id=msg.tenant_id)
    secret = settings.secret_key.get_secret_value()
    link = None
    if secret:
        staff_key = msg.escalated_to_key if delivery.escalation else msg.recipient_key
        link = staff_messages_service.ack_url(
            settings.public_base_url, secret, msg.id, staff_key=staff_key, issued_at=msg.created_at
        )
    taken = msg.created_at.astimezone(ZoneInfo(tenant.timezone or "UTC"))
    fields = MessageFields(
        recipient_name=msg.recipient_name,
        caller_name=msg.caller_name,
        caller_phone=msg.caller_phone,
        caller_email=msg.caller_email,
        reason=msg.reason,
        urgency=msg.urgency,
        summary=msg.summary,
        taken_at=taken.strftime("%d/%m/%Y %H:%M" if msg.language == "es" else "%d %b %Y %H:%M"),
        transcript_url=msg.transcript_url,
        ack_url=link,
        business=tenant.name,
        escalation=delivery.escalation,
    )
    subject, body = format_message(fields, msg.language)
    return _Job(
        delivery_id=delivery.id,
        message_id=msg.id,
        tenant_id=msg.tenant_id,
        channel=delivery.channel,
        target=delivery.target,
        subject=subject,
        body=body,
        business=tenant.name,
    )


async def _finish(container: Container, job: _Job, error: str | None, now: datetime) -> None:
    async with container.sessions() as session, session.begin():
        delivery = await session.scalar(
            select(StaffMessageDelivery)
            .where(StaffMessageDelivery.id == job.delivery_id)
            .with_for_update()
        )
        message = await session.scalar(
            select(StaffMessage).where(StaffMessage.id == job.message_id).with_for_update()
        )
        if delivery is None or message is None or delivery.status == "sent":
            return
        if error is None:
            delivery.status = "sent"
            delivery.sent_at = now
            delivery.last_error = None
            delivery.next_attempt_at = None
            if message.status in ("pending", "failed"):
                message.status = "delivered"
            outbox.record(
                session,
                StaffMessageDelivered(
                    tenant_id=job.tenant_id,
                    message_id=message.id,
                    delivery_id=delivery.id,
                    channel=delivery.channel,
                    escalation=delivery.escalation,
                ),
            )
            return
        log.warning("staff message %s: %s delivery failed: %s", job.message_id, job.channel, error)
        delivery.status = "failed"
        delivery.last_error = error[:2000]
        final = delivery.attempts >= MAX_ATTEMPTS
        delivery.next_attempt_at = None if final else now + retry_backoff(delivery.attempts)
        if final and message.status == "pending" and await _all_failed(session, message.id):
            message.status = "failed"


async def _all_failed(session: AsyncSession, message_id: str) -> bool:
    statuses = await session.execute(
        select(StaffMessageDelivery.status, StaffMessageDelivery.attempts).where(
            StaffMessageDelivery.message_id == message_id
        )
    )
    return all(s == "failed" and a >= MAX_ATTEMPTS for s, a in statuses.all())


# ---- the channels: network I/O, no transaction open ---------------------------------------


async def _send(settings: Settings, job: _Job, now: datetime) -> str | None:
    """None when sent; otherwise the error, for ``last_error``."""
    try:
        if job.channel == "email":
            await send_email(
                settings,
                to=job.target,
                subject=job.subject,
                body=job.body,
                sender_name=job.business,
                message_id=job.message_id,
                now=now,
            )
        elif job.channel == "webhook":
            await post_webhook(settings, job.target, f"{job.subject}\n\n{job.body}")
        elif job.channel != "in_app":  # in-app: the row itself is the inbox entry
            raise DeliveryError(f"unknown channel {job.channel!r}")
    except Exception as exc:  # every failure of a remote server is recorded and retried
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


async def send_email(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    sender_name: str | None = None,
    message_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Send one plain-text email through the configured SMTP server."""
    if not settings.smtp_host:
        raise DeliveryError("email is not configured: set CENTRALITA_SMTP_HOST")
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name or "Centralita", settings.mail_from))
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now or utcnow())
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "localhost")
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    if message_id:
        mail["X-Centralita-Staff-Message"] = message_id
    mail.set_content(body)
    password = settings.smtp_password.get_secret_value()
    await aiosmtplib.send(
        mail,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=password or None,
        use_tls=settings.smtp_port == 465,  # port 465 speaks TLS from the first byte
        start_tls=settings.smtp_starttls and settings.smtp_port != 465,
        timeout=SMTP_TIMEOUT,
    )


async def post_webhook(settings: Settings, url: str, text: str) -> None:
    """POST ``{"text": ...}``: Slack incoming webhooks and Teams connectors both read it.

    The URL is the tenant's, so it goes through the same SSRF check as event webhooks
    (``webhooks.pinned``): public addresses only unless the operator allows more
    (``CENTRALITA_WEBHOOK_ALLOWED_HOSTS``), connecting to the address that was checked. A
    refused URL is a failed delivery like any other, recorded with its reason."""
    body = json.dumps({"text": text}).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "Centralita-StaffMessages/1"}
    async with asyncio.timeout(WEBHOOK_TIMEOUT * 2):  # a total deadline, whatever the phases
        status, excerpt = await post_pinned(
            url, body, headers, policy=policy_from(settings), io_timeout=WEBHOOK_TIMEOUT
        )
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}: {excerpt[:200]}")
