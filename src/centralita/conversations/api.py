"""Conversation, message and interaction endpoints."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access.principal import Principal
from centralita.api.deps import ContainerDep, CurrentPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.audit import service as audit_service
from centralita.channels import service as channels_service
from centralita.conversations import media as conversations_media
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import scoping
from centralita.conversations import service as conversations_service
from centralita.conversations import timeline as conversations_timeline
from centralita.conversations.deps import Scope
from centralita.conversations.models import Conversation
from centralita.conversations.schemas import (
    ConversationRead,
    ConversationUpdate,
    InteractionRead,
    MessageCreate,
    MessageRead,
    WhatsAppWindowRead,
)
from centralita.conversations.visibility import AgentScope
from centralita.core.errors import NotFound

router = APIRouter(tags=["conversations"])


async def _visible(
    db: AsyncSession,
    principal: Principal,
    scope: AgentScope | None,
    conversation_id: str,
    *,
    read: str | None = None,
) -> Conversation:
    """The conversation if this caller may see it (404 otherwise); ``read`` audits the view."""
    conv = await conversations_service.get_conversation(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )
    scoping.check(conv, scope)
    if read is not None:
        await audit_service.record_read(
            db,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            object_type="conversation",
            object_id=conv.id,
            data={"view": read, "contact_id": conv.contact_id},
        )
    return conv


@router.get("/conversations", summary="List conversations, newest first")
async def list_conversations(
    db: DbSession,
    principal: CurrentPrincipal,
    page: Paging,
    scope: Scope,
    status: Annotated[Literal["open", "pending", "closed"] | None, Query()] = None,
    contact_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ConversationRead]:
    result = await conversations_service.list_conversations(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        status=status,
        contact_id=contact_id,
        scope=scope,
    )
    return Page(
        items=[ConversationRead.model_validate(c) for c in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/conversations/{conversation_id}", responses={404: {}})
async def get_conversation(
    conversation_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ConversationRead:
    conv = await _visible(db, principal, scope, conversation_id, read="detail")
    return ConversationRead.model_validate(conv)


@router.patch("/conversations/{conversation_id}", responses={404: {}, 422: {}})
async def update_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
) -> ConversationRead:
    await _visible(db, principal, scope, conversation_id)
    conv = await conversations_service.update_conversation(
        db,
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        **body.model_dump(exclude_unset=True),
    )
    return ConversationRead.model_validate(conv)


@router.get(
    "/conversations/{conversation_id}/whatsapp-window",
    summary="Whether free text may be sent on WhatsApp now (the 24-hour window)",
    responses={404: {}},
)
async def whatsapp_window(
    conversation_id: str,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
    scope: Scope,
) -> WhatsAppWindowRead:
    await _visible(db, principal, scope, conversation_id)
    state = await conversations_service.whatsapp_window(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id, now=container.clock()
    )
    reengagement = None
    if state.channel_account_id:
        account = await channels_service.get_account(
            db, tenant_id=principal.tenant_id, account_id=state.channel_account_id
        )
        configured = (account.settings or {}).get("reengagement_template")
        reengagement = configured.get("name") if isinstance(configured, dict) else None
    return WhatsAppWindowRead(
        channel_account_id=state.channel_account_id,
        last_inbound_at=state.last_inbound_at,
        closes_at=state.closes_at,
        open=state.open,
        may_send=["text", "choices", "template"] if state.open else ["template"],
        reengagement_template=reengagement,
    )


@router.get("/conversations/{conversation_id}/messages", responses={404: {}})
async def list_messages(
    conversation_id: str, db: DbSession, principal: CurrentPrincipal, page: Paging, scope: Scope
) -> Page[MessageRead]:
    await _visible(db, principal, scope, conversation_id, read="messages")
    result = await conversations_service.list_messages(
        db,
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return Page(
        items=[MessageRead.model_validate(m) for m in result.items], next_cursor=result.next_cursor
    )


@router.post(
    "/conversations/{conversation_id}/messages", status_code=201, responses={404: {}, 422: {}}
)
async def create_message(
    conversation_id: str,
    body: MessageCreate,
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
) -> MessageRead:
    await _visible(db, principal, scope, conversation_id)
    message = await conversations_outbound.add_message(
        db,
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        body=body.body,
        kind=body.kind,
        channel=body.channel,
        author_type="agent",
        author_id=principal.user_id or principal.api_key_id,
        meta=body.extras(),
    )
    return MessageRead.model_validate(message)


@router.get("/conversations/{conversation_id}/interactions", responses={404: {}})
async def list_conversation_interactions(
    conversation_id: str, db: DbSession, principal: CurrentPrincipal, page: Paging, scope: Scope
) -> Page[InteractionRead]:
    await _visible(db, principal, scope, conversation_id)
    result = await conversations_service.list_interactions(
        db,
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return Page(
        items=[InteractionRead.model_validate(i) for i in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/messages/{message_id}", responses={404: {}})
async def get_message(
    message_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> MessageRead:
    message = await conversations_service.get_message(
        db, tenant_id=principal.tenant_id, message_id=message_id
    )
    try:
        await _visible(db, principal, scope, message.conversation_id, read="message")
    except NotFound as exc:
        raise NotFound(f"message {message_id} not found") from exc
    return MessageRead.model_validate(message)


@router.get(
    "/messages/{message_id}/files/{key}",
    summary="Download a file the message references (fetched media, an attachment)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {}},
)
async def get_message_file(
    message_id: str, key: str, db: DbSession, principal: CurrentPrincipal, container: ContainerDep
) -> Response:
    found = await conversations_media.stored_file(
        db, blobs=container.blobs, tenant_id=principal.tenant_id, message_id=message_id, key=key
    )
    disposition = "attachment"
    if found.filename:
        disposition += f"; filename*=UTF-8''{quote(found.filename, safe='')}"
    return Response(
        found.data,
        media_type=found.content_type,
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/interactions", summary="List interactions (the KPI source records)")
async def list_interactions(
    db: DbSession, principal: CurrentPrincipal, page: Paging
) -> Page[InteractionRead]:
    result = await conversations_service.list_interactions(
        db, tenant_id=principal.tenant_id, limit=page.limit, cursor=page.cursor
    )
    return Page(
        items=[InteractionRead.model_validate(i) for i in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/interactions/{interaction_id}", responses={404: {}})
async def get_interaction(
    interaction_id: str, db: DbSession, principal: CurrentPrincipal
) -> InteractionRead:
    row = await conversations_service.get_interaction(
        db, tenant_id=principal.tenant_id, interaction_id=interaction_id
    )
    return InteractionRead.model_validate(row)


@router.get(
    "/contacts/{contact_id}/timeline",
    summary="Every message of a contact on every channel, newest first",
    responses={404: {}},
)
async def contact_timeline(
    contact_id: str, db: DbSession, principal: CurrentPrincipal, page: Paging, scope: Scope
) -> Page[MessageRead]:
    result = await conversations_timeline.contact_timeline(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        limit=page.limit,
        cursor=page.cursor,
        scope=scope,
    )
    await audit_service.record_read(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        object_type="contact",
        object_id=contact_id[:40],
        data={"view": "timeline"},
    )
    return Page(
        items=[MessageRead.model_validate(m) for m in result.items], next_cursor=result.next_cursor
    )
