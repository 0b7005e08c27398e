"""The agent desktop's own reads: the customer 360° panel and the inbox lines.

Everything is tenant-scoped: a conversation id of another tenant is 404, like an unknown one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from centralita.api.deps import ContainerDep, CurrentPrincipal, DbSession
from centralita.audit import service as audit_service
from centralita.conversations import scoping
from centralita.conversations.deps import Scope
from centralita.conversations.models import Conversation
from centralita.desk import context as desk_context

router = APIRouter(prefix="/desk", tags=["desk"])
ConversationId = Annotated[str, Field(max_length=40)]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ConversationInfoRead(_Read):
    id: str
    contact_id: str
    status: str
    owner_type: str
    owner_id: str | None
    owner_name: str | None = Field(description="The agent's or the queue's name.")
    channel: str = Field(description="The channel the customer last used.")
    language: str | None
    sentiment: float | None = Field(description="-1 (upset) to 1 (happy).")
    subject: str | None
    intake: dict[str, Any] = Field(description="What the receptionist has learnt so far.")
    tags: list[str]
    created_at: datetime
    last_message_at: datetime


class HandoffInfoRead(_Read):
    id: str
    status: str
    channel: str
    reason: str
    urgency: str
    summary: str
    intake: dict[str, Any]
    queue_key: str | None
    queue_name: str | None
    staff_key: str | None
    requested_at: datetime


class AddressInfoRead(_Read):
    kind: str
    value: str
    label: str | None


class ContactInfoRead(_Read):
    id: str
    name: str | None
    vip: bool
    tags: list[str]
    language: str | None
    value: float = Field(description="Customer lifetime value, in the business's currency.")
    addresses: list[AddressInfoRead]
    last_contact_at: datetime | None


class PastConversationRead(_Read):
    id: str
    status: str
    last_channel: str
    last_message_at: datetime
    subject: str | None


class AppointmentInfoRead(_Read):
    id: str
    kind: str
    status: str
    start_at: datetime
    end_at: datetime
    service_key: str | None
    staff_key: str | None
    notes: str | None


class TakenMessageRead(_Read):
    id: str
    created_at: datetime
    status: str
    urgency: str
    reason: str | None
    summary: str
    recipient_name: str | None


class WindowInfoRead(_Read):
    open: bool
    last_inbound_at: datetime | None
    closes_at: datetime | None
    reengagement_template: str | None


class DeskContextRead(_Read):
    """The customer 360° panel of the agent desktop."""

    conversation: ConversationInfoRead
    handoff: HandoffInfoRead | None = Field(
        description="The receptionist's latest hand-off of this conversation to people."
    )
    contact: ContactInfoRead | None
    past_conversations: list[PastConversationRead] = Field(
        description="The contact's other conversations, latest first (at most 10)."
    )
    appointments: list[AppointmentInfoRead] = Field(description="Latest start first.")
    messages_taken: list[TakenMessageRead] = Field(
        description="Messages the receptionist took for staff from this customer."
    )
    survey_answers: list[dict[str, Any]] = Field(description="Always empty for now.")
    whatsapp_window: WindowInfoRead | None = Field(
        description="WhatsApp's 24-hour window, when the customer has written on WhatsApp."
    )
    staff_names: dict[str, str] = Field(description="Staff key -> name, for the keys above.")
    service_names: dict[str, dict[str, str]] = Field(
        description="Service key -> name per language, for the keys above."
    )


class LastMessageRead(_Read):
    direction: str
    kind: str
    author_type: str
    channel: str
    body: str = Field(description="The first 140 characters.")
    created_at: datetime


class ConversationSummaryRead(_Read):
    id: str
    status: str
    channel: str
    owner_type: str
    owner_id: str | None
    subject: str | None
    contact_id: str
    contact_name: str | None
    vip: bool
    last_message_at: datetime
    last_message: LastMessageRead | None
    last_inbound_at: datetime | None
    urgency: str | None = Field(description="The hand-off's urgency, if it was handed off.")
    reason: str | None = Field(description="The hand-off's reason, if it was handed off.")


@router.get(
    "/conversations/{conversation_id}/context",
    summary="The customer 360° panel: intake, contact, history, appointments, messages taken",
    responses={404: {}},
)
async def conversation_context(
    conversation_id: ConversationId,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
    scope: Scope,
) -> DeskContextRead:
    found = await desk_context.conversation_context(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id, now=container.clock()
    )
    conv = await db.get(Conversation, found.conversation.id)
    if conv is not None:
        scoping.check(conv, scope)
    await audit_service.record_read(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        object_type="conversation",
        object_id=found.conversation.id,
        data={"view": "desk", "contact_id": found.conversation.contact_id},
    )
    return DeskContextRead.model_validate(found)


@router.get("/conversations", summary="Inbox lines for some conversations, in the order asked")
async def conversation_summaries(
    db: DbSession,
    principal: CurrentPrincipal,
    ids: Annotated[
        list[Annotated[str, Field(max_length=40)]],
        Query(max_length=desk_context.MAX_SUMMARIES, description="Conversation ids."),
    ],
    scope: Scope,
) -> list[ConversationSummaryRead]:
    if scope is not None:
        stmt = select(Conversation.id).where(
            Conversation.tenant_id == principal.tenant_id, Conversation.id.in_(ids)
        )
        seen = set((await db.scalars(scoping.restrict(stmt, scope))).all())
        ids = [i for i in ids if i in seen]
    found = await desk_context.summaries(db, tenant_id=principal.tenant_id, conversation_ids=ids)
    return [ConversationSummaryRead.model_validate(s) for s in found]
