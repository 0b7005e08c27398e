"""The caller's conversation scope (``access.agents_see``) as a FastAPI dependency, shared
by every route that shows or changes something of a conversation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.api.deps import CurrentPrincipal, DbSession
from centralita.conversations import scoping
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation
from centralita.conversations.visibility import AgentScope


async def _scope(db: DbSession, principal: CurrentPrincipal) -> AgentScope | None:
    return await scoping.agent_scope(
        db, tenant_id=principal.tenant_id, role=principal.role.value, user_id=principal.user_id
    )


# None: the caller sees every conversation of the tenant.
Scope = Annotated[AgentScope | None, Depends(_scope)]


async def check_visible(
    db: AsyncSession, *, tenant_id: str, conversation_id: str, scope: AgentScope | None
) -> None:
    """404 for a conversation outside the caller's scope, as for one that does not exist."""
    if scope is None:
        return
    conv = await conversations_service.get_conversation(
        db, tenant_id=tenant_id, conversation_id=conversation_id
    )
    scoping.check(conv, scope)


def visible_ids(tenant_id: str, scope: AgentScope | None) -> Select[Any] | None:
    """The ids of the conversations the caller sees, for a list's filter; None: all."""
    if scope is None:
        return None
    ids = select(Conversation.id).where(Conversation.tenant_id == tenant_id)
    return scoping.restrict(ids, scope)
