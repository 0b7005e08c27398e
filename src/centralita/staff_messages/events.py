"""Events emitted by the staff messages domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class StaffMessageCreated(Event):
    name: ClassVar[str] = "staff_message.created"
    message_id: str
    conversation_id: str
    recipient_key: str | None
    urgency: str


@dataclass(frozen=True, kw_only=True)
class StaffMessageDelivered(Event):
    """One channel of a message went out (a message has one event per channel)."""

    name: ClassVar[str] = "staff_message.delivered"
    message_id: str
    delivery_id: str
    channel: str
    escalation: bool


@dataclass(frozen=True, kw_only=True)
class StaffMessageAcknowledged(Event):
    name: ClassVar[str] = "staff_message.acknowledged"
    message_id: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class StaffMessageEscalated(Event):
    """Nobody acknowledged in time; ``escalated_to_key`` is None when there is no backup."""

    name: ClassVar[str] = "staff_message.escalated"
    message_id: str
    recipient_key: str | None
    escalated_to_key: str | None
