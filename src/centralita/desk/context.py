"""What the agent desktop shows about a conversation: the customer 360° panel and the inbox.

Plain service functions on a database session, tenant-scoped: a conversation of another
tenant is "not found", like an unknown one. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels import service as channels_service
from centralita.contacts.models import Contact
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Message
from centralita.core.errors import NotFound
from centralita.receptionist.models import Handoff
from centralita.scheduling.models import Appointment
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.models import Queue, Service, StaffMember

PAST_CONVERSATIONS = 10
APPOINTMENTS = 10
MESSAGES_TAKEN = 10
SNIPPET = 140
MAX_SUMMARIES = 50


@dataclass
class ConversationInfo:
    id: str
    contact_id: str
    status: str
    owner_type: str
    owner_id: str | None
    owner_name: str | None
    channel: str
    language: str | None
    sentiment: float | None
    subject: str | None
    intake: dict[str, Any]
    tags: list[str]
    created_at: datetime
    last_message_at: datetime


@dataclass
class HandoffInfo:
    id: str
    status: str
    channel: str
    reason: str
    urgency: str
    summary: str
    intake: dict[str, Any]
    queue_key: str | None
    queue_name: str | None
    staff_key: str | None
    requested_at: datetime


@dataclass
class AddressInfo:
    kind: str
    value: str
    label: str | None


@dataclass
class ContactInfo:
    id: str
    name: str | None
    vip: bool
    tags: list[str]
    language: str | None
    value: float
    addresses: list[AddressInfo]
    last_contact_at: datetime | None


@dataclass
class PastConversation:
    id: str
    status: str
    last_channel: str
    last_message_at: datetime
    subject: str | None


@dataclass
class AppointmentInfo:
    id: str
    kind: str
    status: str
    start_at: datetime
    end_at: datetime
    service_key: str | None
    staff_key: str | None
    notes: str | None


@dataclass
class TakenMessage:
    id: str
    created_at: datetime
    status: str
    urgency: str
    reason: str | None
    summary: str
    recipient_name: str | None


@dataclass
class WindowInfo:
    open: bool
    last_inbound_at: datetime | None
    closes_at: datetime | None
    reengagement_template: str | None


@dataclass
class DeskContext:
    conversation: ConversationInfo
    handoff: HandoffInfo | None
    contact: ContactInfo | None
    past_conversations: list[PastConversation]
    appointments: list[AppointmentInfo]
    messages_taken: list[TakenMessage]
    # No survey model exists yet: the list stays empty until post-conversation surveys do.
    survey_answers: list[dict[str, Any]]
    whatsapp_window: WindowInfo | None
    # Names for the keys above (intake, hand-off, appointments): staff key -> name and
    # service key -> {"es": ..., "en": ...}.
    staff_names: dict[str, str] = field(default_factory=dict)
    service_names: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class LastMessage:
    direction: str
    kind: str
    author_type: str
    channel: str
    body: str
    created_at: datetime


@dataclass
class ConversationSummary:
    """One line of the desktop's inbox: who, on which channel, and the latest message."""

    id: str
    status: str
    channel: str
    owner_type: str
    owner_id: str | None
    subject: str | None
    contact_id: str
    contact_name: str | None
    vip: bool
    last_message_at: datetime
    last_message: LastMessage | None
    last_inbound_at: datetime | None
    urgency: str | None
    reason: str | None


async def _contact(session: AsyncSession, tenant_id: str, contact_id: str) -> Contact | None:
    """The contact, following one merge (a merged-away contact points at the one kept)."""
    contact = await session.get(Contact, contact_id)
    if contact is not None and contact.merged_into_id:
        contact = await session.get(Contact, contact.merged_into_id) or contact
    if contact is None or contact.tenant_id != tenant_id:
        return None
    return contact


async def _owner_name(session: AsyncSession, conversation: Conversation) -> str | None:
    if conversation.owner_id is None:
        return None
    model: type[StaffMember] | type[Queue]
    if conversation.owner_type == "agent":
        model = StaffMember
    elif conversation.owner_type == "queue":
        model = Queue
    else:
        return None
    name = await session.scalar(
        select(model.name).where(
            model.tenant_id == conversation.tenant_id, model.id == conversation.owner_id
        )
    )
    return str(name) if name is not None else None


