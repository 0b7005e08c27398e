"""The ACD: ``decide(state, event, now) -> (state, decisions)``. Pure and deterministic.

The engine reads no clock, does no I/O and draws no random numbers: the same events at the
same times give the same decisions. For speed it updates the ``RoutingState`` it is given in
place and returns it; a store that needs the old state keeps a copy (``RoutingState.copy``).

How it decides:

- An item (a conversation needing a person) waits in its queue, one heap per channel, ordered
  by priority with aging, then by the time it entered the line. Aging adds the same points per
  minute to every item of a queue, so the order inside a queue never changes while items wait
  and a heap keyed on ``-(priority) + aging·enqueued/60`` stays valid.
- An agent can take an item when present (``available``), when the item's channel has room in
  the agent's capacity (offers count), when no *blocking* channel (a call) is in progress on
  another channel, and when the agent has the item's skills at the queue's proficiency.
- When an item arrives it goes to the best free agent at once (the queue's strategy picks);
  when an agent frees up it takes the best waiting item among the queues it can serve. After
  every event no waiting item has a free, eligible agent, so the two directions are enough.
- Offers expire, can be declined and are then offered to the next agent (the item keeps its
  place). Ring-all offers every eligible agent and revokes the rest at the first accept.
- Timers (offer expiry, wrap-up, overflow steps, preferred-agent windows) are kept in the
  state; the caller sends ``Tick`` at ``next_deadline(state)``.
"""

from __future__ import annotations

import heapq
import zlib
from dataclasses import dataclass, field
from typing import Any

from centralita.routing.model import (
    Accept,
    AgentConfig,
    Assigned,
    Complete,
    Configure,
    Decision,
    Decline,
    EndWrapup,
    Enqueue,
    Escalated,
    Event,
    Moved,
    Offered,
    Outcome,
    Pick,
    Presence,
    PresenceChanged,
    QueueConfig,
    Queued,
    Rejected,
    Released,
    RemoveAgent,
    RequestCallback,
    Revoked,
    RoutingSettings,
    SetPresence,
    Strategy,
    Tick,
    Transfer,
    UpsertAgent,
    UpsertQueue,
    Widened,
    Withdraw,
)

WAITING, OFFERED, ASSIGNED = "waiting", "offered", "assigned"
SCAN = 32  # how deep an agent looks past a head it cannot take (declined, other skills)
_OFFER, _WRAPUP, _OVERFLOW, _PREFERRED, _RETRY = 0, 1, 2, 3, 4


class AgentState:
    __slots__ = (
        "config", "declines", "idle_since", "load", "offers", "presence", "tasks", "wrapup_token",
    )  # fmt: skip

    def __init__(self, config: AgentConfig, now: float) -> None:
        self.config = config
        self.presence = Presence.OFFLINE
        self.load: dict[str, int] = {}  # channel -> offers + assignments
        self.offers: dict[str, int] = {}  # item -> offer token (offered, not yet accepted)
        self.tasks: dict[str, str] = {}  # item -> channel (assigned)
        self.idle_since = now  # when the agent last had nothing: for longest idle
        self.declines = 0  # missed offers in a row
        self.wrapup_token = 0

    def room(self, channel: str) -> bool:
        """Whether an offer on ``channel`` fits now (presence is checked by the caller)."""
        config = self.config
        if self.load.get(channel, 0) >= config.capacity.get(channel, 0):
            return False
        if config.blocking:
            for other, n in self.load.items():
                if n and other != channel and other in config.blocking:
                    return False
        return True

    def occupancy(self) -> float:
        total = sum(self.config.capacity.values())
        return sum(self.load.values()) / total if total else 1.0

    def copy(self) -> AgentState:
        other = AgentState.__new__(AgentState)
        other.config, other.presence, other.idle_since = self.config, self.presence, self.idle_since
        other.load, other.offers, other.tasks = dict(self.load), dict(self.offers), dict(self.tasks)
        other.declines, other.wrapup_token = self.declines, self.wrapup_token
        return other


