"""Events emitted by the conversations domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class ConversationStarted(Event):
    name: ClassVar[str] = "conversation.started"
    conversation_id: str
    contact_id: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class ConversationReopened(Event):
    name: ClassVar[str] = "conversation.reopened"
    conversation_id: str
    contact_id: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class ConversationUpdated(Event):
    name: ClassVar[str] = "conversation.updated"
    conversation_id: str
    changes: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class ConversationClosed(Event):
    name: ClassVar[str] = "conversation.closed"
    conversation_id: str


@dataclass(frozen=True, kw_only=True)
class InteractionStarted(Event):
    name: ClassVar[str] = "interaction.started"
    interaction_id: str
    conversation_id: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class InteractionUpdated(Event):
    name: ClassVar[str] = "interaction.updated"
    interaction_id: str
    changes: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Event):
    name: ClassVar[str] = "message.received"
    message_id: str
    conversation_id: str
    interaction_id: str
    contact_id: str
    channel: str
    channel_account_id: str
    body: str


@dataclass(frozen=True, kw_only=True)
class MessageQueued(Event):
    """An outbound message or note was written; delivery follows through the outbox."""

    name: ClassVar[str] = "message.queued"
    message_id: str
    conversation_id: str
    channel: str
    direction: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class MessageStatusChanged(Event):
    name: ClassVar[str] = "message.status_changed"
    message_id: str
    status: str
    error: str | None = None
    conversation_id: str | None = None  # so live desktops can show the delivery tick


@dataclass(frozen=True, kw_only=True)
class MessageMediaStored(Event):
    """A file a customer sent was fetched from the provider into the tenant's file store."""

    name: ClassVar[str] = "message.media_stored"
    message_id: str
    conversation_id: str
    media_id: str
    key: str
    size: int
    content_type: str


@dataclass(frozen=True, kw_only=True)
class MessageMediaFailed(Event):
    """A file a customer sent could not be stored; the message keeps the reason."""

    name: ClassVar[str] = "message.media_failed"
    message_id: str
    conversation_id: str
    media_id: str
    error: str


@dataclass(frozen=True, kw_only=True)
class InteractionEnded(Event):
    """A call (or another session) ended: how, and how long it lasted by the provider's count."""

    name: ClassVar[str] = "interaction.ended"
    interaction_id: str
    conversation_id: str
    ended_at: str
    disposition: str | None
    duration_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class CallEventRecorded(Event):
    """Something that happened to a call (a recording, a queue result, a transcription) was
    stored as an event message on its interaction."""

    name: ClassVar[str] = "call.event_recorded"
    message_id: str
    conversation_id: str
    interaction_id: str
    event: str
