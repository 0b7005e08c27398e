"""A contact's whole timeline: every message on every channel, across their conversations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts import service as contacts_service
from centralita.conversations import scoping
from centralita.conversations.models import Conversation, Message
from centralita.conversations.visibility import AgentScope
from centralita.db.paging import Slice, paginate


async def contact_timeline(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    limit: int,
    cursor: str | None,
    scope: AgentScope | None = None,
) -> Slice[Message]:
    """Newest first. A merged contact's timeline is the surviving contact's (merges move the
    messages), so asking for the old id answers with where it went."""
    contact = await contacts_service.get_contact(
        session, tenant_id=tenant_id, contact_id=contact_id
    )
    owner = contact.merged_into_id or contact.id
    stmt = select(Message).where(Message.tenant_id == tenant_id, Message.contact_id == owner)
    if scope is not None:  # a restricted agent: only the conversations they may see
        visible = scoping.restrict(
            select(Conversation.id).where(Conversation.tenant_id == tenant_id), scope
        )
        stmt = stmt.where(Message.conversation_id.in_(visible))
    return await paginate(session, stmt, Message.id, limit=limit, cursor=cursor)
