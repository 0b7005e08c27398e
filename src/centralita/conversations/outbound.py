"""Outbound messages and notes, and their delivery status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels.base import SENDER_ADDRESS_KIND, AccountConfig, ChannelKind, DeliveryStatus
from centralita.channels.models import ChannelAccount
from centralita.contacts.models import ContactAddress
from centralita.conversations.events import MessageQueued, MessageStatusChanged
from centralita.conversations.models import Conversation, Message
from centralita.conversations.service import get_conversation
from centralita.core.clock import utcnow
from centralita.core.errors import InvalidInput
from centralita.core.ids import new_id
from centralita.events import outbox


async def add_message(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    body: str,
    kind: str = "text",
    author_type: str = "agent",
    author_id: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """An agent's or the bot's reply (outbound, delivered through the outbox) or a note.

    ``meta`` may ask for ``choices`` (buttons or a list) and a ``template``; delivery reads
    them (``handlers.deliver_outbound``)."""
    conv = await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    now = now or utcnow()
    is_note = kind == "note"
    channel = channel or conv.last_channel
    account_id = None
    interaction_id = None
    if not is_note:
        last_in = await session.scalar(
            select(Message)
            .where(
                Message.tenant_id == tenant_id,
                Message.conversation_id == conv.id,
                Message.direction == "inbound",
                Message.channel == channel,
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        if last_in is None:
            raise InvalidInput.for_field(
                "channel", f"the customer has not written on {channel}: nowhere to reply"
            )
        account_id, interaction_id = last_in.channel_account_id, last_in.interaction_id
    message = Message(
        id=new_id("msg"),
        tenant_id=tenant_id,
        conversation_id=conv.id,
        interaction_id=interaction_id,
        contact_id=conv.contact_id,
        channel=channel,
        channel_account_id=account_id,
        direction="internal" if is_note else "outbound",
        kind=kind,
        author_type=author_type,
        author_id=author_id,
        body=body,
        delivery_status="internal" if is_note else "queued",
        created_at=now,
        meta=dict(meta or {}),
    )
    session.add(message)
    await session.flush()
    if not is_note:
        conv.last_message_at = now
        if author_type == "agent" and conv.owner_type != "agent":
            # a person answered: the receptionist steps back from this conversation
            conv.owner_type, conv.owner_id = "agent", author_id
    outbox.record(
        session,
        MessageQueued(
            tenant_id=tenant_id,
            message_id=message.id,
            conversation_id=conv.id,
            channel=channel,
            direction=message.direction,
            kind=kind,
        ),
    )
    return message


async def start_outbound(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    channel: str,
    body: str,
    account_id: str | None = None,
    conversation_id: str | None = None,
    author_type: str = "system",
    author_id: str | None = None,
    now: datetime | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """A message we start (a campaign, a reminder, a survey on another channel): unlike
    ``add_message`` it needs no earlier inbound message on ``channel``.

    It goes out from ``account_id`` or else the tenant's first enabled account of that channel
    kind, to the contact's address of the channel's kind. It joins ``conversation_id``, or the
    contact's latest conversation with its status left as it is, or else a new conversation
    that starts closed (nobody has to work it; a reply reopens it by the usual threading
    rules). It has no interaction: a proactive message is not a contact the KPIs count."""
    now = now or utcnow()
    try:
        kind = ChannelKind(channel)
    except ValueError:
        raise InvalidInput.for_field("channel", f"unknown channel {channel!r}") from None
    if kind in (ChannelKind.VOICE, ChannelKind.WEBCHAT):
        raise InvalidInput.for_field("channel", f"we cannot start a message on {channel}")
    accounts = select(ChannelAccount).where(
        ChannelAccount.tenant_id == tenant_id,
        ChannelAccount.kind == kind.value,
        ChannelAccount.enabled.is_(True),
    )
    if account_id is not None:
        accounts = accounts.where(ChannelAccount.id == account_id)
    account = await session.scalar(accounts.order_by(ChannelAccount.created_at).limit(1))
    if account is None:
        raise InvalidInput.for_field("channel", f"this business has no enabled {channel} account")
    address_kind = SENDER_ADDRESS_KIND[kind]
    address = await session.scalar(
        select(ContactAddress.value).where(
            ContactAddress.tenant_id == tenant_id,
            ContactAddress.contact_id == contact_id,
            ContactAddress.kind == address_kind,
        )
    )
    if address is None:
        raise InvalidInput.for_field("contact", f"the contact has no {address_kind} address")
    conv: Conversation | None
    if conversation_id is not None:
        conv = await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
        if conv.contact_id != contact_id:
            raise InvalidInput.for_field("conversation", "the conversation is another contact's")
    else:
        conv = await session.scalar(
            select(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.contact_id == contact_id)
            .order_by(Conversation.last_message_at.desc())
            .limit(1)
        )
        if conv is None:
            conv = Conversation(
                id=new_id("cv"),
                tenant_id=tenant_id,
                contact_id=contact_id,
                status="closed",
                closed_at=now,
                owner_type="bot",
                last_channel=channel,
                last_message_at=now,
                intake={},
                tags=[],
            )
            session.add(conv)
            await session.flush()
    message = Message(
        id=new_id("msg"),
        tenant_id=tenant_id,
        conversation_id=conv.id,
        interaction_id=None,
        contact_id=contact_id,
        channel=channel,
        channel_account_id=account.id,
        direction="outbound",
        kind="text",
        author_type=author_type,
        author_id=author_id,
        body=body,
        delivery_status="queued",
        created_at=now,
        meta=dict(meta or {}),
    )
    session.add(message)
    await session.flush()
    outbox.record(
        session,
        MessageQueued(
            tenant_id=tenant_id,
            message_id=message.id,
            conversation_id=conv.id,
            channel=channel,
            direction="outbound",
            kind="text",
        ),
    )
    return message


async def set_delivery_status(
    session: AsyncSession,
    *,
    message: Message,
    status: str,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> None:
    if provider_message_id:
        message.provider_message_id = provider_message_id
    if message.delivery_status == status and error is None:
        return
    message.delivery_status = status
    message.delivery_error = error
    outbox.record(
        session,
        MessageStatusChanged(
            tenant_id=message.tenant_id,
            message_id=message.id,
            status=status,
            error=error,
            conversation_id=message.conversation_id,
        ),
    )


async def record_delivery_status(
    session: AsyncSession, *, account: AccountConfig, status: DeliveryStatus
) -> None:
    """A provider status callback; unknown ids are ignored (they may predate us). Callbacks
    arrive out of order ("sent" after "delivered"): a status never moves back, and "failed"
    does not undo a delivery."""
    message = await session.scalar(
        select(Message).where(
            Message.tenant_id == account.tenant_id,
            Message.channel_account_id == account.id,
            Message.provider_message_id == status.provider_message_id,
        )
    )
    if message is None:
        return
    new, current = status.status, message.delivery_status or ""
    if new == "failed":
        if _PROGRESS.get(current, 0) >= _PROGRESS["delivered"]:
            return  # the handset has it; a late failure report changes nothing
    elif current == "failed":
        if _PROGRESS.get(new, 0) < _PROGRESS["delivered"]:
            return  # a late "sent" does not undo a failure; "delivered" does
    elif _PROGRESS.get(new, 0) < _PROGRESS.get(current, 0):
        return
    await set_delivery_status(session, message=message, status=status.status, error=status.error)


# How far a message has gone; a later callback may only move it forward.
_PROGRESS = {"queued": 1, "sent": 2, "delivered": 3, "read": 4}
