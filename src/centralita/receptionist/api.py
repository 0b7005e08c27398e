"""Hand-offs waiting for people, and what the receptionist understood of a conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from centralita.access.principal import Principal
from centralita.api.deps import ContainerDep, CurrentPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.conversations.deps import Scope, check_visible, visible_ids
from centralita.conversations.visibility import AgentScope
from centralita.core.errors import NotFound
from centralita.receptionist import service as receptionist_service
from centralita.receptionist.models import Handoff

router = APIRouter(tags=["receptionist"])


class HandoffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    contact_id: str | None
    queue_key: str | None
    staff_key: str | None
    channel: str
    reason: str
    urgency: str
    summary: str
    intake: dict[str, Any]
    status: str
    taken_by: str | None
    taken_at: datetime | None
    requested_at: datetime


class DialogueRead(BaseModel):
    conversation_id: str
    state: dict[str, Any]
    last_turn_at: datetime | None


@router.get("/handoffs", summary="Conversations the receptionist passed to people")
async def list_handoffs(
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
    page: Paging,
    status: Annotated[Literal["waiting", "taken", "closed"] | None, Query()] = None,
    queue_key: Annotated[str | None, Query(max_length=63)] = None,
) -> Page[HandoffRead]:
    result = await receptionist_service.list_handoffs(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        status=status,
        queue_key=queue_key,
        only=visible_ids(principal.tenant_id, scope),
    )
    return Page(
        items=[HandoffRead.model_validate(h) for h in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/handoffs/{handoff_id}", responses={404: {}})
async def get_handoff(
    handoff_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> HandoffRead:
    handoff = await _visible_handoff(db, principal, scope, handoff_id)
    return HandoffRead.model_validate(handoff)


async def _visible_handoff(
    db: DbSession, principal: Principal, scope: AgentScope | None, handoff_id: str
) -> Handoff:
    """The hand-off if its conversation is in the caller's scope; 404 otherwise."""
    handoff = await receptionist_service.get_handoff(
        db, tenant_id=principal.tenant_id, handoff_id=handoff_id
    )
    try:
        await check_visible(
            db, tenant_id=principal.tenant_id, conversation_id=handoff.conversation_id, scope=scope
        )
    except NotFound:
        raise NotFound(f"handoff {handoff_id} not found") from None
    return handoff


@router.post("/handoffs/{handoff_id}/take", responses={404: {}, 409: {}})
async def take_handoff(
    handoff_id: str,
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
    container: ContainerDep,
) -> HandoffRead:
    handoff = await _visible_handoff(db, principal, scope, handoff_id)
    state = await container.routing.read(db, principal.tenant_id)
    if handoff.conversation_id in state.items:
        # The ACD routes it: taking it is picking it there, so nobody else is offered it.
        from centralita.routing import desk

        staff = await desk.agent_of(db, principal)
        await desk.pick(db, container, principal.tenant_id, staff.id, handoff.conversation_id)
        await db.refresh(handoff)
        return HandoffRead.model_validate(handoff)
    handoff = await receptionist_service.take_handoff(
        db,
        tenant_id=principal.tenant_id,
        handoff_id=handoff_id,
        agent_id=principal.user_id or principal.api_key_id or "unknown",
    )
    return HandoffRead.model_validate(handoff)


@router.get("/conversations/{conversation_id}/dialogue", responses={404: {}})
async def get_dialogue(
    conversation_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> DialogueRead:
    await check_visible(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id, scope=scope
    )
    record = await receptionist_service.dialogue_for(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )
    return DialogueRead(
        conversation_id=conversation_id,
        state=record.state if record else {},
        last_turn_at=record.last_turn_at if record else None,
    )
