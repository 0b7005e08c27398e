"""Staff message use cases: take, list, acknowledge and escalate. Each emits its event.

Sending happens elsewhere (``delivery``), after commit, through the outbox: this module only
writes the rows that say what must be sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.clock import utcnow
from centralita.core.errors import InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.staff_messages import directory
from centralita.staff_messages.events import (
    StaffMessageAcknowledged,
    StaffMessageCreated,
    StaffMessageEscalated,
)
from centralita.staff_messages.models import (
    STATUSES,
    URGENCIES,
    StaffMessage,
    StaffMessageDelivery,
)
from centralita.tenants import service as tenants_service
from centralita.tenants.config.export import tenant_document
from centralita.tenants.config.schema import MessagePolicy, StaffConfig
from centralita.tenants.models import Tenant

EMERGENCY_ACK = timedelta(minutes=5)
ACK_TOKEN_MAX_AGE = timedelta(days=30)
_ACK_SALT = "centralita.staff_messages.ack.v2"
ESCALATION_BATCH = 200


class PageRequest(Protocol):
    """What a list needs from the caller's paging (``api.deps.PageParams`` is one)."""

    limit: int
    cursor: str | None


# ---- the tenant's directory and policy ----------------------------------------------------


def _directory(tenant: Tenant) -> tuple[list[StaffConfig], MessagePolicy]:
    doc = tenant_document(tenant)
    return list(doc.staff), doc.receptionist.messages


