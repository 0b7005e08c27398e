"""Random event sequences through the ACD engine; invariants checked after every step.

A few agents (mixed capacities, some with skills), two queues (one ring-all, one with skills,
aging, wrap-up and overflow), item and agent ids from small pools so that collisions and bad
ids happen. Besides raw events the sequences hold "smart" actions (accept, decline or complete
one of the open offers or assignments, tick at the next deadline) so that they get somewhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centralita.routing.engine import (
    ASSIGNED,
    OFFERED,
    WAITING,
    RoutingState,
    decide,
    next_deadline,
)
from centralita.routing.model import (
    Accept,
    AgentConfig,
    Assigned,
    Complete,
    Decision,
    Decline,
    EndWrapup,
    Enqueue,
    Event,
    Offered,
    Outcome,
    OverflowStep,
    Presence,
    QueueConfig,
    Queued,
    Rejected,
    Released,
    RemoveAgent,
    RequestCallback,
    SetPresence,
    Strategy,
    Tick,
    Transfer,
    UpsertAgent,
    UpsertQueue,
    Withdraw,
)

ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"]
AGENTS = ["a0", "a1", "a2", "a3"]
CHANNELS = ["voice", "webchat", "email"]

QUEUES = [
    QueueConfig(
        "q",
        skills=("es",),
        strategy=Strategy.LEAST_OCCUPIED,
        aging_per_minute=5,
        offer_timeout=10,
        wrapup_seconds=5,
        overflow=(OverflowStep(after=20, skills=()), OverflowStep(after=40, queue="ring")),
        max_declines=3,
    ),
    QueueConfig("ring", strategy=Strategy.RING_ALL, offer_timeout=15, max_declines=2),
]
AGENT_CONFIGS = [
    AgentConfig("a0"),  # one call at a time, nothing else
    AgentConfig("a1", skills={"es": 3}, capacity={"voice": 1, "webchat": 3, "email": 10}),
    AgentConfig("a2", skills={"es": 1}, capacity={"webchat": 2, "email": 3}, blocking=frozenset()),
    AgentConfig("a3", capacity={"voice": 1, "webchat": 1}),
]

item_ids = st.sampled_from(ITEMS)
agent_ids = st.sampled_from([*AGENTS, "ghost"])
queue_ids = st.sampled_from(["q", "ring", "nowhere"])

enqueues = st.builds(
    Enqueue,
    item_id=item_ids,
    queue_id=st.sampled_from(["q", "ring", "ring", "nowhere"]),
    channel=st.sampled_from(CHANNELS),
    priority=st.sampled_from([0, 0, 10]),
    intent=st.sampled_from([None, "billing"]),
    preferred_agent=st.none() | agent_ids,
    preferred_seconds=st.sampled_from([0.0, 15.0]),
    callback=st.booleans(),
)
raw_events = st.one_of(
    enqueues,
    enqueues,
    st.builds(Accept, item_ids, agent_ids),
    st.builds(Decline, item_ids, agent_ids),
    st.builds(Withdraw, item_ids),
    st.builds(Complete, item_ids, wrapup=st.booleans()),
    st.builds(SetPresence, agent_ids, st.sampled_from(list(Presence))),
    st.builds(SetPresence, agent_ids, st.just(Presence.AVAILABLE)),
    st.builds(EndWrapup, agent_ids),
    st.builds(RequestCallback, item_ids),
    st.builds(
        Transfer,
        item_ids,
        to_agent=st.none() | agent_ids,
        to_queue=st.none() | queue_ids,
        offer_seconds=st.sampled_from([5.0, 30.0]),
    ),
    st.builds(Outcome, agent_ids, st.just("billing"), st.sampled_from([0.0, 1.0])),
    st.builds(RemoveAgent, agent_ids),
    st.sampled_from([*QUEUES, *(replace(q, open=False) for q in QUEUES)]).map(UpsertQueue),
    st.just(Tick()),
)
SMART = ["accept", "accept", "accept", "decline", "complete", "complete", "deadline", "deadline"]
SMART += ["withdraw", "transfer", "callback", "available", "rejoin"]
smart = st.tuples(st.sampled_from(SMART), st.integers(0, 11))
steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 1.0, 2.5, 5.0, 12.0, 31.0]),
        st.sampled_from(["raw", "smart", "smart"]).flatmap(
            lambda kind: raw_events if kind == "raw" else smart
        ),
    ),
    min_size=20,
    max_size=60,
)


def start() -> RoutingState:
    state = RoutingState()
    for queue in QUEUES:
        decide(state, UpsertQueue(queue), 0.0)
    for agent in AGENT_CONFIGS:
        decide(state, UpsertAgent(agent), 0.0)
    for agent_id in AGENTS[:3]:
        decide(state, SetPresence(agent_id, Presence.AVAILABLE), 0.0)
    return state


def resolve(state: RoutingState, action: Any, now: float) -> tuple[Event, float]:
    """A raw event as it is; a smart action against the state as it is now."""
    if not isinstance(action, tuple):
        return action, now
    kind, k = action
    if kind in ("accept", "decline"):
        offers = sorted((i, a) for a, agent in state.agents.items() for i in agent.offers)
        if offers:
            item_id, agent_id = offers[k % len(offers)]
            event = Accept(item_id, agent_id) if kind == "accept" else Decline(item_id, agent_id)
            return event, now
    elif kind == "complete":
        tasks = sorted(i for agent in state.agents.values() for i in agent.tasks)
        if tasks:
            return Complete(tasks[k % len(tasks)], wrapup=k % 2 == 0), now
    elif kind == "available":
        return SetPresence(AGENTS[k % len(AGENTS)], Presence.AVAILABLE), now
    elif kind == "rejoin":  # an agent removed earlier comes back (same configuration)
        missing = [a for a in AGENT_CONFIGS if a.id not in state.agents]
        if missing:
            return UpsertAgent(missing[k % len(missing)]), now
    elif kind in ("withdraw", "transfer", "callback"):
        routed = sorted(state.items)
        if routed:
            item_id = routed[k % len(routed)]
            if kind == "withdraw":
                return Withdraw(item_id), now
            if kind == "callback":
                return RequestCallback(item_id), now
            if k % 3 == 0:
                return Transfer(item_id, to_agent=AGENTS[k % len(AGENTS)]), now
            if k % 3 == 1:
                return Transfer(item_id, to_queue=["q", "ring"][k % 2], offer_seconds=10), now
            return Transfer(item_id), now
    else:
        deadline = next_deadline(state)
        if deadline is not None:
            return Tick(), max(now, deadline)
    return Tick(), now


def check_state(state: RoutingState, now: float, live: set[str]) -> None:
    items, agents = state.items, state.agents

    # (e) nothing lost: exactly the items queued and not released are routed, in a known status
    assert set(items) == live
    for item in items.values():
        assert item.status in (WAITING, OFFERED, ASSIGNED), item.status

    # (a) an assigned item is in exactly one agent's tasks, its own agent's
    holders: dict[str, list[str]] = {}
    for agent_id, agent in agents.items():
        for item_id in agent.tasks:
            holders.setdefault(item_id, []).append(agent_id)
    for item_id, item in items.items():
        if item.status == ASSIGNED:
            assert holders.get(item_id) == [item.agent], (item_id, holders.get(item_id))
        else:
            assert item_id not in holders
    for item_id, who in holders.items():
        assert item_id in items, f"{who} hold {item_id}, which is not routed"

    # (b) load is offers + tasks per channel, within capacity; (c) offers agree both ways
    for agent_id, agent in agents.items():
        expected: Counter[str] = Counter()
        for item_id in agent.offers:
            item = items[item_id]
            assert item.status == OFFERED
            assert agent_id in item.offered_to
            expected[item.channel] += 1
        for item_id, channel in agent.tasks.items():
            assert items[item_id].channel == channel
            expected[channel] += 1
        assert agent.load == dict(expected), (agent_id, agent.load, dict(expected))
        for channel, n in agent.load.items():
            assert n <= agent.config.capacity.get(channel, 0), (agent_id, channel, n)
        if agent.offers:
            assert agent.presence == Presence.AVAILABLE, (agent_id, agent.presence)
    for item_id, item in items.items():
        assert (item.status == OFFERED) == bool(item.offered_to)
        for agent_id in item.offered_to:
            assert item_id in agents[agent_id].offers

    # (e) a waiting item has exactly one live heap entry, in its queue and channel's heap
    entries: dict[str, list[tuple[str, str]]] = {}
    for queue_id, queue in state.queues.items():
        for channel, heap in queue.waiting.items():
            for entry in heap:
                if entry[-1] is not None:
                    entries.setdefault(entry[-1].id, []).append((queue_id, channel))
                    assert entry[-1] is items[entry[-1].id]
                    assert entry is entry[-1].entry
    for item_id, item in items.items():
        if item.status == WAITING:
            assert entries.get(item_id) == [(item.queue_id, item.channel)], item_id
        else:
            assert item_id not in entries, item_id

    # (f) after every event no waiting item has a free agent who could take it
    for item in items.values():
        if item.status != WAITING or not state.queues[item.queue_id].config.open:
            continue
        config = state.queues[item.queue_id].config
        for agent_id, agent in agents.items():
            if agent.presence != Presence.AVAILABLE or not agent.room(item.channel):
                continue
            if item.preferred and item.preferred_until > now:
                assert agent_id != item.preferred, (item.id, agent_id, "preferred")
                continue
            declined = item.declined.get(agent_id, 0.0) > now
            held = agent.config.skills
            qualifies = all(held.get(s, 0) >= config.min_proficiency for s in item.skills)
            assert declined or not qualifies, (item.id, agent_id)


def snapshot(state: RoutingState) -> Any:
    """What a rejected event must leave alone (timers aside: due ones fire first)."""
    agents = {
        k: (a.presence, dict(a.load), dict(a.offers), dict(a.tasks), a.idle_since, a.declines)
        for k, a in state.agents.items()
    }
    items = {
        k: (i.status, i.queue_id, i.agent, set(i.offered_to), i.callback, i.preferred, i.skills)
        for k, i in state.items.items()
    }
    waiting = sorted(
        (q, c, e[-1].id) for q, queue in state.queues.items()
        for c, heap in queue.waiting.items() for e in heap if e[-1] is not None
    )  # fmt: skip
    return agents, items, waiting, {k: list(v) for k, v in state.performance.items()}


def check_decisions(decisions: list[Decision], live: set[str], assigned: set[str]) -> None:
    for d in decisions:
        if isinstance(d, Queued):
            live.add(d.item_id)
        elif isinstance(d, Assigned):
            # (d) never assigned twice without a release (a transfer releases) in between
            assert d.item_id not in assigned, d
            assigned.add(d.item_id)
        elif isinstance(d, Released):
            assigned.discard(d.item_id)
            if d.reason not in ("transferred", "agent_removed"):  # these go back in line
                live.discard(d.item_id)
        elif isinstance(d, Offered):
            assert d.item_id in live


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=steps, cut=st.integers(0, 60))
def test_invariants_hold_after_every_step(steps: list[tuple[float, Any]], cut: int) -> None:
    state = start()
    now = 0.0
    live: set[str] = set()
    assigned: set[str] = set()
    played: list[tuple[Event, float]] = []
    outputs: list[list[Decision]] = []
    twin: RoutingState | None = None
    for n, (delta, action) in enumerate(steps):
        if n == cut:
            twin = state.copy()
        event, now = resolve(state, action, now + delta)
        deadline = next_deadline(state)
        quiet = deadline is None or deadline > now  # no timer fires before the event
        before = snapshot(state) if quiet else None
        state, decisions = decide(state, event, now)
        if before is not None and len(decisions) == 1 and isinstance(decisions[0], Rejected):
            assert snapshot(state) == before, decisions  # rejected: nothing changed
        played.append((event, now))
        outputs.append(decisions)
        check_decisions(decisions, live, assigned)
        check_state(state, now, live)
    if twin is not None:  # a copy decides the rest exactly as the original did
        for (event, at), expected in zip(played[cut:], outputs[cut:], strict=True):
            twin, decisions = decide(twin, event, at)
            assert decisions == expected


@settings(max_examples=50, deadline=None)
@given(steps=steps)
def test_the_same_events_give_the_same_decisions(steps: list[tuple[float, Any]]) -> None:
    state = start()
    now = 0.0
    played: list[tuple[Event, float]] = []
    first: list[Decision] = []
    for delta, action in steps:
        event, now = resolve(state, action, now + delta)
        state, decisions = decide(state, event, now)
        played.append((event, now))
        first += decisions
    again = start()
    second: list[Decision] = []
    for event, at in played:
        again, decisions = decide(again, event, at)
        second += decisions
    assert second == first
