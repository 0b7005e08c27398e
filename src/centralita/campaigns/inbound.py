"""Claiming an inbound opt-out (or opt-in) keyword before the receptionist sees the message.

A whole-message keyword (``campaigns.keywords``: the built-ins plus the tenant's
``outreach.opt_out_keywords``) is recorded in the ledger at once, for every channel ("all"):
somebody who writes STOP by SMS does not want our WhatsApp campaign either. The contact's
``marketing`` consent is cleared (set again by an opt-in keyword), and one confirmation goes
back on the same channel in the contact's language. A redelivered message is recognised by
its id and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns import keywords, optouts
from centralita.contacts import service as contacts_service
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations.models import Conversation, Message
from centralita.tenants.config.schema import OutreachConfig
from centralita.tenants.models import Tenant


async def claim_opt_out(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    now: datetime,
) -> bool:
    """True when ``message`` was an opt-out (or opt-in) keyword and was handled here."""
    if message.direction != "inbound" or not message.body or message.channel == "voice":
        return False
    config = OutreachConfig.model_validate((tenant.config or {}).get("outreach") or {})
    found = keywords.classify(message.body, extra_opt_out=config.opt_out_keywords)
    if found is None:
        return False
    if await optouts.seen_message(session, tenant_id=tenant.id, message_id=message.id):
        return True
    action, word = found
    await optouts.record(
        session,
        tenant_id=tenant.id,
        contact_id=message.contact_id,
        action=action,
        channel="all",
        source="keyword",
        keyword=word,
        message_id=message.id,
        actor=f"contact:{message.contact_id}",
        now=now,
    )
    contact = await contacts_service.get_contact(
        session, tenant_id=tenant.id, contact_id=message.contact_id
    )
    await conversations_outbound.add_message(
        session,
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        body=keywords.confirmation(action, contact.language or tenant.locale),
        author_type="system",
        channel=message.channel,
        now=now,
        meta={"opt_keyword": action},
    )
    return True