async def latest_handoff(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> Handoff | None:
    """The receptionist's latest hand-off of the conversation to people, if any."""
    return await session.scalar(
        select(Handoff)
        .where(Handoff.tenant_id == tenant_id, Handoff.conversation_id == conversation_id)
        .order_by(Handoff.requested_at.desc(), Handoff.id.desc())
        .limit(1)
    )


async def _window(
    session: AsyncSession, tenant_id: str, conversation_id: str, now: datetime
) -> WindowInfo | None:
    state = await conversations_service.whatsapp_window(
        session, tenant_id=tenant_id, conversation_id=conversation_id, now=now
    )
    if state.channel_account_id is None:
        return None  # the customer never wrote on WhatsApp: no window to respect
    template = None
    try:
        account = await channels_service.get_account(
            session, tenant_id=tenant_id, account_id=state.channel_account_id
        )
    except NotFound:
        account = None
    if account is not None:
        configured = (account.settings or {}).get("reengagement_template")
        template = configured.get("name") if isinstance(configured, dict) else None
    return WindowInfo(state.open, state.last_inbound_at, state.closes_at, template)


async def _names(
    session: AsyncSession, tenant_id: str, staff_keys: set[str], service_keys: set[str]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    staff: dict[str, str] = {}
    services: dict[str, dict[str, str]] = {}
    if staff_keys:
        rows = await session.execute(
            select(StaffMember.key, StaffMember.name).where(
                StaffMember.tenant_id == tenant_id, StaffMember.key.in_(sorted(staff_keys))
            )
        )
        staff = {str(key): str(name) for key, name in rows}
    if service_keys:
        found = await session.execute(
            select(Service.key, Service.name).where(
                Service.tenant_id == tenant_id, Service.key.in_(sorted(service_keys))
            )
        )
        for key, name in found:
            if isinstance(name, dict):
                services[str(key)] = {str(k): str(v) for k, v in name.items() if v}
    return staff, services


async def conversation_context(
    session: AsyncSession, *, tenant_id: str, conversation_id: str, now: datetime
) -> DeskContext:
    """Everything the 360° panel shows about a conversation and its customer."""
    conversation = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    info = ConversationInfo(
        id=conversation.id,
        contact_id=conversation.contact_id,
        status=conversation.status,
        owner_type=conversation.owner_type,
        owner_id=conversation.owner_id,
        owner_name=await _owner_name(session, conversation),
        channel=conversation.last_channel,
        language=conversation.language,
        sentiment=conversation.sentiment,
        subject=conversation.subject,
        intake=dict(conversation.intake or {}),
        tags=list(conversation.tags or []),
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
    )

    handoff_row = await latest_handoff(
        session, tenant_id=tenant_id, conversation_id=conversation.id
    )
    handoff = None
    if handoff_row is not None:
        queue_name = None
        if handoff_row.queue_key:
            queue_name = await session.scalar(
                select(Queue.name).where(
                    Queue.tenant_id == tenant_id, Queue.key == handoff_row.queue_key
                )
            )
        handoff = HandoffInfo(
            id=handoff_row.id,
            status=handoff_row.status,
            channel=handoff_row.channel,
            reason=handoff_row.reason,
            urgency=handoff_row.urgency,
            summary=handoff_row.summary,
            intake=dict(handoff_row.intake or {}),
            queue_key=handoff_row.queue_key,
            queue_name=queue_name,
            staff_key=handoff_row.staff_key,
            requested_at=handoff_row.requested_at,
        )

    contact_row = await _contact(session, tenant_id, conversation.contact_id)
    contact = None
    past: list[PastConversation] = []
    appointments: list[AppointmentInfo] = []
    taken: list[TakenMessage] = []
    contact_ids = {conversation.contact_id}
    if contact_row is not None:
        contact_ids.add(contact_row.id)
        contact = ContactInfo(
            id=contact_row.id,
            name=contact_row.name,
            vip=contact_row.vip,
            tags=list(contact_row.tags or []),
            language=contact_row.language,
            value=float(contact_row.value or 0),
            addresses=[AddressInfo(a.kind, a.value, a.label) for a in contact_row.addresses],
            last_contact_at=contact_row.last_contact_at,
        )
    ids = sorted(contact_ids)
    past_rows = await session.scalars(
        select(Conversation)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.contact_id.in_(ids),
            Conversation.id != conversation.id,
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(PAST_CONVERSATIONS)
    )
    past = [
        PastConversation(c.id, c.status, c.last_channel, c.last_message_at, c.subject)
        for c in past_rows
    ]
    appointment_rows = await session.scalars(
        select(Appointment)
        .where(Appointment.tenant_id == tenant_id, Appointment.contact_id.in_(ids))
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        .limit(APPOINTMENTS)
    )
    appointments = [
        AppointmentInfo(
            id=a.id,
            kind=a.kind,
            status=a.status,
            start_at=a.start_at,
            end_at=a.end_at,
            service_key=a.service_key,
            staff_key=a.staff_key,
            notes=a.notes,
        )
        for a in appointment_rows
    ]
    taken_rows = await session.scalars(
        select(StaffMessage)
        .where(
            StaffMessage.tenant_id == tenant_id,
            or_(
                StaffMessage.contact_id.in_(ids),
                StaffMessage.conversation_id == conversation.id,
            ),
        )
        .order_by(StaffMessage.created_at.desc(), StaffMessage.id.desc())
        .limit(MESSAGES_TAKEN)
    )
    taken = [
        TakenMessage(
            id=m.id,
            created_at=m.created_at,
            status=m.status,
            urgency=m.urgency,
            reason=m.reason,
            summary=m.summary,
            recipient_name=m.recipient_name,
        )
        for m in taken_rows
    ]

    staff_keys = {a.staff_key for a in appointments if a.staff_key}
    service_keys = {a.service_key for a in appointments if a.service_key}
    for intake in (info.intake, handoff.intake if handoff else {}):
        if isinstance(intake.get("staff_key"), str):
            staff_keys.add(intake["staff_key"])
        if isinstance(intake.get("service_key"), str):
            service_keys.add(intake["service_key"])
    if handoff is not None and handoff.staff_key:
        staff_keys.add(handoff.staff_key)
    staff_names, service_names = await _names(session, tenant_id, staff_keys, service_keys)

    return DeskContext(
        conversation=info,
        handoff=handoff,
        contact=contact,
        past_conversations=past,
        appointments=appointments,
        messages_taken=taken,
        survey_answers=[],
        whatsapp_window=await _window(session, tenant_id, conversation.id, now),
        staff_names=staff_names,
        service_names=service_names,
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rstrip() + "…"


async def summaries(
    session: AsyncSession, *, tenant_id: str, conversation_ids: list[str]
) -> list[ConversationSummary]:
    """Inbox lines for these conversations, in the order asked; unknown or foreign ids are
    left out (an offer may have ended, or a conversation been merged, meanwhile)."""
    wanted = list(dict.fromkeys(conversation_ids))[:MAX_SUMMARIES]
    if not wanted:
        return []
    rows = await session.scalars(
        select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.id.in_(wanted))
    )
    found = {c.id: c for c in rows}
    out = []
    for conversation_id in wanted:
        conversation = found.get(conversation_id)
        if conversation is None:
            continue
        last = await session.scalar(
            select(Message)
            .where(
                Message.tenant_id == tenant_id,
                Message.conversation_id == conversation.id,
                Message.kind != "event",
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
        last_inbound = await session.scalar(
            select(Message.created_at)
            .where(
                Message.tenant_id == tenant_id,
                Message.conversation_id == conversation.id,
                Message.direction == "inbound",
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        contact = await _contact(session, tenant_id, conversation.contact_id)
        handoff = await latest_handoff(
            session, tenant_id=tenant_id, conversation_id=conversation.id
        )
        out.append(
            ConversationSummary(
                id=conversation.id,
                status=conversation.status,
                channel=conversation.last_channel,
                owner_type=conversation.owner_type,
                owner_id=conversation.owner_id,
                subject=conversation.subject,
                contact_id=conversation.contact_id,
                contact_name=contact.name if contact else None,
                vip=bool(contact.vip) if contact else False,
                last_message_at=conversation.last_message_at,
                last_message=(
                    LastMessage(
                        direction=last.direction,
                        kind=last.kind,
                        author_type=last.author_type,
                        channel=last.channel,
                        body=_snippet(last.body or ""),
                        created_at=last.created_at,
                    )
                    if last is not None
                    else None
                ),
                last_inbound_at=last_inbound,
                urgency=handoff.urgency if handoff else None,
                reason=_snippet(handoff.reason) if handoff and handoff.reason else None,
            )
        )
    return out
