"""API schemas for conversations, messages and interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contact_id: str
    status: str
    owner_type: str
    owner_id: str | None
    last_channel: str
    language: str | None
    subject: str | None
    intake: dict[str, Any]
    sentiment: float | None
    tags: list[str]
    last_message_at: datetime
    closed_at: datetime | None
    created_at: datetime


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "pending", "closed"] | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    subject: str | None = Field(default=None, max_length=300)


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4096)
    kind: Literal["text", "note"] = "text"
    channel: Literal["voice", "sms", "whatsapp", "email", "webchat"] | None = Field(
        default=None, description="Reply on this channel; default: the conversation's last."
    )


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    interaction_id: str | None
    contact_id: str
    channel: str
    direction: str
    kind: str
    author_type: str
    author_id: str | None
    body: str
    language: str | None
    sentiment: float | None
    provider_message_id: str | None
    delivery_status: str
    delivery_error: str | None
    created_at: datetime


class InteractionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    contact_id: str
    channel: str
    direction: str
    queue_id: str | None
    agent_id: str | None
    disposition: str | None
    arrived_at: datetime
    queued_at: datetime | None
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    abandoned_at: datetime | None
    wrapup_started_at: datetime | None
    wrapup_ended_at: datetime | None
    hold_seconds: float
    handled_by_bot: bool


class WhatsAppWindowRead(BaseModel):
    """WhatsApp's 24-hour customer-service window for this conversation's contact: while
    ``open``, agents may answer with free text; after ``closes_at`` only a template."""

    channel_account_id: str | None
    last_inbound_at: datetime | None
    closes_at: datetime | None
    open: bool
