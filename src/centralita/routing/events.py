"""Events of the ACD, for desktops, the wallboard, KPIs and integrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class ConversationQueued(Event):
    name: ClassVar[str] = "routing.queued"
    conversation_id: str
    queue_id: str


@dataclass(frozen=True, kw_only=True)
class OfferMade(Event):
    name: ClassVar[str] = "routing.offered"
    conversation_id: str
    agent_id: str
    expires_at: str
    callback: bool


@dataclass(frozen=True, kw_only=True)
class OfferEnded(Event):
    name: ClassVar[str] = "routing.offer_ended"
    conversation_id: str
    agent_id: str
    reason: str  # timeout | declined | taken | abandoned | agent_unavailable | transferred


@dataclass(frozen=True, kw_only=True)
class ConversationAssigned(Event):
    name: ClassVar[str] = "routing.assigned"
    conversation_id: str
    agent_id: str
    queue_id: str
    waited_seconds: float
    callback: bool


@dataclass(frozen=True, kw_only=True)
class ConversationReleased(Event):
    name: ClassVar[str] = "routing.released"
    conversation_id: str
    agent_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ConversationMoved(Event):
    name: ClassVar[str] = "routing.moved"
    conversation_id: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PresenceUpdated(Event):
    name: ClassVar[str] = "agent.presence_changed"
    agent_id: str
    presence: str
    previous: str
    by: str | None
