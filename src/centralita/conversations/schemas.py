"""API schemas for conversations, messages and interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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


class ChoiceCreate(BaseModel):
    """An answer the customer can tap: a reply button (up to 3 choices) or a list row (4 to
    10) on WhatsApp; a numbered line on channels without buttons."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="Comes back as the reply's id.")
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=72)


class TemplateCreate(BaseModel):
    """A template approved in WhatsApp Manager; the only thing that may be sent outside the
    24-hour customer-service window."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$", examples=["es", "en_US"])
    parameters: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="The body's {{1}}, {{2}}… in order.",
    )

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip() or len(item) > 1024:
                raise ValueError("each parameter: 1 to 1024 characters, not blank")
        return value


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4096)
    kind: Literal["text", "note"] = "text"
    channel: Literal["voice", "sms", "whatsapp", "email", "webchat"] | None = Field(
        default=None, description="Reply on this channel; default: the conversation's last."
    )
    choices: list[ChoiceCreate] | None = Field(
        default=None,
        max_length=10,
        description="Up to 3: reply buttons (title at most 20 characters); 4 to 10: a list.",
    )
    template: TemplateCreate | None = Field(
        default=None,
        description="Send this template (``body`` is what agents see, and the text on "
        "channels without templates).",
    )

    @model_validator(mode="after")
    def _extras(self) -> MessageCreate:
        if self.kind == "note" and (self.choices or self.template):
            raise ValueError("a note has no choices or template")
        if self.choices and self.template:
            raise ValueError("send either choices or a template, not both")
        if self.choices:
            if len({c.id for c in self.choices}) != len(self.choices):
                raise ValueError("choice ids must be unique")
            if len(self.choices) <= 3 and any(len(c.title) > 20 for c in self.choices):
                raise ValueError("up to 3 choices are buttons: titles at most 20 characters")
            if len(self.choices) <= 3 and len(self.body) > 1024:
                raise ValueError("a message with buttons: body at most 1024 characters")
        return self

    def extras(self) -> dict[str, Any]:
        """What goes into the message's metadata for delivery."""
        extras: dict[str, Any] = {}
        if self.choices:
            extras["choices"] = [c.model_dump(exclude_none=True) for c in self.choices]
        if self.template:
            extras["template"] = self.template.model_dump()
        return extras


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
    meta: dict[str, Any] = Field(
        default_factory=dict,
        description="Channel details: reply ids, choices, the template sent, media and "
        "attachments (``key`` downloads from ``/messages/{id}/files/{key}``).",
    )


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
    may_send: list[Literal["text", "choices", "template"]] = Field(
        default_factory=list, description="What an agent may send now."
    )
    reengagement_template: str | None = Field(
        default=None,
        description="Outside the window, free text goes out as this template instead.",
    )