def ack_deadline(policy: MessagePolicy, urgency: str, now: datetime) -> datetime:
    """Urgent messages are chased sooner: a third of the time for high, 5 minutes at most
    for an emergency."""
    minutes = policy.ack_minutes
    if urgency == "high":
        return now + timedelta(minutes=max(1, minutes // 3))
    if urgency == "emergency":
        return now + min(EMERGENCY_ACK, timedelta(minutes=minutes))
    return now + timedelta(minutes=minutes)


def _clip(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _add_deliveries(
    session: AsyncSession,
    message: StaffMessage,
    recipient: StaffConfig | None,
    policy: MessagePolicy,
    *,
    escalation: bool,
) -> list[StaffMessageDelivery]:
    targets: list[tuple[str, str]] = []
    if policy.email and recipient is not None and recipient.email:
        targets.append(("email", recipient.email))
    if policy.webhook_url:
        targets.append(("webhook", policy.webhook_url))
    targets.append(("in_app", recipient.key if recipient is not None else ""))
    rows = [
        StaffMessageDelivery(
            id=new_id("smd"),
            tenant_id=message.tenant_id,
            message_id=message.id,
            channel=channel,
            target=target,
            status="pending",
            attempts=0,
            escalation=escalation,
        )
        for channel, target in targets
    ]
    session.add_all(rows)
    return rows


# ---- writes -------------------------------------------------------------------------------


async def take_message(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation_id: str,
    contact_id: str | None,
    recipient_key: str | None,
    caller_name: str | None,
    caller_phone: str | None,
    caller_email: str | None,
    reason: str | None,
    intent: str | None,
    urgency: str,
    summary: str,
    language: str,
    now: datetime,
    transcript_url: str | None = None,
) -> StaffMessage:
    """Store a message for ``recipient_key`` (else the default recipient, else the first
    person in the directory) and the deliveries that will carry it."""
    if urgency not in URGENCIES:
        raise InvalidInput.for_field("urgency", f"use one of {', '.join(URGENCIES)}")
    staff, policy = _directory(tenant)
    recipient = directory.resolve_recipient(
        staff, staff_key=recipient_key, default_key=policy.default_recipient
    ) or (staff[0] if staff else None)
    message = StaffMessage(
        id=new_id("smsg"),
        tenant_id=tenant.id,
        conversation_id=conversation_id,
        contact_id=contact_id,
        recipient_key=recipient.key if recipient else None,
        recipient_name=recipient.name if recipient else None,
        caller_name=_clip(caller_name, 200),
        caller_phone=_clip(caller_phone, 32),
        caller_email=_clip(caller_email, 254),
        reason=_clip(reason, 500),
        intent=_clip(intent, 40),
        urgency=urgency,
        summary=(summary or "").strip(),
        language=(language or tenant.locale or "es")[:8],
        transcript_url=_clip(transcript_url, 500),
        status="pending",
        due_at=ack_deadline(policy, urgency, now),
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    _add_deliveries(session, message, recipient, policy, escalation=False)
    outbox.record(
        session,
        StaffMessageCreated(
            tenant_id=tenant.id,
            message_id=message.id,
            conversation_id=conversation_id,
            recipient_key=message.recipient_key,
            urgency=urgency,
        ),
    )
    await session.flush()
    return message


async def acknowledge(
    session: AsyncSession, *, tenant_id: str, message_id: str, actor: str, now: datetime
) -> StaffMessage:
    """Mark the message seen; acknowledging it again changes nothing."""
    message = await _locked(session, tenant_id=tenant_id, message_id=message_id)
    if message.acknowledged_at is not None:
        return message
    message.acknowledged_at = now
    message.acknowledged_by = actor[:80]
    message.status = "acknowledged"
    outbox.record(
        session,
        StaffMessageAcknowledged(tenant_id=tenant_id, message_id=message.id, actor=actor[:80]),
    )
    await session.flush()
    return message


async def escalate_due(session: AsyncSession, *, now: datetime) -> int:
    """Every tenant's messages past their deadline, unacknowledged and not yet escalated, go
    to the tenant's backup (when there is one other than the recipient). Returns how many."""
    stmt = (
        select(StaffMessage)
        .where(
            StaffMessage.acknowledged_at.is_(None),
            StaffMessage.escalated_at.is_(None),
            StaffMessage.due_at <= now,
        )
        .order_by(StaffMessage.due_at)
        .limit(ESCALATION_BATCH)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.scalars(stmt)).all())
    directories: dict[str, tuple[list[StaffConfig], MessagePolicy]] = {}
    for message in messages:
        if message.tenant_id not in directories:
            tenant = await tenants_service.get_tenant(session, tenant_id=message.tenant_id)
            directories[message.tenant_id] = _directory(tenant)
        staff, policy = directories[message.tenant_id]
        backup = None
        if policy.backup and policy.backup != message.recipient_key:
            backup = directory.by_key(staff, policy.backup)
        if backup is not None:
            _add_deliveries(session, message, backup, policy, escalation=True)
        message.status = "escalated"
        message.escalated_at = now
        message.escalated_to_key = backup.key if backup else None
        outbox.record(
            session,
            StaffMessageEscalated(
                tenant_id=message.tenant_id,
                message_id=message.id,
                recipient_key=message.recipient_key,
                escalated_to_key=message.escalated_to_key,
            ),
        )
    await session.flush()
    return len(messages)


# ---- reads --------------------------------------------------------------------------------


async def _locked(session: AsyncSession, *, tenant_id: str, message_id: str) -> StaffMessage:
    row = None
    if looks_like_id(message_id):
        row = await session.scalar(
            select(StaffMessage)
            .where(StaffMessage.tenant_id == tenant_id, StaffMessage.id == message_id)
            .with_for_update()
        )
    if row is None:
        raise NotFound(f"staff message {message_id} not found")
    return row


async def get_message(session: AsyncSession, tenant_id: str, message_id: str) -> StaffMessage:
    return await get_scoped(
        session, StaffMessage, tenant_id=tenant_id, id=message_id, label="staff message"
    )


async def get_message_for_link(session: AsyncSession, *, message_id: str) -> StaffMessage | None:
    """Any tenant's message: only for a caller holding a valid acknowledge token for it."""
    if not looks_like_id(message_id):
        return None
    return await session.get(StaffMessage, message_id)


async def list_deliveries(
    session: AsyncSession, *, tenant_id: str, message_id: str
) -> list[StaffMessageDelivery]:
    rows = await session.scalars(
        select(StaffMessageDelivery)
        .where(
            StaffMessageDelivery.tenant_id == tenant_id,
            StaffMessageDelivery.message_id == message_id,
        )
        .order_by(StaffMessageDelivery.id)
    )
    return list(rows.all())


async def list_messages(
    session: AsyncSession,
    tenant_id: str,
    *,
    recipient_key: str | None = None,
    status: str | None = None,
    paging: PageRequest,
) -> Slice[StaffMessage]:
    """Messages newest first, optionally for one person or in one status."""
    if paging.cursor is not None and not looks_like_id(paging.cursor):
        raise InvalidInput.for_field("cursor", "use next_cursor from the previous page")
    if status is not None and status not in STATUSES:
        raise InvalidInput.for_field("status", f"use one of {', '.join(STATUSES)}")
    stmt: Select[Any] = select(StaffMessage).where(StaffMessage.tenant_id == tenant_id)
    if recipient_key is not None:
        stmt = stmt.where(StaffMessage.recipient_key == recipient_key)
    if status is not None:
        stmt = stmt.where(StaffMessage.status == status)
    return await paginate(session, stmt, StaffMessage.id, limit=paging.limit, cursor=paging.cursor)


# ---- acknowledge links --------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeSerializer:
    if not secret_key:
        raise ValueError("acknowledge links need a secret key (CENTRALITA_SECRET_KEY)")
    return URLSafeSerializer(secret_key, salt=_ACK_SALT)


def ack_token(
    secret_key: str, message_id: str, *, staff_key: str | None = None, issued_at: datetime
) -> str:
    """A signed token that lets whoever holds it acknowledge ``message_id``.

    It carries ``issued_at`` (the message's creation time) rather than the signing time, so
    every copy of a message (email, webhook, a re-sent delivery) carries the same link and
    the link expires ``ACK_TOKEN_MAX_AGE`` after the message was taken.
    """
    return _serializer(secret_key).dumps([message_id, staff_key or "", int(issued_at.timestamp())])


def verify_ack_token(
    secret_key: str,
    message_id: str,
    token: str,
    *,
    max_age: timedelta = ACK_TOKEN_MAX_AGE,
    now: datetime | None = None,
) -> str | None:
    """The staff key the link was made for ("" when none), or None if the token is not a
    valid, unexpired token for this message."""
    if not secret_key or not token or len(token) > 500:
        return None
    try:
        value = _serializer(secret_key).loads(token)
    except BadData:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != message_id
        or not isinstance(value[1], str)
        or not isinstance(value[2], int)
    ):
        return None
    current = (now or utcnow()).timestamp()
    if current - value[2] > max_age.total_seconds():
        return None
    return value[1]


def ack_url(
    base_url: str,
    secret_key: str,
    message_id: str,
    *,
    staff_key: str | None = None,
    issued_at: datetime,
) -> str:
    token = ack_token(secret_key, message_id, staff_key=staff_key, issued_at=issued_at)
    return f"{base_url.rstrip('/')}/ack/{quote(message_id)}?t={quote(token)}"
