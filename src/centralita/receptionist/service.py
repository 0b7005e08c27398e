"""Hand-offs and the dialogue record, as agents and the API see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations import service as conversations_service
from centralita.core.clock import utcnow
from centralita.core.errors import Conflict
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.receptionist.events import HandoffTaken
from centralita.receptionist.models import DialogueRecord, Handoff


async def list_handoffs(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    queue_key: str | None = None,
    only: Select[Any] | None = None,
) -> Slice[Handoff]:
    """``only``: a query of the conversation ids the caller may see (``agents_see``)."""
    stmt = select(Handoff).where(Handoff.tenant_id == tenant_id)
    if only is not None:
        stmt = stmt.where(Handoff.conversation_id.in_(only))
    if status:
        stmt = stmt.where(Handoff.status == status)
    if queue_key:
        stmt = stmt.where(Handoff.queue_key == queue_key)
    return await paginate(session, stmt, Handoff.id, limit=limit, cursor=cursor)


async def get_handoff(session: AsyncSession, *, tenant_id: str, handoff_id: str) -> Handoff:
    return await get_scoped(session, Handoff, tenant_id=tenant_id, id=handoff_id, label="handoff")


async def take_handoff(
    session: AsyncSession,
    *,
    tenant_id: str,
    handoff_id: str,
    agent_id: str,
    now: datetime | None = None,
) -> Handoff:
    """An agent takes a waiting hand-off: the conversation becomes theirs."""
    now = now or utcnow()
    handoff = await get_handoff(session, tenant_id=tenant_id, handoff_id=handoff_id)
    if handoff.status != "waiting":
        if handoff.taken_by == agent_id:
            return handoff
        raise Conflict(f"this hand-off is already {handoff.status}")
    conv = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=handoff.conversation_id
    )
    handoff.status, handoff.taken_by, handoff.taken_at = "taken", agent_id, now
    conv.owner_type, conv.owner_id = "agent", agent_id
    outbox.record(
        session,
        HandoffTaken(
            tenant_id=tenant_id,
            handoff_id=handoff.id,
            conversation_id=conv.id,
            taken_by=agent_id,
        ),
    )
    return handoff


async def dialogue_for(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> DialogueRecord | None:
    await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    return await session.scalar(
        select(DialogueRecord).where(
            DialogueRecord.tenant_id == tenant_id,
            DialogueRecord.conversation_id == conversation_id,
        )
    )