class Item:
    __slots__ = (
        "agent", "arm", "callback", "channel", "declined", "enqueued_at", "entry", "id",
        "intent", "offer_token", "offered_to", "preferred", "preferred_until", "priority",
        "queue_id", "seq", "skills", "stage", "status",
    )  # fmt: skip

    def __init__(self, event: Enqueue, now: float, skills: tuple[str, ...]) -> None:
        self.id = event.item_id
        self.queue_id = event.queue_id
        self.channel = event.channel
        self.priority = event.priority
        self.intent = event.intent
        self.callback = event.callback
        self.enqueued_at = now if event.enqueued_at is None else event.enqueued_at
        self.skills = skills
        self.stage = 0  # overflow steps applied
        self.preferred = event.preferred_agent
        self.preferred_until = now + event.preferred_seconds if event.preferred_agent else 0.0
        self.status = WAITING
        self.declined: dict[str, float] = {}  # agent -> not offered again before
        self.offered_to: set[str] = set()
        self.agent: str | None = None
        self.entry: list[Any] | None = None  # its live heap entry while waiting
        self.offer_token = 0
        self.arm: bool | None = None
        self.seq = 0  # its place among items entered at the same time, kept when re-queued

    def copy(self) -> Item:
        other = Item.__new__(Item)
        for name in Item.__slots__:
            setattr(other, name, getattr(self, name))
        other.declined, other.offered_to = dict(self.declined), set(self.offered_to)
        other.entry = None
        return other


class QueueState:
    __slots__ = ("config", "pushes", "reach", "rr", "rr_seq", "waiting")

    def __init__(self, config: QueueConfig) -> None:
        self.config = config
        self.waiting: dict[str, list[list[Any]]] = {}  # channel -> heap of [key, t, seq, n, item]
        # n: a number per push, so that heap comparisons stop before the item: a re-queued
        # item's live entry can tie on (key, t, seq) with its own dead one (item None).
        self.pushes = 0
        self.reach: set[str] = set()  # agents who can take an item at some overflow stage
        self.rr: dict[str, int] = {}  # round robin: agent -> when last offered
        self.rr_seq = 0


@dataclass
class RoutingState:
    settings: RoutingSettings = field(default_factory=RoutingSettings)
    queues: dict[str, QueueState] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    agent_queues: dict[str, set[str]] = field(default_factory=dict)  # agent -> queues reached
    timers: list[tuple[float, int, int, str, str, int]] = field(default_factory=list)
    performance: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # n, sum
    preferred: dict[str, set[str]] = field(default_factory=dict)  # agent -> items waiting for it
    seq: int = 0

    def copy(self) -> RoutingState:
        """A deep copy (heaps rebuilt), for stores that keep the state before an event."""
        other = RoutingState(settings=self.settings, seq=self.seq)
        other.agents = {k: a.copy() for k, a in self.agents.items()}
        other.items = {k: i.copy() for k, i in self.items.items()}
        other.agent_queues = {k: set(v) for k, v in self.agent_queues.items()}
        other.timers = list(self.timers)
        other.performance = {k: list(v) for k, v in self.performance.items()}
        other.preferred = {k: set(v) for k, v in self.preferred.items()}
        for key, queue in self.queues.items():
            q = QueueState(queue.config)
            q.reach, q.rr, q.rr_seq = set(queue.reach), dict(queue.rr), queue.rr_seq
            other.queues[key] = q
        for item in other.items.values():
            if item.status == WAITING:
                _push(other, item)
        return other


# ---- queries ---------------------------------------------------------------------------------


def next_deadline(state: RoutingState) -> float | None:
    """When the caller should next send ``Tick`` (None: no timer pending)."""
    return state.timers[0][0] if state.timers else None


def position(state: RoutingState, item_id: str) -> int | None:
    """1-based place of a waiting item among its queue's waiting items on its channel."""
    item = state.items.get(item_id)
    if item is None or item.status != WAITING or item.entry is None:
        return None
    heap = state.queues[item.queue_id].waiting.get(item.channel, [])
    mine = item.entry
    return 1 + sum(1 for e in heap if e[4] is not None and e[:3] < mine[:3])


def waiting_count(state: RoutingState, queue_id: str) -> int:
    queue = state.queues.get(queue_id)
    if queue is None:
        return 0
    return sum(1 for heap in queue.waiting.values() for e in heap if e[4] is not None)


def oldest_wait(state: RoutingState, queue_id: str, now: float) -> float:
    queue = state.queues.get(queue_id)
    if queue is None:
        return 0.0
    times = [e[1] for heap in queue.waiting.values() for e in heap if e[4] is not None]
    return now - min(times) if times else 0.0


def effective_priority(state: RoutingState, item: Item, now: float) -> float:
    config = state.queues[item.queue_id].config
    aged = config.aging_per_minute * (now - item.enqueued_at) / 60.0
    return config.priority + item.priority + aged


def priority_for(settings: RoutingSettings, *, urgency: str | None, vip: bool) -> int:
    """An item's own priority from the receptionist's urgency and the contact's VIP flag."""
    bonus = settings.urgency_bonus.get(urgency or "normal", 0)
    return bonus + (settings.vip_bonus if vip else 0)


# ---- the function ----------------------------------------------------------------------------


