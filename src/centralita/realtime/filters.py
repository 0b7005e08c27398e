"""Who sees which live event. Pure.

A supervisor sees every event of the tenant. An agent sees the queue-level routing events
(what waits where; only their own queues' when the tenant says ``agents_see:
own_and_queues``), everyone's presence, and whatever concerns the agent: offers and
assignments addressed to them, and the messages and changes of conversations offered to or
assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAMES = frozenset({
    "routing.queued", "routing.offered", "routing.offer_ended", "routing.assigned",
    "routing.released", "routing.moved", "agent.presence_changed",
    "message.received", "message.queued", "message.status_changed",
    "conversation.closed", "conversation.updated", "conversation.reopened",
})  # fmt: skip
_QUEUE_LEVEL = frozenset({"routing.queued", "routing.moved", "agent.presence_changed"})
_MINE = frozenset({"routing.offered", "routing.offer_ended", "routing.assigned",
                   "routing.released"})  # fmt: skip


@dataclass
class Viewer:
    supervisor: bool
    agent_id: str | None = None
    conversations: set[str] = field(default_factory=set)  # offered to or assigned to the agent
    # Set when the tenant limits agents to their own queues (agents_see: own_and_queues).
    queues: frozenset[str] | None = None

    def sees(self, name: str, payload: dict[str, Any]) -> bool:
        if name not in NAMES:
            return False
        if self.supervisor:
            return True
        if name in _QUEUE_LEVEL:
            return self._queue_visible(name, payload)
        if name in _MINE:
            return payload.get("agent_id") == self.agent_id and self.agent_id is not None
        return payload.get("conversation_id") in self.conversations

    def _queue_visible(self, name: str, payload: dict[str, Any]) -> bool:
        if self.queues is None or name == "agent.presence_changed":
            return True
        touched = {payload.get("queue_id"), payload.get("from_queue"), payload.get("to_queue")}
        return bool(touched & self.queues)

    def track(self, name: str, payload: dict[str, Any]) -> None:
        """Follow the conversations that become (or stop being) the agent's."""
        if self.agent_id is None or payload.get("agent_id") != self.agent_id:
            return
        conversation = payload.get("conversation_id")
        if not isinstance(conversation, str):
            return
        if name in ("routing.offered", "routing.assigned"):
            self.conversations.add(conversation)
        elif name == "routing.offer_ended" and payload.get("reason") != "taken":
            self.conversations.discard(conversation)
