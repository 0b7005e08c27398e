"""The ACD's vocabulary: configuration, events in and decisions out. Plain data, no I/O.

Times are seconds on a monotonic scale chosen by the caller (epoch seconds in the service,
simulated seconds in the simulator). Channels are the conversation's channel names
("voice", "sms", "whatsapp", "email", "webchat", ...); capacity is counted per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Presence(StrEnum):
    """What an agent told us (or the engine set, for wrap-up)."""

    AVAILABLE = "available"
    BUSY = "busy"  # present, but takes no new work (a meeting, a non-ACD task)
    AWAY = "away"
    WRAPUP = "wrapup"  # after a conversation, until the timer ends or the agent is done
    OFFLINE = "offline"


class Strategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    ROUND_ROBIN = "round_robin"
    SKILLS_WEIGHTED = "skills_weighted"
    RING_ALL = "ring_all"  # voice: offer every eligible agent at once; the first accept wins


@dataclass(frozen=True, slots=True)
class OverflowStep:
    """After ``after`` seconds in queue, widen the required skills or move to another queue."""

    after: float
    skills: tuple[str, ...] | None = None  # the new (wider) required skills; () means anyone
    queue: str | None = None  # move to this queue, keeping the place in line (enqueued time)
    # Or tell the shell to act (the item keeps waiting): "callback" (offer one; the item
    # becomes a callback), "voicemail" or "message" (offer to take a message instead).
    action: str | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    id: str
    skills: tuple[str, ...] = ()  # an agent needs all of them
    min_proficiency: int = 1  # and at least this level (1-5) in each
    priority: int = 0  # added to every item's own priority
    strategy: Strategy = Strategy.LONGEST_IDLE
    aging_per_minute: float = 0.0  # priority points gained per minute of waiting
    offer_timeout: float = 30.0  # seconds an agent has to accept an offer
    auto_accept: bool = False  # an offer is an assignment at once (the simulator, auto-answer)
    wrapup_seconds: float = 0.0  # the agent's wrap-up after each conversation from this queue
    overflow: tuple[OverflowStep, ...] = ()
    open: bool = True  # closed (outside hours): items wait, nothing is offered
    max_declines: int = 0  # after this many missed offers in a row the agent goes away; 0 never


@dataclass(frozen=True, slots=True)
class AgentConfig:
    id: str
    skills: dict[str, int] = field(default_factory=dict)  # skill -> proficiency 1-5
    capacity: dict[str, int] = field(default_factory=lambda: {"voice": 1})
    # While the agent has work on one of these channels, no other channel is offered.
    blocking: frozenset[str] = frozenset({"voice"})


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    predictive: bool = False  # pick the eligible agent with the best history for the intent
    predictive_share: float = 1.0  # A/B: the share of items routed predictively (0..1)
    predictive_min_samples: int = 20  # history an agent needs for the intent to be ranked
    urgency_bonus: dict[str, int] = field(
        default_factory=lambda: {"low": -10, "normal": 0, "high": 50, "urgent": 100}
    )
    vip_bonus: int = 30


# ---- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpsertQueue:
    queue: QueueConfig


@dataclass(frozen=True, slots=True)
class UpsertAgent:
    agent: AgentConfig


@dataclass(frozen=True, slots=True)
class RemoveAgent:
    agent_id: str


@dataclass(frozen=True, slots=True)
class SetPresence:
    agent_id: str
    presence: Presence
    by: str | None = None  # a supervisor's id when it is not the agent


@dataclass(frozen=True, slots=True)
class Enqueue:
    item_id: str
    queue_id: str
    channel: str
    priority: int = 0
    intent: str | None = None
    preferred_agent: str | None = None  # a named or the last agent: offered first
    preferred_seconds: float = 0.0  # how long only the preferred agent is offered
    callback: bool = False  # the customer left a number: called back, place kept
    enqueued_at: float | None = None  # a transfer or recovery keeps the original time


@dataclass(frozen=True, slots=True)
class Configure:
    """The tenant's routing settings changed (predictive routing, priority bonuses)."""

    settings: RoutingSettings


@dataclass(frozen=True, slots=True)
class Pick:
    """An agent takes a conversation from the queue, or a supervisor gives it to one.

    Offers of it to other agents end. ``force`` (a supervisor) ignores the agent's capacity
    and presence, except offline.
    """

    item_id: str
    agent_id: str
    force: bool = False
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    item_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Decline:
    item_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The customer left (abandoned), or the conversation was closed or taken elsewhere."""

    item_id: str
    reason: str = "abandoned"


@dataclass(frozen=True, slots=True)
class RequestCallback:
    item_id: str


@dataclass(frozen=True, slots=True)
class Complete:
    """The agent finished the conversation; wrap-up starts if the queue has one."""

    item_id: str
    wrapup: bool = True


@dataclass(frozen=True, slots=True)
class EndWrapup:
    agent_id: str


@dataclass(frozen=True, slots=True)
class Transfer:
    item_id: str
    to_agent: str | None = None
    to_queue: str | None = None
    offer_seconds: float = 30.0  # how long the target agent has before it goes to the queue


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished conversation went, for predictive routing (FCR, CSAT 1-5)."""

    agent_id: str
    intent: str
    score: float  # 0..1


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: offer timeouts, wrap-up timers, overflow steps, preferred-agent windows."""


Event = (
    UpsertQueue
    | UpsertAgent
    | RemoveAgent
    | SetPresence
    | Enqueue
    | Accept
    | Decline
    | Withdraw
    | RequestCallback
    | Complete
    | EndWrapup
    | Transfer
    | Outcome
    | Tick
    | Configure
    | Pick
)


# ---- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offered:
    item_id: str
    agent_id: str
    expires_at: float
    callback: bool = False
    queue_id: str = ""
    channel: str = ""


@dataclass(frozen=True, slots=True)
class Revoked:
    """An offer ended without an assignment: timeout, declined, taken by another, withdrawn."""

    item_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Assigned:
    item_id: str
    agent_id: str
    queue_id: str
    waited: float
    callback: bool = False
    predictive: bool | None = None  # None: not eligible; True/False: the A/B arm


@dataclass(frozen=True, slots=True)
class Queued:
    item_id: str
    queue_id: str


@dataclass(frozen=True, slots=True)
class Moved:
    item_id: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class Widened:
    item_id: str
    queue_id: str
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Escalated:
    """An overflow step asks the shell to act: offer a callback, voicemail or a message."""

    item_id: str
    queue_id: str
    action: str


@dataclass(frozen=True, slots=True)
class Released:
    """An item left the engine: completed, withdrawn or transferred out."""

    item_id: str
    reason: str
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    agent_id: str
    presence: Presence
    previous: Presence
    at: float
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The event could not be applied; nothing changed. ``code`` is stable for API errors."""

    # not_found | already_queued | offer_expired | already_assigned | already_yours
    # | not_offered | not_assigned | agent_unavailable
    code: str
    message: str


Decision = (
    Offered
    | Revoked
    | Assigned
    | Queued
    | Moved
    | Widened
    | Escalated
    | Released
    | PresenceChanged
    | Rejected
)
