"""Event handlers of the conversations domain: outbound delivery through the adapters."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from centralita.channels import service as channels_service
from centralita.channels.base import SENDER_ADDRESS_KIND, Address, ChannelKind, OutboundMessage
from centralita.contacts.models import ContactAddress
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Message
from centralita.events.envelope import Envelope

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

# A message the provider keeps refusing for now (5xx, timeouts) becomes "failed" after this
# many tries, with the last error: with the relay's backoff that is about four minutes.
MAX_DELIVERY_ATTEMPTS = 8


async def deliver_outbound(container: Container, envelope: Envelope) -> None:
    """Send one queued outbound message once; a redelivered event finds it already sent."""
    if envelope.payload.get("direction") != "outbound":
        return
    async with container.sessions() as session, session.begin():
        message = await session.scalar(
            select(Message)
            .where(
                Message.tenant_id == envelope.tenant_id,
                Message.id == envelope.payload["message_id"],
            )
            .with_for_update()
        )
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
            await conversations_outbound.set_delivery_status(
                session,
                message=message,
                status="failed",
                error="no adapter" if adapter is None else f"contact has no {kind} address",
            )
            return
        metadata: dict[str, object] = {}
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
        try:
            result = await adapter.send(
                OutboundMessage(
                    message_id=message.id,
                    to=Address(kind, to),
                    text=message.body,
                    metadata=metadata,
                ),
                channels_service.to_config(account),
            )
        except Exception as exc:  # the provider could not take it now: count, then retry
            attempts = int((message.meta or {}).get("delivery_attempts", 0)) + 1
            reason = f"{type(exc).__name__}: {exc}"[:500]
            message.meta = {
                **(message.meta or {}),
                "delivery_attempts": attempts,
                "last_delivery_error": reason,
            }
            if attempts >= MAX_DELIVERY_ATTEMPTS:
                await conversations_outbound.set_delivery_status(
                    session,
                    message=message,
                    status="failed",
                    error=f"gave up after {attempts} attempts; last error: {reason}",
                )
                return
            retry = exc
        else:
            await conversations_outbound.set_delivery_status(
                session,
                message=message,
                status=result.status,
                provider_message_id=result.provider_message_id or None,
                error=result.error,
            )
            return
    # committed the attempt count; raising makes the outbox relay try again after its backoff
    raise retry
