"""Routing events and state as JSON-able dicts: the SQL store's event log and snapshots.

Replaying the log through the deterministic engine rebuilds the state exactly, so a snapshot
is only a shortcut: the state after event ``n``, written now and then so that a process that
starts cold replays a few hundred events, not the tenant's whole history.
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any

from centralita.routing import model
from centralita.routing.engine import (
    WAITING,
    AgentState,
    Item,
    QueueState,
    RoutingState,
    _push,
)
from centralita.routing.model import (
    AgentConfig,
    Event,
    OverflowStep,
    Presence,
    QueueConfig,
    RoutingSettings,
    Strategy,
)

EVENTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        model.UpsertQueue, model.UpsertAgent, model.RemoveAgent, model.SetPresence,
        model.Enqueue, model.Accept, model.Decline, model.Withdraw, model.RequestCallback,
        model.Complete, model.EndWrapup, model.Transfer, model.Outcome, model.Tick,
        model.Configure, model.Pick,
    )
}  # fmt: skip


class CodecError(ValueError):
    pass


# ---- configuration ---------------------------------------------------------------------------


def queue_to_dict(queue: QueueConfig) -> dict[str, Any]:
    data = dataclasses.asdict(queue)
    data["skills"] = list(queue.skills)
    data["strategy"] = queue.strategy.value
    data["overflow"] = [
        {
            "after": s.after,
            "skills": None if s.skills is None else list(s.skills),
            "queue": s.queue,
            "action": s.action,
        }
        for s in queue.overflow
    ]
    return data


def queue_from_dict(data: dict[str, Any]) -> QueueConfig:
    data = dict(data)
    data["skills"] = tuple(data.get("skills", ()))
    data["strategy"] = Strategy(data.get("strategy", Strategy.LONGEST_IDLE))
    data["overflow"] = tuple(
        OverflowStep(
            after=float(s["after"]),
            skills=None if s.get("skills") is None else tuple(s["skills"]),
            queue=s.get("queue"),
            action=s.get("action"),
        )
        for s in data.get("overflow", ())
    )
    return QueueConfig(**data)


def agent_to_dict(agent: AgentConfig) -> dict[str, Any]:
    return {"id": agent.id, "skills": dict(agent.skills), "capacity": dict(agent.capacity),
            "blocking": sorted(agent.blocking)}  # fmt: skip


def agent_from_dict(data: dict[str, Any]) -> AgentConfig:
    return AgentConfig(
        id=data["id"], skills=dict(data.get("skills", {})), capacity=dict(data["capacity"]),
        blocking=frozenset(data.get("blocking", ())),
    )  # fmt: skip


def settings_to_dict(settings: RoutingSettings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def settings_from_dict(data: dict[str, Any]) -> RoutingSettings:
    return RoutingSettings(**data)


# ---- events ----------------------------------------------------------------------------------


def event_to_dict(event: Event) -> dict[str, Any]:
    kind = type(event).__name__
    if isinstance(event, model.UpsertQueue):
        return {"kind": kind, "queue": queue_to_dict(event.queue)}
    if isinstance(event, model.UpsertAgent):
        return {"kind": kind, "agent": agent_to_dict(event.agent)}
    if isinstance(event, model.Configure):
        return {"kind": kind, "settings": settings_to_dict(event.settings)}
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    if isinstance(event, model.SetPresence):
        data["presence"] = event.presence.value
    data["kind"] = kind
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    data = dict(data)
    cls = EVENTS.get(data.pop("kind", ""))
    if cls is None:
        raise CodecError("unknown routing event")
    if cls is model.UpsertQueue:
        return model.UpsertQueue(queue_from_dict(data["queue"]))
    if cls is model.UpsertAgent:
        return model.UpsertAgent(agent_from_dict(data["agent"]))
    if cls is model.Configure:
        return model.Configure(settings_from_dict(data["settings"]))
    if cls is model.SetPresence:
        data["presence"] = Presence(data["presence"])
    try:
        return cls(**data)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise CodecError(f"bad routing event: {exc}") from None


# ---- state -----------------------------------------------------------------------------------


def state_to_dict(state: RoutingState) -> dict[str, Any]:
    return {
        "settings": settings_to_dict(state.settings),
        "seq": state.seq,
        "queues": [
            {
                "config": queue_to_dict(q.config),
                "reach": sorted(q.reach),
                "rr": q.rr,
                "rr_seq": q.rr_seq,
            }
            for q in state.queues.values()
        ],
        "agents": [
            {
                "config": agent_to_dict(a.config),
                "presence": a.presence.value,
                "load": a.load,
                "offers": a.offers,
                "tasks": a.tasks,
                "idle_since": a.idle_since,
                "declines": a.declines,
                "wrapup_token": a.wrapup_token,
            }
            for a in state.agents.values()
        ],
        "items": [_item_to_dict(i) for i in state.items.values()],
        "agent_queues": {k: sorted(v) for k, v in state.agent_queues.items()},
        "timers": [list(t) for t in state.timers],
        "performance": [[a, i, n, s] for (a, i), (n, s) in state.performance.items()],
        "preferred": {k: sorted(v) for k, v in state.preferred.items()},
    }


_ITEM_FIELDS = (
    "id", "queue_id", "channel", "priority", "intent", "callback", "enqueued_at", "skills",
    "stage", "preferred", "preferred_until", "status", "agent", "offer_token", "arm", "seq",
)  # fmt: skip


def _item_to_dict(item: Item) -> dict[str, Any]:
    data = {name: getattr(item, name) for name in _ITEM_FIELDS}
    data["skills"] = list(item.skills)
    data["declined"] = item.declined
    data["offered_to"] = sorted(item.offered_to)
    return data


def state_from_dict(data: dict[str, Any]) -> RoutingState:
    state = RoutingState(settings=settings_from_dict(data["settings"]), seq=int(data["seq"]))
    for q in data["queues"]:
        queue = QueueState(queue_from_dict(q["config"]))
        queue.reach, queue.rr, queue.rr_seq = set(q["reach"]), dict(q["rr"]), int(q["rr_seq"])
        state.queues[queue.config.id] = queue
    for a in data["agents"]:
        agent = AgentState(agent_from_dict(a["config"]), float(a["idle_since"]))
        agent.presence = Presence(a["presence"])
        agent.load, agent.offers, agent.tasks = dict(a["load"]), dict(a["offers"]), dict(a["tasks"])
        agent.declines, agent.wrapup_token = int(a["declines"]), int(a["wrapup_token"])
        state.agents[agent.config.id] = agent
    for d in data["items"]:
        item = Item.__new__(Item)
        for name in _ITEM_FIELDS:
            setattr(item, name, d[name])
        item.skills = tuple(d["skills"])
        item.declined = {k: float(v) for k, v in d["declined"].items()}
        item.offered_to = set(d["offered_to"])
        item.entry = None
        state.items[item.id] = item
    for item in sorted(state.items.values(), key=lambda i: i.seq):
        if item.status == WAITING:
            _push(state, item)
    state.agent_queues = {k: set(v) for k, v in data["agent_queues"].items()}
    state.timers = [tuple(t) for t in data["timers"]]
    heapq.heapify(state.timers)
    state.performance = {(a, i): [float(n), float(s)] for a, i, n, s in data["performance"]}
    state.preferred = {k: set(v) for k, v in data["preferred"].items()}
    return state
