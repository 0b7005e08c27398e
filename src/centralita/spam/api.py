"""Spam endpoints: an agent marks a conversation, anyone reads its verdict and the feedback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import CurrentPrincipal, DbSession, Paging, require
from centralita.api.pagination import Page
from centralita.conversations.deps import Scope, check_visible, visible_ids
from centralita.core.clock import utcnow
from centralita.spam import service as spam_service
from centralita.spam.schemas import SpamFeedbackRead, SpamMark, SpamVerdictRead

router = APIRouter(tags=["spam"])

# Every role may mark: agents are the ones who see the conversations.
AgentPrincipal = Annotated[Principal, require(Role.AGENT)]


@router.post(
    "/conversations/{conversation_id}/spam",
    status_code=201,
    summary="Mark a conversation as spam or not spam (the sender is remembered)",
    responses={404: {}, 422: {}},
)
async def mark_conversation(
    conversation_id: str, body: SpamMark, db: DbSession, principal: AgentPrincipal, scope: Scope
) -> SpamFeedbackRead:
    await check_visible(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id, scope=scope
    )
    feedback = await spam_service.mark_conversation(
        db,
        tenant_id=principal.tenant_id,
        conversation_id=conversation_id,
        is_spam=body.spam,
        actor=principal.actor,
        now=utcnow(),
    )
    return SpamFeedbackRead.model_validate(feedback)


@router.get(
    "/conversations/{conversation_id}/spam",
    summary="The conversation's current spam verdict",
    responses={404: {}},
)
async def get_verdict(
    conversation_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> SpamVerdictRead:
    await check_visible(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id, scope=scope
    )
    row = await spam_service.get_verdict(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )
    if row is None:
        return SpamVerdictRead(
            conversation_id=conversation_id,
            verdict=None,
            source=None,
            score=None,
            reason=None,
            updated_at=None,
        )
    return SpamVerdictRead(
        conversation_id=row.conversation_id,
        verdict=row.verdict,
        source=row.source,
        score=row.score,
        reason=row.reason,
        updated_at=row.updated_at,
    )


@router.get("/spam/feedback", summary="Agents' spam feedback, newest first")
async def list_feedback(
    db: DbSession, principal: CurrentPrincipal, scope: Scope, page: Paging
) -> Page[SpamFeedbackRead]:
    result = await spam_service.list_feedback(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        only=visible_ids(principal.tenant_id, scope),
    )
    return Page(
        items=[SpamFeedbackRead.model_validate(f) for f in result.items],
        next_cursor=result.next_cursor,
    )
