"""Event handlers of the conversations domain: outbound delivery through the adapters."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels import service as channels_service
from centralita.channels.base import (
    SENDER_ADDRESS_KIND,
    Address,
    Capabilities,
    ChannelKind,
    Choice,
    OutboundMessage,
    SendResult,
    SentLookup,
    TemplateRef,
    text_with_choices,
)
from centralita.channels.ratelimit import rate_for
from centralita.contacts import service as contacts_service
from centralita.contacts.models import ContactAddress
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Message
from centralita.core.clock import as_utc
from centralita.events.envelope import Envelope

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

# A message the provider keeps refusing for now (5xx, timeouts) becomes "failed" after this
# many tries, with the last error: with the relay's backoff that is about four minutes.
MAX_DELIVERY_ATTEMPTS = 8


async def deliver_outbound(container: Container, envelope: Envelope) -> None:
    """Send one queued outbound message once, even across crashes.

    Three steps. (1) Under the row's lock, take a *send lease*: ``meta["send_attempt"]``,
    committed, so every other worker knows an attempt is under way. (2) Call the provider,
    holding no lock. (3) Under the lock again, record the result and drop the lease. A worker
    killed between the provider's answer and step 3 leaves a lease behind: until it expires a
    redelivered event raises ``SendInProgress`` (the relay tries again later); after it, the
    retry first asks the provider what it already took (``SentLookup``) and sends only when
    nothing matches. Providers that cannot be asked get the message again: at least once.
    Where the provider is asked, a message does not take a lease while another one to the
    same recipient holds one (``_claim_recipient``), so the answer cannot be a twin's.
    """
    if envelope.payload.get("direction") != "outbound":
        return
    await _pace(container, envelope)
    lease = timedelta(seconds=container.settings.send_lease_seconds)
    async with container.sessions() as session, session.begin():
        message = await _locked(session, envelope)
        if message is None or message.delivery_status != "queued":
            return
        account = await channels_service.get_account(
            session, tenant_id=message.tenant_id, account_id=message.channel_account_id or ""
        )
        adapter = container.adapters.get(account.provider)
        kind = SENDER_ADDRESS_KIND[ChannelKind(message.channel)]
        to = await session.scalar(
            select(ContactAddress.value).where(
                ContactAddress.tenant_id == message.tenant_id,
                ContactAddress.contact_id == message.contact_id,
                ContactAddress.kind == kind,
            )
        )
        if adapter is None or to is None:
            message.meta = _without_lease(message.meta)
            await conversations_outbound.set_delivery_status(
                session,
                message=message,
                status="failed",
                error="no adapter" if adapter is None else f"contact has no {kind} address",
            )
            return
        metadata: dict[str, object] = {}
        if message.channel == ChannelKind.EMAIL:
            # threading headers: the reply answers the thread's latest mail from the customer
            metadata = await conversations_service.email_reply_headers(session, message=message)
            to = str(metadata.pop("reply_to", None) or to)
        if message.channel == ChannelKind.WHATSAPP:
            # the customer-service window: the adapter refuses free text outside it
            last = await conversations_service.last_inbound(
                session,
                tenant_id=message.tenant_id,
                contact_id=message.contact_id,
                channel=message.channel,
                channel_account_id=message.channel_account_id,
            )
            metadata = {"now": container.clock(), "last_inbound_at": last[1] if last else None}
            # for the re-engagement template's parameters, when the window has closed
            contact = await contacts_service.get_contact(
                session, tenant_id=message.tenant_id, contact_id=message.contact_id
            )
            metadata["contact_name"] = contact.name
        outbound = _outbound_message(message, Address(kind, to), metadata, adapter.capabilities)
        config = channels_service.to_config(account)
        now = as_utc(container.clock())
        previous = (message.meta or {}).get("send_attempt")
        if isinstance(previous, dict):
            if now < datetime.fromisoformat(str(previous["until"])):
                raise SendInProgress(f"{message.id} is being sent until {previous['until']}")
            if isinstance(adapter, SentLookup):
                since = datetime.fromisoformat(str(previous["at"]))
                try:
                    found = await adapter.find_sent(outbound, config, since=since)
                except Exception as exc:  # cannot tell now: ask again on the next try
                    raise SendInProgress(f"asking the provider failed: {exc}") from exc
                taken = set(
                    await session.scalars(
                        select(Message.provider_message_id).where(
                            Message.tenant_id == message.tenant_id,
                            Message.provider_message_id.in_(found),
                        )
                    )
                )
                # Since ``since`` no other message to this contact had an attempt unresolved
                # (``_claim_recipient``): an unrecorded sid is this message's own. Take the
                # oldest (``found`` is newest first); a later one would be a second copy.
                fresh = [sid for sid in found if sid not in taken]
                if fresh:  # it went out before the crash: record it, do not send it again
                    message.meta = _without_lease(message.meta)
                    await conversations_outbound.set_delivery_status(
                        session, message=message, status="sent", provider_message_id=fresh[-1]
                    )
                    return
            # nothing went out: it renews the lease it holds, still the recipient's only one
        elif isinstance(adapter, SentLookup):
            await _claim_recipient(session, message)
        message.meta = {
            **(message.meta or {}),
            "send_attempt": {"at": now.isoformat(), "until": (now + lease).isoformat()},
        }
    # the lease is committed: other workers leave this message alone while we send
    try:
        result: SendResult | None = await adapter.send(outbound, config)
        failure: Exception | None = None
    except Exception as exc:  # the provider could not take it now: count, then retry
        result, failure = None, exc
    async with container.sessions() as session, session.begin():
        message = await _locked(session, envelope)
        if message is None or message.delivery_status != "queued":
            return
        if result is not None:
            meta = _without_lease(message.meta)
            if result.details:  # e.g. the re-engagement template went out instead of the text
                meta = {**meta, **result.details}
            message.meta = meta
            await conversations_outbound.set_delivery_status(
                session,
                message=message,
                status=result.status,
                provider_message_id=result.provider_message_id or None,
                error=result.error,
            )
            return
        assert failure is not None
        attempts = int((message.meta or {}).get("delivery_attempts", 0)) + 1
        reason = f"{type(failure).__name__}: {failure}"[:500]
        # A timeout may still have reached the provider: keep the attempt's start, with the
        # lease already over, so the next try asks the provider before sending again.
        attempt = {"at": now.isoformat(), "until": now.isoformat()}
        message.meta = {
            **(message.meta or {}),
            "delivery_attempts": attempts,
            "last_delivery_error": reason,
            "send_attempt": attempt,
        }
        if attempts >= MAX_DELIVERY_ATTEMPTS:
            message.meta = _without_lease(message.meta)
            await conversations_outbound.set_delivery_status(
                session,
                message=message,
                status="failed",
                error=f"gave up after {attempts} attempts; last error: {reason}",
            )
            return
    # committed the attempt count; raising makes the outbox relay try again after its backoff
    raise failure


class SendInProgress(Exception):
    """Another attempt holds the message's send lease, or the provider cannot say yet whether
    it took the message: the relay tries the event again after its backoff."""


async def _locked(session: AsyncSession, envelope: Envelope) -> Message | None:
    return await session.scalar(
        select(Message)
        .where(
            Message.tenant_id == envelope.tenant_id,
            Message.id == envelope.payload["message_id"],
        )
        .with_for_update()
    )


async def _claim_recipient(session: AsyncSession, message: Message) -> None:
    """Refuse a new send attempt while another queued message to the same contact, through
    the same account, has one unresolved (its lease live, or over and not yet looked up).

    ``SentLookup`` matches by number and text, not by message: with two attempts to one
    number in flight, twin replies (the same canned text) could each take the other's sid,
    and one reply would go out twice and the other never. One unresolved attempt per
    recipient makes every unrecorded sid since an attempt began that attempt's own.

    The check and the lease it guards commit together; two workers must not both pass it.
    PostgreSQL: a transaction-scoped advisory lock per recipient, taken after the message's
    row lock; its holder waits on no row, so no deadlock. SQLite: ``BEGIN IMMEDIATE``
    already admits one writer at a time (``db.engine``).
    """
    if session.get_bind().dialect.name == "postgresql":
        key = _recipient_lock_id(
            message.tenant_id, message.channel_account_id or "", message.contact_id
        )
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": key})
    # Columns, not rows: a row already in the session would keep its stale ``meta``.
    others = await session.execute(
        select(Message.id, Message.meta).where(
            Message.tenant_id == message.tenant_id,
            Message.channel_account_id == message.channel_account_id,
            Message.contact_id == message.contact_id,
            Message.direction == "outbound",
            Message.delivery_status == "queued",  # sent and failed ones have resolved
            Message.id != message.id,
        )
    )
    for other_id, meta in others:
        attempt = (meta or {}).get("send_attempt")
        if isinstance(attempt, dict):
            raise SendInProgress(
                f"{message.id} waits: {other_id} to the same contact is being sent "
                f"(attempt started {attempt.get('at')})"
            )


def _recipient_lock_id(tenant_id: str, account_id: str, contact_id: str) -> int:
    digest = hashlib.sha256(f"send:{tenant_id}:{account_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _without_lease(meta: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (meta or {}).items() if k != "send_attempt"}


async def _pace(container: Container, envelope: Envelope) -> None:
    """Wait for the account's sending budget (``channels.ratelimit``) before the send's
    transaction begins, so that no row lock or SQLite write lock is held while waiting."""
    async with container.sessions() as session:
        row = (
            await session.execute(
                select(Message.delivery_status, Message.channel_account_id).where(
                    Message.tenant_id == envelope.tenant_id,
                    Message.id == envelope.payload["message_id"],
                )
            )
        ).first()
        if row is None or row[0] != "queued" or not row[1]:
            return
        account = await channels_service.get_account(
            session, tenant_id=envelope.tenant_id, account_id=row[1]
        )
    adapter = container.adapters.get(account.provider)
    rate = rate_for(account.settings or {}, adapter.capabilities) if adapter else None
    if rate is not None:
        await container.rate_limits.acquire(account.id, rate)


def _outbound_message(
    message: Message, to: Address, metadata: dict[str, object], capabilities: Capabilities
) -> OutboundMessage:
    """The stored message as the adapter sees it: choices and a template from its metadata
    (``outbound.add_message``); on a channel without buttons the choices become numbered
    lines, and without templates the message's own text goes out."""
    meta = message.meta or {}
    choices = tuple(
        Choice(str(c["id"]), str(c["title"]), c.get("description") or None)
        for c in meta.get("choices") or ()
        if isinstance(c, dict) and c.get("id") and c.get("title")
    )
    raw = meta.get("template")
    template = (
        TemplateRef(str(raw["name"]), str(raw.get("language") or ""),
                    tuple(str(p) for p in raw.get("parameters") or ()))
        if isinstance(raw, dict) and raw.get("name") and capabilities.templates
        else None
    )  # fmt: skip
    text = message.body
    if choices and not capabilities.buttons:
        text, choices = text_with_choices(text, choices), ()
    return OutboundMessage(
        message_id=message.id,
        to=to,
        text=text,
        metadata=metadata,
        choices=choices,
        template=template,
    )