def decide(state: RoutingState, event: Event, now: float) -> tuple[RoutingState, list[Decision]]:
    out: list[Decision] = []
    handler = _HANDLERS[type(event)]
    _fire_timers(state, now, out)
    handler(state, event, now, out)
    return state, out


# ---- configuration ---------------------------------------------------------------------------


def _qualifies(agent: AgentConfig, skills: tuple[str, ...], minimum: int) -> bool:
    if not skills:
        return True
    held = agent.skills
    return all(held.get(s, 0) >= minimum for s in skills)


def _stages(config: QueueConfig) -> list[tuple[str, ...]]:
    stages = [config.skills]
    stages.extend(step.skills for step in config.overflow if step.skills is not None)
    return stages


def _reaches(agent: AgentConfig, config: QueueConfig) -> bool:
    return any(_qualifies(agent, s, config.min_proficiency) for s in _stages(config))


def _upsert_queue(state: RoutingState, event: UpsertQueue, now: float, out: list[Decision]) -> None:
    config = event.queue
    queue = state.queues.get(config.id)
    if queue is None:
        queue = state.queues[config.id] = QueueState(config)
    else:
        old = queue.config
        queue.config = config
        if old.aging_per_minute != config.aging_per_minute:  # keys change: rebuild the heaps
            waiting = [e[4] for heap in queue.waiting.values() for e in heap if e[4] is not None]
            queue.waiting = {}
            for item in waiting:
                item.entry = None
                _push(state, item)
    for agent_id in queue.reach:
        state.agent_queues.get(agent_id, set()).discard(config.id)
    queue.reach = {a.config.id for a in state.agents.values() if _reaches(a.config, config)}
    for agent_id in queue.reach:
        state.agent_queues.setdefault(agent_id, set()).add(config.id)
    if config.open:
        _dispatch_queue(state, queue, now, out)


def _upsert_agent(state: RoutingState, event: UpsertAgent, now: float, out: list[Decision]) -> None:
    config = event.agent
    agent = state.agents.get(config.id)
    if agent is None:
        agent = state.agents[config.id] = AgentState(config, now)
    else:
        agent.config = config
    reached = {q.config.id for q in state.queues.values() if _reaches(config, q.config)}
    for queue_id in state.agent_queues.get(config.id, set()) - reached:
        state.queues[queue_id].reach.discard(config.id)
    for queue_id in reached:
        state.queues[queue_id].reach.add(config.id)
    state.agent_queues[config.id] = reached
    _fill_agent(state, agent, now, out)


def _remove_agent(state: RoutingState, event: RemoveAgent, now: float, out: list[Decision]) -> None:
    agent = state.agents.get(event.agent_id)
    if agent is None:
        out.append(Rejected("not_found", f"agent {event.agent_id} is not known"))
        return
    _set_presence(state, SetPresence(event.agent_id, Presence.OFFLINE), now, out)
    for item_id in list(agent.tasks):  # its conversations go back to their queues, in place
        item = state.items[item_id]
        _unload(agent, item_id, item.channel, now)
        item.status, item.agent = WAITING, None
        out.append(Released(item_id, "agent_removed", agent.config.id))
        _route_item(state, item, now, out)
    for queue_id in state.agent_queues.pop(event.agent_id, set()):
        state.queues[queue_id].reach.discard(event.agent_id)
    del state.agents[event.agent_id]


# ---- presence --------------------------------------------------------------------------------


def _set_presence(state: RoutingState, event: SetPresence, now: float, out: list[Decision]) -> None:
    agent = state.agents.get(event.agent_id)
    if agent is None:
        out.append(Rejected("not_found", f"agent {event.agent_id} is not known"))
        return
    previous = agent.presence
    if previous == event.presence:
        return
    agent.presence = event.presence
    agent.wrapup_token += 1  # any change ends a pending wrap-up timer
    if event.presence == Presence.AVAILABLE:
        agent.declines = 0
        if not agent.load:  # longest idle counts from when the agent could take work again
            agent.idle_since = now
    out.append(PresenceChanged(agent.config.id, event.presence, previous, now, event.by))
    if event.presence != Presence.AVAILABLE:
        for item_id in list(agent.offers):  # pending offers go to the next agent
            _revoke(state, agent, state.items[item_id], "agent_unavailable", now, out)
    else:
        _fill_agent(state, agent, now, out)


def _end_wrapup(state: RoutingState, event: EndWrapup, now: float, out: list[Decision]) -> None:
    agent = state.agents.get(event.agent_id)
    if agent is None:
        out.append(Rejected("not_found", f"agent {event.agent_id} is not known"))
    elif agent.presence == Presence.WRAPUP:
        _set_presence(state, SetPresence(event.agent_id, Presence.AVAILABLE), now, out)


