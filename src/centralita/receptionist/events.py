"""Events of the receptionist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class TurnTaken(Event):
    """The receptionist answered one inbound message."""

    name: ClassVar[str] = "receptionist.turn"
    conversation_id: str
    message_id: str
    language: str
    intent: str
    urgency: str
    spam: bool
    actions: list[str]


@dataclass(frozen=True, kw_only=True)
class HandoffRequested(Event):
    name: ClassVar[str] = "conversation.handoff_requested"
    handoff_id: str
    conversation_id: str
    queue_key: str | None
    staff_key: str | None
    urgency: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class HandoffTaken(Event):
    name: ClassVar[str] = "conversation.handoff_taken"
    handoff_id: str
    conversation_id: str
    taken_by: str
