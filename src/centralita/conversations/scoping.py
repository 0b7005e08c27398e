"""The shell around ``visibility.py``: an agent's scope from the database, applied to queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.models import Conversation
from centralita.conversations.visibility import AgentScope, member_of, restricted
from centralita.core.errors import NotFound
from centralita.tenants.models import Queue, StaffMember, Tenant


async def agent_scope(
    session: AsyncSession, *, tenant_id: str, role: str, user_id: str | None
) -> AgentScope | None:
    """None: this caller sees every conversation of the tenant."""
    if role != "agent":
        return None
    config = await session.scalar(select(Tenant.config).where(Tenant.id == tenant_id))
    agents_see = ((config or {}).get("access") or {}).get("agents_see", "all")
    if not restricted(role=role, agents_see=agents_see):
        return None
    if user_id is None:  # an agent-role API key is nobody in particular: it sees nothing
        return AgentScope(frozenset(), frozenset())
    staff = await session.scalar(
        select(StaffMember).where(
            StaffMember.tenant_id == tenant_id, StaffMember.user_id == user_id
        )
    )
    if staff is None:
        return AgentScope(frozenset({user_id}), frozenset())
    queues = (await session.scalars(select(Queue).where(Queue.tenant_id == tenant_id))).all()
    members = frozenset(
        q.id for q in queues if member_of(staff.skills or {}, q.skills or [], q.min_proficiency)
    )
    return AgentScope(frozenset({user_id, staff.id}), members)


def restrict(stmt: Select[Any], scope: AgentScope | None) -> Select[Any]:
    """Only the conversations ``scope`` sees (a query over ``Conversation``)."""
    if scope is None:
        return stmt
    clauses = []
    if scope.owner_ids:
        clauses.append(
            and_(Conversation.owner_type == "agent", Conversation.owner_id.in_(scope.owner_ids))
        )
    if scope.queue_ids:
        clauses.append(
            and_(Conversation.owner_type == "queue", Conversation.owner_id.in_(scope.queue_ids))
        )
    return stmt.where(or_(*clauses) if clauses else false())


def check(conversation: Conversation, scope: AgentScope | None) -> None:
    """A conversation outside the agent's scope does not exist for them (404, not 403)."""
    if scope is not None and not scope.sees(conversation.owner_type, conversation.owner_id):
        raise NotFound(f"conversation {conversation.id} not found")


def visible_contacts(tenant_id: str, scope: AgentScope) -> Select[Any]:
    """The ids of the contacts an agent may see: those with a conversation they see."""
    return restrict(
        select(Conversation.contact_id).where(Conversation.tenant_id == tenant_id), scope
    )


async def check_contact(
    session: AsyncSession, *, tenant_id: str, contact_id: str, scope: AgentScope | None
) -> None:
    """A contact without a conversation the agent sees does not exist for them (404)."""
    if scope is None:
        return
    seen = await session.scalar(
        visible_contacts(tenant_id, scope).where(Conversation.contact_id == contact_id).limit(1)
    )
    if seen is None:
        raise NotFound(f"contact {contact_id} not found")