# ---- items -----------------------------------------------------------------------------------


def _enqueue(state: RoutingState, event: Enqueue, now: float, out: list[Decision]) -> None:
    queue = state.queues.get(event.queue_id)
    if queue is None:
        out.append(Rejected("not_found", f"queue {event.queue_id} is not known"))
        return
    if event.item_id in state.items:
        out.append(Rejected("already_queued", f"{event.item_id} is already being routed"))
        return
    item = Item(event, now, queue.config.skills)
    state.seq += 1
    item.seq = state.seq  # its place among items entered at the same time, from the start
    state.items[item.id] = item
    if item.preferred:
        state.preferred.setdefault(item.preferred, set()).add(item.id)
    _schedule_item_timers(state, item, queue.config, now)
    out.append(Queued(item.id, queue.config.id))
    _route_item(state, item, now, out)


def _schedule_item_timers(state: RoutingState, item: Item, config: QueueConfig, now: float) -> None:
    for stage, step in enumerate(config.overflow, start=1):
        at = item.enqueued_at + step.after
        _timer(state, max(at, now), _OVERFLOW, item.id, config.id, stage)
    if item.preferred:
        _timer(state, item.preferred_until, _PREFERRED, item.id, "", 0)


def _accept(state: RoutingState, event: Accept, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    agent = state.agents.get(event.agent_id)
    if item is None or agent is None:
        what = "conversation" if item is None else "agent"
        out.append(Rejected("not_found", f"{what} is not being routed"))
        return
    if item.status == ASSIGNED and item.agent == agent.config.id:
        out.append(Rejected("already_yours", "the conversation is already assigned to you"))
        return
    if event.item_id not in agent.offers:
        ring_all = state.queues[item.queue_id].config.strategy == Strategy.RING_ALL
        if item.status == ASSIGNED and ring_all:  # it rang here too; another agent was first
            out.append(Rejected("already_assigned", "another agent took the conversation"))
        else:
            out.append(Rejected("offer_expired", "the offer is no longer open for this agent"))
        return
    del agent.offers[item.id]
    item.status, item.agent = ASSIGNED, agent.config.id
    agent.tasks[item.id] = item.channel
    agent.declines = 0
    item.offered_to.discard(agent.config.id)
    for other_id in sorted(item.offered_to):  # ring-all: the others' offers end
        other = state.agents[other_id]
        other.offers.pop(item.id, None)
        _unload(other, item.id, item.channel, now)
        out.append(Revoked(item.id, other_id, "taken"))
        _fill_agent(state, other, now, out)
    item.offered_to.clear()
    waited = now - item.enqueued_at
    out.append(Assigned(item.id, agent.config.id, item.queue_id, waited, item.callback, item.arm))


def _take(state: RoutingState, event: Pick, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    agent = state.agents.get(event.agent_id)
    if item is None or agent is None:
        what = "conversation" if item is None else "agent"
        out.append(Rejected("not_found", f"{what} is not being routed"))
        return
    if item.status == ASSIGNED:
        if item.agent == agent.config.id:
            out.append(Rejected("already_yours", "the conversation is already assigned to you"))
        else:
            out.append(Rejected("already_assigned", "another agent has the conversation"))
        return
    offered_here = item.id in agent.offers
    if agent.presence == Presence.OFFLINE or (
        not event.force and agent.presence != Presence.AVAILABLE and not offered_here
    ):
        out.append(Rejected("agent_unavailable", f"agent {agent.config.id} is not available"))
        return
    if not event.force and not offered_here and not agent.room(item.channel):
        out.append(Rejected("no_capacity", f"agent {agent.config.id} has no room for "
                                           f"another {item.channel} conversation"))  # fmt: skip
        return
    if item.entry is not None:
        item.entry[4] = None
        item.entry = None
    _unprefer(state, item)
    for other_id in sorted(item.offered_to - {agent.config.id}):
        other = state.agents[other_id]
        other.offers.pop(item.id, None)
        _unload(other, item.id, item.channel, now)
        item.offered_to.discard(other_id)
        out.append(Revoked(item.id, other_id, "taken"))
    if offered_here:
        del agent.offers[item.id]
    else:
        agent.load[item.channel] = agent.load.get(item.channel, 0) + 1
    item.offered_to.clear()
    item.status, item.agent = ASSIGNED, agent.config.id
    agent.tasks[item.id] = item.channel
    waited = now - item.enqueued_at
    out.append(Assigned(item.id, agent.config.id, item.queue_id, waited, item.callback, item.arm))
    for other_id in sorted({d.agent_id for d in out if isinstance(d, Revoked)}):
        if other_id in state.agents:
            _fill_agent(state, state.agents[other_id], now, out)


def _configure(state: RoutingState, event: Configure, now: float, out: list[Decision]) -> None:
    state.settings = event.settings


def _decline(state: RoutingState, event: Decline, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    agent = state.agents.get(event.agent_id)
    if item is None or agent is None:
        what = "conversation" if item is None else "agent"
        out.append(Rejected("not_found", f"{what} is not being routed"))
        return
    if event.item_id not in agent.offers:
        out.append(Rejected("not_offered", "there is no open offer to decline"))
        return
    _revoke(state, agent, item, "declined", now, out)


def _withdraw(state: RoutingState, event: Withdraw, now: float, out: list[Decision]) -> None:
    item = state.items.pop(event.item_id, None)
    if item is None:
        out.append(Rejected("not_found", f"{event.item_id} is not being routed"))
        return
    _unprefer(state, item)
    if item.entry is not None:
        item.entry[4] = None
        item.entry = None
    freed: list[AgentState] = []
    for agent_id in sorted(item.offered_to):
        agent = state.agents[agent_id]
        agent.offers.pop(item.id, None)
        _unload(agent, item.id, item.channel, now)
        out.append(Revoked(item.id, agent_id, event.reason))
        freed.append(agent)
    item.offered_to.clear()
    if item.status == ASSIGNED and item.agent is not None:
        agent = state.agents[item.agent]
        _unload(agent, item.id, item.channel, now)
        freed.append(agent)
    out.append(Released(item.id, event.reason, item.agent))
    item.status = "gone"
    for agent in freed:
        _fill_agent(state, agent, now, out)


def _callback(state: RoutingState, event: RequestCallback, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    if item is None:
        out.append(Rejected("not_found", f"{event.item_id} is not being routed"))
    elif item.status == ASSIGNED:
        out.append(Rejected("already_assigned", "an agent already has the conversation"))
    else:
        item.callback = True  # same place in line; offered as a callback when its turn comes


def _complete(state: RoutingState, event: Complete, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    if item is None:
        out.append(Rejected("not_found", f"{event.item_id} is not being routed"))
        return
    if item.status != ASSIGNED or item.agent is None:
        out.append(Rejected("not_assigned", f"{event.item_id} is not assigned to anyone"))
        return
    del state.items[item.id]
    agent = state.agents[item.agent]
    _unload(agent, item.id, item.channel, now)
    item.status = "gone"
    out.append(Released(item.id, "completed", agent.config.id))
    wrapup = state.queues[item.queue_id].config.wrapup_seconds if event.wrapup else 0.0
    if wrapup > 0 and agent.presence == Presence.AVAILABLE:
        _set_presence(state, SetPresence(agent.config.id, Presence.WRAPUP), now, out)
        _timer(state, now + wrapup, _WRAPUP, agent.config.id, "", agent.wrapup_token)
    else:
        _fill_agent(state, agent, now, out)


def _transfer(state: RoutingState, event: Transfer, now: float, out: list[Decision]) -> None:
    item = state.items.get(event.item_id)
    if item is None:
        out.append(Rejected("not_found", f"{event.item_id} is not being routed"))
        return
    target_queue = event.to_queue or item.queue_id
    if target_queue not in state.queues:
        out.append(Rejected("not_found", f"queue {target_queue} is not known"))
        return
    target = state.agents.get(event.to_agent) if event.to_agent else None
    if event.to_agent and target is None:
        out.append(Rejected("not_found", f"agent {event.to_agent} is not known"))
        return
    if target is not None and target.presence == Presence.OFFLINE:
        out.append(Rejected("agent_unavailable", f"agent {event.to_agent} is offline"))
        return
    previous = item.agent
    if item.status == ASSIGNED and previous is not None:
        agent = state.agents[previous]
        _unload(agent, item.id, item.channel, now)
        out.append(Released(item.id, "transferred", previous))
        _fill_agent(state, agent, now, out)
    elif item.status == OFFERED:
        for agent_id in sorted(item.offered_to):
            _revoke(state, state.agents[agent_id], item, "transferred", now, out, route=False)
    elif item.entry is not None:
        item.entry[4] = None
        item.entry = None
    if target_queue != item.queue_id:
        out.append(Moved(item.id, item.queue_id, target_queue, "transfer"))
        item.queue_id = target_queue
    item.skills = state.queues[target_queue].config.skills  # a new start: overflow anew
    item.stage = 0
    item.status, item.agent = WAITING, None
    item.declined.clear()
    if previous and previous != event.to_agent:
        item.declined[previous] = now + event.offer_seconds
        _timer(state, now + event.offer_seconds, _RETRY, item.id, "", 0)  # then it may again
    state.seq += 1
    item.enqueued_at, item.seq = now, state.seq  # a new place in line
    if target is not None:
        _unprefer(state, item)  # the new target replaces an earlier preferred agent
        item.preferred, item.preferred_until = target.config.id, now + event.offer_seconds
        state.preferred.setdefault(target.config.id, set()).add(item.id)
    _schedule_item_timers(state, item, state.queues[target_queue].config, now)
    out.append(Queued(item.id, target_queue))
    _route_item(state, item, now, out)


def _outcome(state: RoutingState, event: Outcome, now: float, out: list[Decision]) -> None:
    record = state.performance.setdefault((event.agent_id, event.intent), [0.0, 0.0])
    record[0] += 1
    record[1] += event.score


def _tick(state: RoutingState, event: Tick, now: float, out: list[Decision]) -> None:
    return  # timers already fired in decide()


# ---- timers ----------------------------------------------------------------------------------


def _timer(state: RoutingState, at: float, kind: int, ref: str, extra: str, token: int) -> None:
    state.seq += 1
    heapq.heappush(state.timers, (at, state.seq, kind, ref, extra, token))


def _fire_timers(state: RoutingState, now: float, out: list[Decision]) -> None:
    timers = state.timers
    while timers and timers[0][0] <= now:
        _at, _seq, kind, ref, extra, token = heapq.heappop(timers)
        if kind == _OFFER:
            item = state.items.get(ref)
            agent = state.agents.get(extra)
            if item is not None and agent is not None and agent.offers.get(ref) == token:
                agent.declines += 1
                limit = state.queues[item.queue_id].config.max_declines
                away = bool(limit) and agent.declines >= limit
                # An agent about to be set away is not offered more work first.
                _revoke(state, agent, item, "timeout", now, out, fill=not away)
                if away and agent.presence == Presence.AVAILABLE:
                    _set_presence(state, SetPresence(agent.config.id, Presence.AWAY), now, out)
        elif kind == _WRAPUP:
            agent = state.agents.get(ref)
            if agent and agent.presence == Presence.WRAPUP and agent.wrapup_token == token:
                _set_presence(state, SetPresence(ref, Presence.AVAILABLE), now, out)
        elif kind == _OVERFLOW:
            item = state.items.get(ref)
            if item is not None and item.queue_id == extra and item.status != ASSIGNED:
                _overflow(state, item, token, now, out)
        elif kind == _PREFERRED:
            item = state.items.get(ref)
            if item is not None and item.status == WAITING and item.preferred_until <= now:
                _unprefer(state, item)
                if item.entry is not None:
                    item.entry[4] = None
                    item.entry = None
                _route_item(state, item, now, out)
        elif kind == _RETRY:
            item = state.items.get(ref)
            if item is not None and item.status == WAITING:
                if item.entry is not None:
                    item.entry[4] = None
                    item.entry = None
                _route_item(state, item, now, out)


def _overflow(state: RoutingState, item: Item, stage: int, now: float, out: list[Decision]) -> None:
    steps = state.queues[item.queue_id].config.overflow
    if stage <= item.stage or stage > len(steps):  # done, or the queue's steps changed
        return
    step = steps[stage - 1]
    due = item.enqueued_at + step.after
    if due > now:  # scheduled for an earlier place in line (a transfer) or an older config
        _timer(state, due, _OVERFLOW, item.id, item.queue_id, stage)
        return
    item.stage = stage
    if step.queue is not None and step.queue in state.queues and step.queue != item.queue_id:
        if item.entry is not None:
            item.entry[4] = None
            item.entry = None
        out.append(Moved(item.id, item.queue_id, step.queue, "overflow"))
        item.queue_id = step.queue
        target = state.queues[step.queue].config
        item.skills, item.stage = target.skills, 0
        _schedule_item_timers(state, item, target, now)
    elif step.skills is not None:
        item.skills = step.skills
        out.append(Widened(item.id, item.queue_id, step.skills))
    elif step.action is not None:
        if step.action == "callback":
            item.callback = True
        out.append(Escalated(item.id, item.queue_id, step.action))
    if item.status == WAITING:
        if item.entry is not None:
            item.entry[4] = None
            item.entry = None
        _route_item(state, item, now, out)


# ---- matching --------------------------------------------------------------------------------


def _free_for(agent: AgentState, item: Item, minimum: int, now: float) -> bool:
    return (
        agent.presence == Presence.AVAILABLE
        and agent.room(item.channel)
        and item.declined.get(agent.config.id, 0.0) <= now
        and item.id not in agent.offers
        and _qualifies(agent.config, item.skills, minimum)
    )


def _unprefer(state: RoutingState, item: Item) -> None:
    if item.preferred:
        waiting = state.preferred.get(item.preferred)
        if waiting is not None:
            waiting.discard(item.id)
            if not waiting:
                del state.preferred[item.preferred]
        item.preferred = None


def _candidates(state: RoutingState, item: Item, now: float) -> list[AgentState]:
    queue = state.queues[item.queue_id]
    if not queue.config.open:
        return []
    minimum = queue.config.min_proficiency
    if item.preferred and item.preferred_until > now:
        agent = state.agents.get(item.preferred)
        if agent is not None and agent.presence == Presence.AVAILABLE and agent.room(item.channel):
            return [agent] if item.id not in agent.offers else []
        return []
    agents = state.agents
    return [a for a_id in queue.reach if _free_for(a := agents[a_id], item, minimum, now)]


def _arm(state: RoutingState, item: Item) -> bool | None:
    settings = state.settings
    if not settings.predictive or item.intent is None:
        return None
    bucket = zlib.crc32(item.id.encode()) % 10_000
    return bucket < settings.predictive_share * 10_000


def _pick(state: RoutingState, item: Item, agents: list[AgentState]) -> AgentState:
    queue = state.queues[item.queue_id]
    config = queue.config
    if item.arm:
        best, best_score = None, -1.0
        minimum = state.settings.predictive_min_samples
        for agent in sorted(agents, key=lambda a: a.config.id):  # ties: the first id
            record = state.performance.get((agent.config.id, item.intent or ""))
            if record is not None and record[0] >= minimum:
                score = record[1] / record[0]
                if score > best_score:
                    best, best_score = agent, score
        if best is not None:
            return best
    strategy = config.strategy
    if strategy == Strategy.LEAST_OCCUPIED:
        return min(agents, key=lambda a: (a.occupancy(), a.idle_since, a.config.id))
    if strategy == Strategy.ROUND_ROBIN:
        return min(agents, key=lambda a: (queue.rr.get(a.config.id, -1), a.config.id))
    if strategy == Strategy.SKILLS_WEIGHTED:
        skills = item.skills or tuple(config.skills)

        def weight(a: AgentState) -> tuple[int, float, str]:
            held = a.config.skills
            return (-sum(held.get(s, 0) for s in skills), a.idle_since, a.config.id)

        return min(agents, key=weight)
    return min(agents, key=lambda a: (a.idle_since, a.config.id))


def _route_item(state: RoutingState, item: Item, now: float, out: list[Decision]) -> None:
    """Offer ``item`` to the best free agent now, or leave it waiting in its queue."""
    agents = _candidates(state, item, now)
    if not agents:
        if item.entry is None and item.status == WAITING:
            _push(state, item)
        return
    if item.arm is None:
        item.arm = _arm(state, item)
    config = state.queues[item.queue_id].config
    if config.strategy == Strategy.RING_ALL and not config.auto_accept:
        for agent in sorted(agents, key=lambda a: a.config.id):
            _offer(state, agent, item, now, out)
    else:
        _offer(state, _pick(state, item, agents), item, now, out)


def _push(state: RoutingState, item: Item) -> None:
    queue = state.queues[item.queue_id]
    if not item.seq:
        state.seq += 1
        item.seq = state.seq
    key = -item.priority + queue.config.aging_per_minute * item.enqueued_at / 60.0
    queue.pushes += 1
    entry: list[Any] = [key, item.enqueued_at, item.seq, queue.pushes, item]
    item.entry = entry
    heapq.heappush(queue.waiting.setdefault(item.channel, []), entry)


def _offer(
    state: RoutingState, agent: AgentState, item: Item, now: float, out: list[Decision]
) -> None:
    if item.entry is not None:
        item.entry[4] = None
        item.entry = None
    queue = state.queues[item.queue_id]
    queue.rr_seq += 1
    queue.rr[agent.config.id] = queue.rr_seq
    agent.load[item.channel] = agent.load.get(item.channel, 0) + 1
    _unprefer(state, item)
    if queue.config.auto_accept:
        item.status, item.agent = ASSIGNED, agent.config.id
        agent.tasks[item.id] = item.channel
        out.append(Assigned(item.id, agent.config.id, item.queue_id, now - item.enqueued_at,
                            item.callback, item.arm))  # fmt: skip
        return
    item.status = OFFERED
    item.offered_to.add(agent.config.id)
    item.offer_token += 1
    agent.offers[item.id] = item.offer_token
    expires = now + queue.config.offer_timeout
    _timer(state, expires, _OFFER, item.id, agent.config.id, item.offer_token)
    out.append(
        Offered(item.id, agent.config.id, expires, item.callback, item.queue_id, item.channel)
    )


def _unload(agent: AgentState, item_id: str, channel: str, now: float) -> None:
    agent.tasks.pop(item_id, None)
    agent.offers.pop(item_id, None)
    left = agent.load.get(channel, 0) - 1
    if left > 0:
        agent.load[channel] = left
    else:
        agent.load.pop(channel, None)
    if not agent.load:
        agent.idle_since = now


def _revoke(
    state: RoutingState, agent: AgentState, item: Item, reason: str, now: float,
    out: list[Decision], *, route: bool = True, fill: bool = True,
) -> None:  # fmt: skip
    """End one agent's offer; the item goes to the next agent or back in line, in place."""
    _unload(agent, item.id, item.channel, now)
    item.offered_to.discard(agent.config.id)
    out.append(Revoked(item.id, agent.config.id, reason))
    if reason in ("timeout", "declined", "agent_unavailable"):
        # Not offered to this agent again for a while; then the item looks for agents anew.
        until = now + max(state.queues[item.queue_id].config.offer_timeout, 1.0)
        item.declined[agent.config.id] = until
        _timer(state, until, _RETRY, item.id, "", 0)
    if not item.offered_to and item.status == OFFERED:
        item.status = WAITING
        if route:
            _route_item(state, item, now, out)
    if fill:
        _fill_agent(state, agent, now, out)


def _dispatch_queue(
    state: RoutingState, queue: QueueState, now: float, out: list[Decision]
) -> None:
    for agent_id in sorted(queue.reach):
        _fill_agent(state, state.agents[agent_id], now, out)


def _fill_agent(state: RoutingState, agent: AgentState, now: float, out: list[Decision]) -> None:
    """Give a free agent the best waiting items it can take, until it is full."""
    while agent.presence == Presence.AVAILABLE:
        item = _best_for(state, agent, now)
        if item is None:
            return
        if item.arm is None:
            item.arm = _arm(state, item)
        _offer(state, agent, item, now, out)


def _best_for(state: RoutingState, agent: AgentState, now: float) -> Item | None:
    best: Item | None = None
    best_rank: tuple[float, float, int] | None = None
    agent_id = agent.config.id
    for item_id in state.preferred.get(agent_id, ()):  # transferred or last-agent items first
        item = state.items[item_id]
        if (
            item.status == WAITING
            and item.preferred_until > now
            and agent.room(item.channel)
            and state.queues[item.queue_id].config.open
        ):
            rank = (-effective_priority(state, item, now), item.enqueued_at, item.seq)
            if best_rank is None or rank < best_rank:
                best, best_rank = item, rank
    if best is not None:
        return best
    for queue_id in state.agent_queues.get(agent_id, ()):
        queue = state.queues[queue_id]
        config = queue.config
        if not config.open:
            continue
        for channel, heap in queue.waiting.items():
            if not heap or not agent.room(channel):
                continue
            while heap and heap[0][4] is None:
                heapq.heappop(heap)
            if not heap:
                continue
            entry = heap[0] if _takes(agent, heap[0][4], config, now) else None
            if entry is None and len(heap) > 1:
                window = heapq.nsmallest(SCAN, heap)
                if len(heap) > SCAN and any(e[4] is None for e in window):
                    # Entries of items offered from behind the head stay until they reach the
                    # top; left there they would fill the window and hide live items.
                    heap[:] = [e for e in heap if e[4] is not None]
                    heapq.heapify(heap)
                    window = heapq.nsmallest(SCAN, heap)
                for candidate in window:
                    if candidate[4] is not None and _takes(agent, candidate[4], config, now):
                        entry = candidate
                        break
            if entry is None:
                continue
            found: Item = entry[4]
            rank = (-effective_priority(state, found, now), found.enqueued_at, entry[2])
            if best_rank is None or rank < best_rank:
                best, best_rank = found, rank
    return best


def _takes(agent: AgentState, item: Item, config: QueueConfig, now: float) -> bool:
    if item.preferred and item.preferred_until > now and item.preferred != agent.config.id:
        return False
    return item.declined.get(agent.config.id, 0.0) <= now and _qualifies(
        agent.config, item.skills, config.min_proficiency
    )


_HANDLERS: dict[type, Any] = {
    UpsertQueue: _upsert_queue,
    UpsertAgent: _upsert_agent,
    RemoveAgent: _remove_agent,
    SetPresence: _set_presence,
    Enqueue: _enqueue,
    Accept: _accept,
    Decline: _decline,
    Withdraw: _withdraw,
    RequestCallback: _callback,
    Complete: _complete,
    EndWrapup: _end_wrapup,
    Transfer: _transfer,
    Outcome: _outcome,
    Tick: _tick,
    Configure: _configure,
    Pick: _take,
}
