"""The ACD engine, event by event: strategies, capacity, priority, offers, bad input, timers.

Every test builds a small state, plays ``(event, time)`` steps through ``decide`` and looks at
the decisions that came out (and, where it matters, at the state).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from centralita.routing.engine import (
    RoutingState,
    decide,
    effective_priority,
    next_deadline,
    oldest_wait,
    position,
    priority_for,
    waiting_count,
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
    Moved,
    Offered,
    Outcome,
    OverflowStep,
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

AVAILABLE, AWAY, WRAPUP = Presence.AVAILABLE, Presence.AWAY, Presence.WRAPUP
MULTI = {"voice": 1, "webchat": 3, "email": 10}
T = TypeVar("T")

# ---- helpers ---------------------------------------------------------------------------------


def play(state: RoutingState, steps: Iterable[tuple[Event, float]]) -> list[Decision]:
    """Apply the events at their times; all the decisions, in order."""
    out: list[Decision] = []
    for event, now in steps:
        _, decisions = decide(state, event, now)
        out.extend(decisions)
    return out


def routing(
    *queues: QueueConfig,
    agents: Sequence[AgentConfig] = (),
    available: Sequence[str] = (),
    settings: RoutingSettings | None = None,
) -> RoutingState:
    """A state with these queues and agents at time 0, ``available`` ones available."""
    state = RoutingState(settings=settings or RoutingSettings())
    steps: list[tuple[Event, float]] = [(UpsertQueue(q), 0.0) for q in queues]
    steps += [(UpsertAgent(a), 0.0) for a in agents]
    steps += [(SetPresence(a, AVAILABLE), 0.0) for a in available]
    play(state, steps)
    return state


def agents(*ids: str, **config: Any) -> list[AgentConfig]:
    return [AgentConfig(i, **config) for i in ids]


def offered(out: list[Decision]) -> list[tuple[str, str]]:
    return [(d.item_id, d.agent_id) for d in out if isinstance(d, Offered)]


def assigned(out: list[Decision]) -> list[tuple[str, str]]:
    return [(d.item_id, d.agent_id) for d in out if isinstance(d, Assigned)]


def revoked(out: list[Decision]) -> list[tuple[str, str, str]]:
    return [(d.item_id, d.agent_id, d.reason) for d in out if isinstance(d, Revoked)]


def codes(out: list[Decision]) -> list[str]:
    return [d.code for d in out if isinstance(d, Rejected)]


def of(out: list[Decision], kind: type[T]) -> list[T]:
    return [d for d in out if isinstance(d, kind)]


def serve(state: RoutingState, out: list[Decision], agent: str, now: float) -> list[str]:
    """Accept and complete, one by one, whatever ``agent`` is offered; the items in order."""
    served: list[str] = []
    pending = [i for i, a in offered(out) if a == agent]
    while pending:
        item = pending.pop(0)
        served.append(item)
        now += 1
        more = play(state, [(Accept(item, agent), now), (Complete(item), now)])
        pending += [i for i, a in offered(more) if a == agent]
    return served


def describe(state: RoutingState) -> dict[str, Any]:
    """Everything that decides the future, as plain data (no counters, no heap layout)."""
    waiting = {
        queue_id: {
            channel: [e[-1].id for e in sorted(live, key=lambda e: e[:3])]
            for channel, heap in queue.waiting.items()
            if (live := [e for e in heap if e[-1] is not None])
        }
        for queue_id, queue in state.queues.items()
    }
    agents = {
        k: (a.presence, a.load, a.offers, a.tasks, a.idle_since, a.declines)
        for k, a in state.agents.items()
    }
    items = {
        k: (
            *(i.status, i.queue_id, i.agent, sorted(i.offered_to), i.enqueued_at, i.callback),
            *(i.priority, i.declined, i.skills, i.preferred, i.preferred_until, i.arm),
        )
        for k, i in state.items.items()
    }
    timers = sorted((t[0], t[2], t[3], t[4], t[5]) for t in state.timers)
    return copy.deepcopy(
        {
            "agents": agents,
            "items": items,
            "waiting": waiting,
            "timers": timers,
            "performance": state.performance,
            "preferred": state.preferred,
        }
    )


# ---- strategies ------------------------------------------------------------------------------


def test_longest_idle_picks_the_agent_idle_longest_and_idle_since_moves_when_freed() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b", "c"), available=["a", "b", "c"])
    out = play(
        state,
        [
            (Enqueue("x1", "q", "voice"), 1),
            (Accept("x1", "a"), 1),
            (Enqueue("x2", "q", "voice"), 2),
            (Accept("x2", "b"), 2),
        ],
    )
    assert offered(out) == [("x1", "a"), ("x2", "b")]
    out = play(state, [(Complete("x1"), 10), (Enqueue("x3", "q", "voice"), 11)])
    assert offered(out) == [("x3", "c")]  # c idle since 0; a only since 10
    out = play(state, [(Complete("x2"), 12), (Enqueue("x4", "q", "voice"), 13)])
    assert offered(out) == [("x4", "a")]  # a idle since 10 beats b since 12


def test_longest_idle_counts_from_when_the_agent_became_available() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b", "c"), available=["b", "c"])
    out = play(
        state,
        [
            (SetPresence("b", AWAY), 5),
            (SetPresence("a", AVAILABLE), 50),  # logged in late: idle for 10 s, not 60
            (SetPresence("b", AVAILABLE), 55),  # back from a break: idle for 5 s
            (Enqueue("x", "q", "voice"), 60),
        ],
    )
    assert offered(out) == [("x", "c")]


def test_least_occupied_prefers_the_agent_with_fewer_chats() -> None:
    state = routing(
        QueueConfig("q", strategy=Strategy.LEAST_OCCUPIED),
        agents=agents("a", "b", capacity={"webchat": 3}),
        available=["a", "b"],
    )
    steps: list[tuple[Event, float]] = []
    for n, agent in ((1, "a"), (2, "b"), (3, "a")):
        steps += [(Enqueue(f"c{n}", "q", "webchat"), n), (Accept(f"c{n}", agent), n)]
    out = play(state, [*steps, (Enqueue("c4", "q", "webchat"), 4)])
    assert offered(out) == [("c1", "a"), ("c2", "b"), ("c3", "a"), ("c4", "b")]


def test_round_robin_rotates_across_the_queue_agents() -> None:
    state = routing(
        QueueConfig("q", strategy=Strategy.ROUND_ROBIN, auto_accept=True),
        agents=agents("a", "b", "c", capacity={"webchat": 3}),
        available=["a", "b", "c"],
    )
    out = play(state, [(Enqueue(f"c{n}", "q", "webchat"), n) for n in range(1, 8)])
    assert [a for _, a in assigned(out)] == ["a", "b", "c", "a", "b", "c", "a"]


def test_round_robin_goes_by_the_last_offer_not_by_idle_time() -> None:
    state = routing(
        QueueConfig("q", strategy=Strategy.ROUND_ROBIN, auto_accept=True),
        agents=agents("a", "b"),
        available=["a", "b"],
    )
    out = play(
        state,
        [
            (Enqueue("x1", "q", "voice"), 1),  # a
            (Enqueue("x2", "q", "voice"), 2),  # b
            (Complete("x2"), 3),  # b idle since 3
            (Complete("x1"), 10),  # a idle since 10, but its turn came before b's
            (Enqueue("x3", "q", "voice"), 11),
        ],
    )
    assert assigned(out) == [("x1", "a"), ("x2", "b"), ("x3", "a")]


def test_skills_weighted_picks_the_highest_proficiency_sum() -> None:
    state = routing(
        QueueConfig("q", skills=("billing", "es"), strategy=Strategy.SKILLS_WEIGHTED),
        agents=[
            AgentConfig("a", skills={"billing": 2, "es": 2}),
            AgentConfig("b", skills={"billing": 5, "es": 4}),
            AgentConfig("c", skills={"billing": 3, "es": 3}),
            AgentConfig("d", skills={"billing": 5}),  # no Spanish: not eligible
        ],
        available=["a", "b", "c", "d"],
    )
    out = play(state, [(Enqueue("x", "q", "voice"), 1)])
    assert offered(out) == [("x", "b")]


def test_ring_all_offers_everyone_and_the_first_accept_wins() -> None:
    state = routing(
        QueueConfig("q", strategy=Strategy.RING_ALL),
        agents=agents("a", "b", "c", "d"),
        available=["a", "b", "c"],
    )
    out = play(state, [(Enqueue("x", "q", "voice"), 1)])
    assert offered(out) == [("x", "a"), ("x", "b"), ("x", "c")]

    out = play(state, [(Accept("x", "b"), 5)])
    assert assigned(out) == [("x", "b")]
    assert sorted(revoked(out)) == [("x", "a", "taken"), ("x", "c", "taken")]

    out = play(state, [(Accept("x", "c"), 6)])
    assert codes(out) == ["already_assigned"]
    assert state.items["x"].agent == "b"

    out = play(state, [(Enqueue("y", "q", "voice"), 7)])  # a and c are free again
    assert offered(out) == [("y", "a"), ("y", "c")]


# ---- capacity --------------------------------------------------------------------------------


def test_capacity_is_per_channel_and_the_fourth_chat_waits() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", capacity=MULTI), available=["a"])
    out = play(state, [(Enqueue(f"c{n}", "q", "webchat"), n) for n in range(1, 5)])
    assert offered(out) == [("c1", "a"), ("c2", "a"), ("c3", "a")]  # open offers count
    assert of(out, Queued)[-1] == Queued("c4", "q")
    assert position(state, "c4") == 1

    out = play(state, [(Enqueue("e1", "q", "email"), 5)])  # another channel has its own room
    assert offered(out) == [("e1", "a")]

    out = play(state, [(Accept("c1", "a"), 6), (Complete("c1"), 7)])
    assert offered(out) == [("c4", "a")]


def test_an_open_offer_takes_capacity() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    out = play(state, [(Enqueue("x", "q", "voice"), 1), (Enqueue("y", "q", "voice"), 2)])
    assert offered(out) == [("x", "a")]
    assert state.agents["a"].load == {"voice": 1}
    out = play(state, [(Decline("x", "a"), 3)])
    assert offered(out) == [("y", "a")]


def test_a_call_blocks_the_other_channels_but_chats_do_not_block_a_call() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", capacity=MULTI), available=["a"])
    out = play(
        state,
        [
            (Enqueue("call", "q", "voice"), 1),
            (Enqueue("chat", "q", "webchat"), 2),
            (Enqueue("mail", "q", "email"), 3),
        ],
    )
    assert offered(out) == [("call", "a")]  # even an offered call blocks the rest
    out = play(state, [(Accept("call", "a"), 4)])
    assert offered(out) == []
    out = play(state, [(Complete("call"), 50)])
    assert offered(out) == [("chat", "a"), ("mail", "a")]

    out = play(state, [(Enqueue("call2", "q", "voice"), 51)])  # webchat is not blocking
    assert offered(out) == [("call2", "a")]


# ---- priority --------------------------------------------------------------------------------


def busy_agent(*queues: QueueConfig) -> RoutingState:
    """One agent ``a``, on a call (item ``busy`` in the first queue) from time 0."""
    state = routing(*queues, agents=agents("a"), available=["a"])
    play(state, [(Enqueue("busy", queues[0].id, "voice"), 0), (Accept("busy", "a"), 0)])
    return state


def test_higher_priority_first_then_the_oldest() -> None:
    state = busy_agent(QueueConfig("q"))
    play(
        state,
        [
            (Enqueue("low", "q", "voice"), 1),
            (Enqueue("high1", "q", "voice", priority=5), 2),
            (Enqueue("high2", "q", "voice", priority=5), 3),
        ],
    )
    assert [position(state, i) for i in ("high1", "high2", "low")] == [1, 2, 3]
    out = play(state, [(Complete("busy"), 10)])
    assert serve(state, out, "a", 10) == ["high1", "high2", "low"]


@pytest.mark.parametrize(("later", "first"), [(240.0, "high"), (360.0, "low")])
def test_aging_lets_an_old_low_priority_item_overtake_a_newer_higher_one(
    later: float, first: str
) -> None:
    # 10 points a minute: after 5 minutes the old item has made up the 50 points.
    state = busy_agent(QueueConfig("q", aging_per_minute=10))
    play(
        state,
        [(Enqueue("low", "q", "voice"), 0), (Enqueue("high", "q", "voice", priority=50), later)],
    )
    now = later + 10
    low, high = (effective_priority(state, state.items[i], now) for i in ("low", "high"))
    assert low == pytest.approx(10 * now / 60)
    assert high == pytest.approx(50 + 10 * 10 / 60)
    out = play(state, [(Complete("busy"), now)])
    assert offered(out) == [(first, "a")]
    assert position(state, "high" if first == "low" else "low") == 1


def test_queue_priority_orders_items_across_the_queues_an_agent_serves() -> None:
    state = busy_agent(QueueConfig("sales"), QueueConfig("support", priority=20))
    play(
        state,
        [
            (Enqueue("s1", "sales", "voice"), 1),
            (Enqueue("t1", "support", "voice"), 2),
            (Enqueue("s2", "sales", "voice", priority=30), 3),  # 30 > 0 + 20
        ],
    )
    out = play(state, [(Complete("busy"), 10)])
    assert serve(state, out, "a", 10) == ["s2", "t1", "s1"]


def test_priority_for_urgency_and_vip() -> None:
    settings = RoutingSettings()
    assert priority_for(settings, urgency=None, vip=False) == 0
    assert priority_for(settings, urgency="normal", vip=False) == 0
    assert priority_for(settings, urgency="low", vip=False) == -10
    assert priority_for(settings, urgency="high", vip=False) == 50
    assert priority_for(settings, urgency="urgent", vip=False) == 100
    assert priority_for(settings, urgency="urgent", vip=True) == 130
    assert priority_for(settings, urgency=None, vip=True) == 30
    assert priority_for(settings, urgency="whatever", vip=False) == 0
    custom = RoutingSettings(urgency_bonus={"urgent": 7}, vip_bonus=1)
    assert priority_for(custom, urgency="urgent", vip=True) == 8


def test_an_urgent_vip_item_is_served_before_older_normal_ones() -> None:
    settings = RoutingSettings()
    state = busy_agent(QueueConfig("q"))
    normal = priority_for(settings, urgency="normal", vip=False)
    urgent = priority_for(settings, urgency="urgent", vip=True)
    assert urgent > normal
    play(
        state,
        [
            (Enqueue("old1", "q", "voice", priority=normal), 1),
            (Enqueue("old2", "q", "voice", priority=normal), 2),
            (Enqueue("vip", "q", "voice", priority=urgent), 30),
        ],
    )
    out = play(state, [(Complete("busy"), 40)])
    assert serve(state, out, "a", 40) == ["vip", "old1", "old2"]


# ---- offers ----------------------------------------------------------------------------------


def test_accept_assigns_and_reports_the_wait() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    out = play(state, [(Enqueue("x", "q", "voice"), 3)])
    assert out == [
        Queued("x", "q"),
        Offered("x", "a", expires_at=33.0, queue_id="q", channel="voice"),
    ]
    out = play(state, [(Accept("x", "a"), 15)])
    assert out == [Assigned("x", "a", "q", waited=12.0, callback=False, predictive=None)]
    assert state.agents["a"].tasks == {"x": "voice"}
    assert state.agents["a"].offers == {}
    out = play(state, [(Accept("x", "a"), 16)])
    assert codes(out) == ["already_yours"]


def test_decline_sends_the_item_to_the_next_agent() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 1)])
    out = play(state, [(Decline("x", "a"), 3)])
    assert revoked(out) == [("x", "a", "declined")]
    assert offered(out) == [("x", "b")]
    assert state.agents["a"].load == {}


def test_a_declined_item_keeps_its_place_in_line() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("call", "q", "voice"), 0), (Accept("call", "a"), 0)])
    out = play(state, [(Enqueue("x", "q", "voice"), 1), (Enqueue("y", "q", "voice"), 2)])
    assert offered(out) == [("x", "b")]
    out = play(state, [(Decline("x", "b"), 3)])
    assert offered(out) == [("y", "b")]  # x waits; b may not have it again for now
    out = play(state, [(Enqueue("z", "q", "voice"), 4), (Complete("call"), 5)])
    assert offered(out) == [("x", "a")]  # x arrived before z


def test_a_declined_item_keeps_its_place_among_items_entered_at_the_same_time() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("call", "q", "voice"), 0), (Accept("call", "a"), 0)])
    out = play(
        state,
        [
            (Enqueue("x", "q", "voice"), 0),
            (Enqueue("y", "q", "voice"), 0),
            (Enqueue("z", "q", "voice"), 0),
            (Decline("x", "b"), 0),
        ],
    )
    assert offered(out) == [("x", "b"), ("y", "b")]
    assert [position(state, i) for i in ("x", "z")] == [1, 2]
    out = play(state, [(Complete("call"), 1)])
    assert offered(out) == [("x", "a")]


def test_an_offer_times_out_at_next_deadline_and_goes_to_another_agent() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    out = play(state, [(Enqueue("x", "q", "voice"), 0)])
    assert out[-1] == Offered("x", "a", expires_at=30.0, queue_id="q", channel="voice")
    assert next_deadline(state) == 30.0
    assert play(state, [(Tick(), 29.9)]) == []
    out = play(state, [(Tick(), 30.0)])
    assert revoked(out) == [("x", "a", "timeout")]
    assert of(out, Offered) == [Offered("x", "b", expires_at=60.0, queue_id="q", channel="voice")]


@pytest.mark.parametrize("miss", ["decline", "timeout"])
def test_the_agent_that_missed_an_offer_gets_the_item_again_after_offer_timeout(
    miss: str,
) -> None:
    state = routing(QueueConfig("q", offer_timeout=30), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    missed_at = 5.0 if miss == "decline" else 30.0
    event: Event = Decline("x", "a") if miss == "decline" else Tick()
    out = play(state, [(event, missed_at)])
    assert revoked(out) == [("x", "a", "declined" if miss == "decline" else "timeout")]
    assert offered(out) == []
    assert state.items["x"].status == "waiting"
    assert offered(play(state, [(Tick(), missed_at + 29)])) == []
    deadline = next_deadline(state)
    assert deadline is not None
    assert deadline <= missed_at + 30
    out = play(state, [(Tick(), missed_at + 30)])
    assert offered(out) == [("x", "a")]


def test_an_agent_missing_max_declines_offers_in_a_row_goes_away() -> None:
    queue = QueueConfig("q", offer_timeout=10, max_declines=2)
    state = routing(queue, agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Enqueue("y", "q", "voice"), 0)])
    out = play(state, [(Tick(), 10)])
    assert revoked(out) == [("x", "a", "timeout")]
    assert offered(out) == [("y", "a")]
    assert of(out, PresenceChanged) == []

    out = play(state, [(Tick(), 20)])
    assert revoked(out) == [("y", "a", "timeout")]
    assert of(out, PresenceChanged) == [PresenceChanged("a", AWAY, AVAILABLE, 20)]
    assert offered(out) == []  # not offered x first only to revoke it at once
    assert state.agents["a"].presence == AWAY
    assert waiting_count(state, "q") == 2


def test_an_accept_resets_the_missed_offers() -> None:
    queue = QueueConfig("q", offer_timeout=10, max_declines=2)
    state = routing(queue, agents=agents("a", capacity={"webchat": 1}), available=["a"])
    play(state, [(Enqueue("x", "q", "webchat"), 0), (Enqueue("y", "q", "webchat"), 0)])
    play(state, [(Tick(), 10), (Accept("y", "a"), 11), (Complete("y"), 12)])
    assert offered(play(state, [(Tick(), 20)])) == [("x", "a")]
    out = play(state, [(Tick(), 30)])  # x missed again, but only one in a row
    assert revoked(out) == [("x", "a", "timeout")]
    assert of(out, PresenceChanged) == []
    assert state.agents["a"].presence == AVAILABLE


def test_items_behind_a_head_the_agent_cannot_take_are_all_found() -> None:
    # The head waits for an agent who is away; everything behind it goes to a, one by one
    # (each taken from behind the head, which leaves the line with holes to skip).
    state = routing(QueueConfig("q"), agents=agents("a", "p"), available=["a"])
    play(state, [(Enqueue("call", "q", "voice"), 0), (Accept("call", "a"), 0)])
    stuck = Enqueue("stuck", "q", "voice", preferred_agent="p", preferred_seconds=1e6)
    play(state, [(stuck, 0)])
    play(state, [(Enqueue(f"x{n}", "q", "voice"), 1 + n) for n in range(50)])
    out = play(state, [(Complete("call"), 100)])
    assert serve(state, out, "a", 100) == [f"x{n}" for n in range(50)]
    assert position(state, "stuck") == 1
    assert waiting_count(state, "q") == 1


# ---- bad input -------------------------------------------------------------------------------


def test_accepting_an_offer_that_timed_out_is_offer_expired() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Tick(), 30)])
    out = play(state, [(Accept("x", "a"), 31)])
    assert codes(out) == ["offer_expired"]
    assert state.items["x"].status == "waiting"


def test_accepting_at_the_expiry_time_is_too_late_even_without_a_tick() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    out = play(state, [(Accept("x", "a"), 30)])
    assert revoked(out) == [("x", "a", "timeout")]
    assert offered(out) == [("x", "b")]
    assert codes(out) == ["offer_expired"]


def test_a_second_agent_accepting_a_single_offer_is_offer_expired() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Accept("x", "b"), 2)])
    assert codes(out) == ["offer_expired"]
    assert len(out) == 1
    assert state.items["x"].agent == "a"
    assert state.agents["b"].tasks == {}


def test_a_second_agent_accepting_a_ring_all_offer_is_already_assigned() -> None:
    queue = QueueConfig("q", strategy=Strategy.RING_ALL)
    state = routing(queue, agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Accept("x", "b"), 1)])
    assert codes(out) == ["already_assigned"]
    assert state.items["x"].agent == "a"


def test_transfer_to_an_offline_agent_is_rejected_and_changes_nothing() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    before = describe(state)
    out = play(state, [(Transfer("x", to_agent="b"), 5)])
    assert codes(out) == ["agent_unavailable"]
    assert len(out) == 1
    assert describe(state) == before
    assert state.items["x"].agent == "a"
    assert state.items["x"].status == "assigned"
    assert play(state, [(Complete("x"), 6)]) == [Released("x", "completed", "a")]


def test_an_item_with_no_eligible_agent_waits_until_one_is_available() -> None:
    state = routing(
        QueueConfig("q", skills=("fr",)),
        agents=[AgentConfig("a"), AgentConfig("b", skills={"fr": 3})],
        available=["a"],
    )
    out = play(state, [(Enqueue("x", "q", "voice"), 0)])
    assert out == [Queued("x", "q")]
    assert waiting_count(state, "q") == 1
    out = play(state, [(SetPresence("b", AVAILABLE), 7)])
    assert offered(out) == [("x", "b")]


def test_an_agent_gaining_the_skill_gets_the_waiting_item() -> None:
    state = routing(QueueConfig("q", skills=("fr",)), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    out = play(state, [(UpsertAgent(AgentConfig("a", skills={"fr": 1})), 3)])
    assert offered(out) == [("x", "a")]


def test_min_proficiency_is_required() -> None:
    queue = QueueConfig("q", skills=("fr",), min_proficiency=3)
    state = routing(
        queue,
        agents=[AgentConfig("a", skills={"fr": 2}), AgentConfig("b", skills={"fr": 3})],
        available=["a", "b"],
    )
    out = play(state, [(Enqueue("x", "q", "voice"), 0)])
    assert offered(out) == [("x", "b")]


def test_withdrawing_an_offered_conversation_frees_the_agent() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    out = play(state, [(Withdraw("x"), 5)])
    assert out == [Revoked("x", "a", "abandoned"), Released("x", "abandoned", None)]
    agent = state.agents["a"]
    assert (agent.load, agent.offers, agent.tasks) == ({}, {}, {})
    assert "x" not in state.items
    assert codes(play(state, [(Accept("x", "a"), 6)])) == ["not_found"]
    assert offered(play(state, [(Enqueue("y", "q", "voice"), 7)])) == [("y", "a")]


def test_withdrawing_an_assigned_conversation_gives_the_agent_the_next_one() -> None:
    state = busy_agent(QueueConfig("q"))
    play(state, [(Enqueue("x", "q", "voice"), 1)])
    out = play(state, [(Withdraw("busy", reason="closed"), 5)])
    assert of(out, Released) == [Released("busy", "closed", "a")]
    assert offered(out) == [("x", "a")]


def test_withdrawing_a_waiting_conversation_takes_it_out_of_line() -> None:
    state = busy_agent(QueueConfig("q"))
    play(state, [(Enqueue("x", "q", "voice"), 1), (Enqueue("y", "q", "voice"), 2)])
    out = play(state, [(Withdraw("x"), 3)])
    assert out == [Released("x", "abandoned", None)]
    assert waiting_count(state, "q") == 1
    assert position(state, "y") == 1
    assert offered(play(state, [(Complete("busy"), 4)])) == [("y", "a")]


@pytest.mark.parametrize(
    "event",
    [
        Accept("nope", "a"),
        Accept("x", "ghost"),
        Decline("nope", "a"),
        Decline("x", "ghost"),
        Withdraw("nope"),
        RequestCallback("nope"),
        Complete("nope"),
        Transfer("nope", to_queue="q"),
        Transfer("x", to_queue="nowhere"),
        Transfer("x", to_agent="ghost"),
        SetPresence("ghost", AVAILABLE),
        EndWrapup("ghost"),
        RemoveAgent("ghost"),
        Enqueue("y", "nowhere", "voice"),
    ],
    ids=repr,
)
def test_unknown_ids_are_rejected_as_not_found_and_change_nothing(event: Event) -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    before = describe(state)
    out = play(state, [(event, 1)])
    assert codes(out) == ["not_found"]
    assert len(out) == 1
    assert describe(state) == before


def test_enqueuing_the_same_item_twice_is_already_queued() -> None:
    state = routing(QueueConfig("q"), QueueConfig("q2"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    before = describe(state)
    out = play(state, [(Enqueue("x", "q2", "webchat"), 1)])
    assert codes(out) == ["already_queued"]
    assert describe(state) == before
    play(state, [(Accept("x", "a"), 2), (Complete("x"), 3)])
    out = play(state, [(Enqueue("x", "q", "voice"), 4)])  # once released, the id is free
    assert offered(out) == [("x", "a")]


def test_declining_without_an_offer_is_not_offered() -> None:
    state = busy_agent(QueueConfig("q"))
    play(state, [(Enqueue("x", "q", "voice"), 1)])
    assert codes(play(state, [(Decline("x", "a"), 2)])) == ["not_offered"]
    assert codes(play(state, [(Decline("busy", "a"), 2)])) == ["not_offered"]


def test_completing_an_unassigned_item_is_not_assigned() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    assert codes(play(state, [(Complete("x"), 1)])) == ["not_assigned"]
    assert state.items["x"].status == "offered"


# ---- presence --------------------------------------------------------------------------------


def test_going_away_revokes_pending_offers_which_go_elsewhere() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    out = play(state, [(SetPresence("a", AWAY, by="sup"), 5)])
    assert out[0] == PresenceChanged("a", AWAY, AVAILABLE, 5, "sup")
    assert revoked(out) == [("x", "a", "agent_unavailable")]
    assert offered(out) == [("x", "b")]
    assert state.agents["a"].load == {}


def test_setting_the_same_presence_again_is_a_no_op() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    assert play(state, [(SetPresence("a", AVAILABLE), 5)]) == []


def wrapup_state() -> RoutingState:
    state = routing(QueueConfig("q", wrapup_seconds=60), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Complete("x"), 100)])
    assert out == [
        Released("x", "completed", "a"),
        PresenceChanged("a", WRAPUP, AVAILABLE, 100),
    ]
    out = play(state, [(Enqueue("y", "q", "voice"), 110)])
    assert out == [Queued("y", "q")]  # no offers during wrap-up
    return state


def test_wrapup_after_complete_ends_at_the_timer() -> None:
    state = wrapup_state()
    assert next_deadline(state) == 160
    assert play(state, [(Tick(), 159)]) == []
    out = play(state, [(Tick(), 160)])
    assert out[0] == PresenceChanged("a", AVAILABLE, WRAPUP, 160)
    assert offered(out) == [("y", "a")]


def test_end_wrapup_ends_it_early() -> None:
    state = wrapup_state()
    out = play(state, [(EndWrapup("a"), 120)])
    assert out[0] == PresenceChanged("a", AVAILABLE, WRAPUP, 120)
    assert offered(out) == [("y", "a")]
    play(state, [(Accept("y", "a"), 121)])
    assert play(state, [(Tick(), 160)]) == []  # the old timer is spent: no presence change
    assert play(state, [(EndWrapup("a"), 161)]) == []  # not in wrap-up: nothing to end


def test_complete_without_wrapup_frees_the_agent_at_once() -> None:
    state = routing(QueueConfig("q", wrapup_seconds=60), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    play(state, [(Enqueue("y", "q", "voice"), 2)])
    out = play(state, [(Complete("x", wrapup=False), 100)])
    assert of(out, PresenceChanged) == []
    assert offered(out) == [("y", "a")]


def test_removing_an_agent_puts_its_conversations_back_in_line() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(RemoveAgent("a"), 5)])
    assert Released("x", "agent_removed", "a") in out
    assert "a" not in state.agents
    assert position(state, "x") == 1
    out = play(state, [(SetPresence("b", AVAILABLE), 6)])
    assert offered(out) == [("x", "b")]


# ---- overflow --------------------------------------------------------------------------------


def test_overflow_widens_to_anyone_after_30_seconds() -> None:
    queue = QueueConfig("q", skills=("fr",), overflow=(OverflowStep(after=30, skills=()),))
    state = routing(queue, agents=agents("a"), available=["a"])
    assert play(state, [(Enqueue("x", "q", "voice"), 0)]) == [Queued("x", "q")]
    assert next_deadline(state) == 30
    assert play(state, [(Tick(), 29)]) == []
    out = play(state, [(Tick(), 30)])
    assert out[0] == Widened("x", "q", ())
    assert offered(out) == [("x", "a")]


def test_a_widened_item_with_nobody_free_waits_for_the_next_agent() -> None:
    queue = QueueConfig("q", skills=("fr",), overflow=(OverflowStep(after=30, skills=()),))
    state = routing(queue, agents=agents("a"))
    play(state, [(Enqueue("x", "q", "voice"), 0), (Enqueue("y", "q", "voice"), 1)])
    out = play(state, [(Tick(), 31)])
    assert of(out, Widened) == [Widened("x", "q", ()), Widened("y", "q", ())]
    assert [position(state, i) for i in ("x", "y")] == [1, 2]
    out = play(state, [(SetPresence("a", AVAILABLE), 40)])
    assert offered(out) == [("x", "a")]


def test_overflow_moves_to_another_queue_keeping_the_enqueued_time() -> None:
    q1 = QueueConfig("q1", skills=("fr",), overflow=(OverflowStep(after=60, queue="q2"),))
    state = routing(q1, QueueConfig("q2"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q1", "voice"), 0)])
    play(state, [(Enqueue("call", "q2", "voice"), 0), (Accept("call", "a"), 0)])
    play(state, [(Enqueue("y", "q2", "voice"), 30)])
    out = play(state, [(Tick(), 60)])
    assert out == [Moved("x", "q1", "q2", "overflow")]
    assert (waiting_count(state, "q1"), waiting_count(state, "q2")) == (0, 2)
    assert [position(state, i) for i in ("x", "y")] == [1, 2]  # x entered the line first
    assert oldest_wait(state, "q2", 60) == 60
    out = play(state, [(Complete("call"), 70)])
    assert offered(out) == [("x", "a")]
    out = play(state, [(Accept("x", "a"), 75)])
    assert out == [Assigned("x", "a", "q2", waited=75.0)]


def test_a_queue_losing_its_overflow_steps_leaves_no_broken_timers() -> None:
    steps = (OverflowStep(after=30, skills=()), OverflowStep(after=60, queue="q2"))
    state = routing(QueueConfig("q", skills=("fr",), overflow=steps), QueueConfig("q2"))
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    play(state, [(UpsertQueue(QueueConfig("q", skills=("fr",))), 10)])
    assert play(state, [(Tick(), 30), (Tick(), 60)]) == []
    assert state.items["x"].queue_id == "q"


# ---- preferred / last agent ------------------------------------------------------------------


def preferred_state() -> RoutingState:
    """``a`` on a call, ``b`` idle, ``x`` waiting for ``a`` for 60 s."""
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("call", "q", "voice"), 0), (Accept("call", "a"), 0)])
    out = play(state, [(Enqueue("x", "q", "voice", preferred_agent="a", preferred_seconds=60), 1)])
    assert out == [Queued("x", "q")]  # b is idle, but the window is a's
    return state


def test_the_preferred_agent_window_then_anyone() -> None:
    state = preferred_state()
    assert play(state, [(Tick(), 60)]) == []
    out = play(state, [(Tick(), 61)])
    assert offered(out) == [("x", "b")]


def test_the_preferred_agent_freeing_up_in_the_window_gets_it() -> None:
    state = preferred_state()
    out = play(state, [(Complete("call"), 30)])
    assert offered(out) == [("x", "a")]


def test_an_available_preferred_agent_gets_it_at_once() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    out = play(state, [(Enqueue("x", "q", "voice", preferred_agent="b", preferred_seconds=60), 1)])
    assert offered(out) == [("x", "b")]  # though a has been idle as long and sorts first


def test_a_preferred_item_goes_to_its_agent_before_the_rest_of_the_line() -> None:
    state = preferred_state()
    play(state, [(SetPresence("b", AWAY), 2), (Enqueue("urgent", "q", "voice", priority=99), 3)])
    out = play(state, [(Complete("call"), 10)])
    assert offered(out) == [("x", "a")]


# ---- callbacks -------------------------------------------------------------------------------


def test_a_callback_keeps_its_place_and_is_flagged() -> None:
    state = busy_agent(QueueConfig("q"))
    play(state, [(Enqueue("x", "q", "voice"), 1), (Enqueue("y", "q", "voice"), 2)])
    assert play(state, [(RequestCallback("x"), 3)]) == []
    assert [position(state, i) for i in ("x", "y")] == [1, 2]
    out = play(state, [(Complete("busy"), 10)])
    assert of(out, Offered) == [
        Offered("x", "a", expires_at=40.0, callback=True, queue_id="q", channel="voice")
    ]
    out = play(state, [(Accept("x", "a"), 12)])
    assert out == [Assigned("x", "a", "q", waited=11.0, callback=True)]
    assert codes(play(state, [(RequestCallback("x"), 13)])) == ["already_assigned"]


# ---- business hours --------------------------------------------------------------------------


def test_a_closed_queue_holds_items_until_it_opens() -> None:
    state = routing(QueueConfig("q", open=False), agents=agents("a"), available=["a"])
    assert play(state, [(Enqueue("x", "q", "voice"), 0)]) == [Queued("x", "q")]
    out = play(state, [(SetPresence("a", AWAY), 1), (SetPresence("a", AVAILABLE), 2)])
    assert offered(out) == []
    out = play(state, [(UpsertQueue(QueueConfig("q", open=True)), 10)])
    assert offered(out) == [("x", "a")]


def test_a_closed_queue_does_not_offer_items_waiting_for_a_preferred_agent() -> None:
    state = routing(QueueConfig("q", open=False), QueueConfig("other"), agents=agents("a"))
    play(state, [(SetPresence("a", AVAILABLE), 0)])
    play(state, [(Enqueue("call", "other", "voice"), 0), (Accept("call", "a"), 0)])
    play(state, [(Enqueue("x", "q", "voice", preferred_agent="a", preferred_seconds=300), 1)])
    out = play(state, [(Complete("call"), 10)])
    assert offered(out) == []
    out = play(state, [(UpsertQueue(QueueConfig("q")), 20)])
    assert offered(out) == [("x", "a")]


# ---- transfer --------------------------------------------------------------------------------


def test_transfer_to_an_available_agent() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a", "b"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Transfer("x", to_agent="b"), 10)])
    assert out == [
        Released("x", "transferred", "a"),
        Queued("x", "q"),
        Offered("x", "b", expires_at=40.0, queue_id="q", channel="voice"),
    ]
    assert state.agents["a"].load == {}
    assert state.agents["a"].tasks == {}
    out = play(state, [(Accept("x", "b"), 12)])
    assert assigned(out) == [("x", "b")]


def test_transfer_to_an_away_agent_waits_for_it_then_goes_to_the_queue() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b", "c"), available=["a", "c"])
    play(state, [(SetPresence("b", AWAY), 0)])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Transfer("x", to_agent="b", offer_seconds=30), 10)])
    assert offered(out) == []  # c is idle, but b has 30 s
    out = play(state, [(SetPresence("b", AVAILABLE), 20)])
    assert offered(out) == [("x", "b")]


def test_transfer_to_an_agent_that_never_comes_goes_to_the_queue() -> None:
    state = routing(QueueConfig("q"), agents=agents("a", "b", "c"), available=["a", "c"])
    play(state, [(SetPresence("b", AWAY), 0)])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    play(state, [(Transfer("x", to_agent="b", offer_seconds=30), 10)])
    out = play(state, [(Tick(), 40)])
    assert offered(out) == [("x", "c")]  # c idle since 0, a only since 10


def test_transfer_replaces_an_earlier_preferred_agent() -> None:
    state = preferred_state()  # x waits for a until 61
    play(state, [(SetPresence("b", AWAY), 2)])
    play(state, [(UpsertAgent(AgentConfig("c")), 2), (SetPresence("c", AWAY), 2)])
    out = play(state, [(Transfer("x", to_agent="c", offer_seconds=100), 3)])
    assert offered(out) == []
    out = play(state, [(Complete("call"), 10)])  # a is no longer the one x waits for
    assert offered(out) == []
    out = play(state, [(Withdraw("x"), 20)])
    assert out == [Released("x", "abandoned", None)]
    out = play(
        state,
        [(Enqueue("y", "q", "voice"), 21), (Accept("y", "a"), 21), (Complete("y"), 22)],
    )
    assert of(out, Released) == [Released("y", "completed", "a")]
    assert state.preferred == {}


def test_transfer_back_to_the_queue_returns_to_the_first_agent_after_offer_seconds() -> None:
    state = routing(QueueConfig("q"), agents=agents("a"), available=["a"])
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "a"), 1)])
    out = play(state, [(Transfer("x", offer_seconds=30), 10)])
    assert out == [Released("x", "transferred", "a"), Queued("x", "q")]
    assert offered(play(state, [(Tick(), 39)])) == []
    out = play(state, [(Tick(), 40)])
    assert offered(out) == [("x", "a")]


def test_transfer_restarts_the_overflow_clock() -> None:
    queue = QueueConfig("q", skills=("fr",), overflow=(OverflowStep(after=30, skills=()),))
    state = routing(
        queue,
        agents=[AgentConfig("f", skills={"fr": 1}), AgentConfig("e")],
        available=["f", "e"],
    )
    play(state, [(Enqueue("x", "q", "voice"), 0), (Accept("x", "f"), 1)])
    play(state, [(Transfer("x", offer_seconds=60), 20)])
    assert play(state, [(Tick(), 30)]) == []  # 10 s into its new wait: not widened yet
    out = play(state, [(Tick(), 50)])
    assert of(out, Widened) == [Widened("x", "q", ())]
    assert offered(out) == [("x", "e")]


def test_transfer_to_a_queue_moves_it() -> None:
    state = routing(
        QueueConfig("q1"),
        QueueConfig("q2", skills=("billing",)),
        agents=[AgentConfig("a"), AgentConfig("b", skills={"billing": 2})],
        available=["a"],
    )
    play(state, [(Enqueue("x", "q1", "voice"), 0), (Accept("x", "a"), 1)])
    play(state, [(SetPresence("b", AVAILABLE), 2)])
    out = play(state, [(Transfer("x", to_queue="q2"), 10)])
    assert out == [
        Released("x", "transferred", "a"),
        Moved("x", "q1", "q2", "transfer"),
        Queued("x", "q2"),
        Offered("x", "b", expires_at=40.0, queue_id="q2", channel="voice"),
    ]
    out = play(state, [(Accept("x", "b"), 11)])
    assert out == [Assigned("x", "b", "q2", waited=1.0)]


def test_transfer_of_a_waiting_item_moves_it_to_the_other_line() -> None:
    state = busy_agent(QueueConfig("q1"), QueueConfig("q2"))
    play(state, [(Enqueue("x", "q1", "voice"), 1)])
    out = play(state, [(Transfer("x", to_queue="q2"), 5)])
    assert out == [Moved("x", "q1", "q2", "transfer"), Queued("x", "q2")]
    assert (waiting_count(state, "q1"), waiting_count(state, "q2")) == (0, 1)


# ---- predictive routing ----------------------------------------------------------------------


def predictive(share: float = 1.0, on: bool = True, b_samples: int = 3) -> RoutingState:
    """``a`` idle since 0, ``b`` since 5; ``b`` has the better billing history."""
    settings = RoutingSettings(predictive=on, predictive_share=share, predictive_min_samples=3)
    state = routing(QueueConfig("q"), agents=agents("a", "b"), available=["a"], settings=settings)
    play(state, [(SetPresence("b", AVAILABLE), 5)])
    play(state, [(Outcome("a", "billing", 0.3), 6) for _ in range(3)])
    play(state, [(Outcome("b", "billing", 0.9), 6) for _ in range(b_samples)])
    play(state, [(Outcome("a", "sales", 1.0), 6) for _ in range(5)])
    return state


def test_predictive_routes_to_the_agent_with_the_best_history_for_the_intent() -> None:
    state = predictive()
    out = play(state, [(Enqueue("x", "q", "voice", intent="billing"), 10)])
    assert offered(out) == [("x", "b")]  # though a has been idle longer
    out = play(state, [(Accept("x", "b"), 11)])
    assert out == [Assigned("x", "b", "q", waited=1.0, predictive=True)]


def test_predictive_ranks_only_agents_with_enough_history() -> None:
    state = predictive(b_samples=2)
    out = play(state, [(Enqueue("x", "q", "voice", intent="billing"), 10)])
    assert offered(out) == [("x", "a")]
    state = predictive(b_samples=2)
    out = play(state, [(Enqueue("x", "q", "voice", intent="sales"), 10)])
    assert offered(out) == [("x", "a")]


def test_predictive_share_zero_makes_every_item_control() -> None:
    state = predictive(share=0.0)
    out = play(state, [(Enqueue("x", "q", "voice", intent="billing"), 10), (Accept("x", "a"), 11)])
    assert offered(out) == [("x", "a")]  # the normal strategy: a has been idle longer
    assert of(out, Assigned)[0].predictive is False
    out = play(state, [(Enqueue("y", "q", "voice", intent="billing"), 12), (Accept("y", "b"), 13)])
    assert of(out, Assigned) == [Assigned("y", "b", "q", waited=1.0, predictive=False)]
    for n in range(20):  # whatever the id
        previous = f"x{n - 1}" if n else "x"
        item = Enqueue(f"x{n}", "q", "voice", intent="billing")
        out = play(
            state,
            [(Complete(previous), 20 + n), (item, 20 + n), (Accept(item.item_id, "a"), 20 + n)],
        )
        assert of(out, Assigned)[0].predictive is False


def test_without_predictive_routing_the_arm_is_none() -> None:
    state = predictive(on=False)
    out = play(state, [(Enqueue("x", "q", "voice", intent="billing"), 10), (Accept("x", "a"), 11)])
    assert of(out, Assigned) == [Assigned("x", "a", "q", waited=1.0, predictive=None)]


def test_an_item_without_intent_is_not_in_the_experiment() -> None:
    state = predictive()
    out = play(state, [(Enqueue("x", "q", "voice"), 10), (Accept("x", "a"), 11)])
    assert of(out, Assigned)[0].predictive is None


def test_the_predictive_split_follows_the_share_and_is_stable_per_item() -> None:
    def arms() -> dict[str, bool | None]:
        settings = RoutingSettings(predictive=True, predictive_share=0.5)
        state = routing(
            QueueConfig("q", auto_accept=True),
            agents=agents("a", capacity={"webchat": 1000}),
            available=["a"],
            settings=settings,
        )
        out = play(state, [(Enqueue(f"c{n}", "q", "webchat", intent="x"), n) for n in range(400)])
        return {d.item_id: d.predictive for d in of(out, Assigned)}

    first = arms()
    assert len(first) == 400
    assert 0.4 < sum(1 for v in first.values() if v) / 400 < 0.6
    assert arms() == first


# ---- determinism and copies ------------------------------------------------------------------

SCENARIO: list[tuple[Event, float]] = [
    (UpsertQueue(QueueConfig("ring", strategy=Strategy.RING_ALL, max_declines=2)), 0),
    (UpsertQueue(QueueConfig("q", skills=("es",), overflow=(OverflowStep(20, skills=()),))), 0),
    *[(UpsertAgent(AgentConfig(f"a{n}", capacity=MULTI)), 0) for n in range(6)],
    (UpsertAgent(AgentConfig("es1", skills={"es": 4})), 0),
    *[(SetPresence(f"a{n}", AVAILABLE), n) for n in range(6)],
    (Enqueue("r1", "ring", "voice"), 10),
    (Enqueue("w1", "q", "webchat"), 10),
    (Enqueue("w2", "q", "webchat", priority=5), 11),
    (Enqueue("r2", "ring", "voice"), 12),
    (Tick(), 30),
    (Accept("w1", "a0"), 31),
    (Enqueue("r3", "ring", "voice", preferred_agent="es1", preferred_seconds=5), 32),
    (SetPresence("es1", AVAILABLE), 33),
    (Withdraw("r2"), 34),
    (Accept("r3", "es1"), 35),
    (Tick(), 60),
    (Enqueue("e1", "ring", "email"), 61),
    (Transfer("r3", to_agent="a3"), 62),
    (Accept("r3", "a3"), 63),
    (Complete("r3"), 90),
    (Tick(), 120),
]
CUT = 21  # after the first Accept


def test_the_same_events_on_a_copy_give_the_same_decisions_and_leave_the_original() -> None:
    state = RoutingState()
    play(state, SCENARIO[:CUT])
    before = describe(state)
    twin = state.copy()
    assert describe(twin) == before
    on_twin = play(twin, SCENARIO[CUT:])
    assert on_twin  # the rest does something
    assert describe(state) == before  # deciding on the copy did not touch the original
    assert play(state, SCENARIO[CUT:]) == on_twin
    assert describe(state) == describe(twin)


def test_a_copy_keeps_the_order_of_the_line() -> None:
    state = busy_agent(QueueConfig("q", aging_per_minute=2))
    play(state, [(Enqueue(f"x{n}", "q", "voice", priority=n % 3), n) for n in range(10)])
    twin = state.copy()
    assert [position(twin, f"x{n}") for n in range(10)] == [
        position(state, f"x{n}") for n in range(10)
    ]
    out = play(twin, [(Complete("busy"), 20)])
    assert serve(twin, out, "a", 20) == serve(state, play(state, [(Complete("busy"), 20)]), "a", 20)


HASH_SEED_SCRIPT = """
from centralita.routing.engine import RoutingState, decide
from centralita.routing.model import *
s = RoutingState(RoutingSettings(predictive=True, predictive_min_samples=1))
events = [UpsertQueue(QueueConfig("ring", strategy=Strategy.RING_ALL))]
events += [UpsertQueue(QueueConfig("q"))]
names = ["ana", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo"]
events += [UpsertAgent(AgentConfig(n)) for n in names]
events += [SetPresence(n, Presence.AVAILABLE) for n in names]
events += [Outcome(n, "billing", 0.5) for n in names]
events += [Enqueue("r", "ring", "voice"), Enqueue("y", "q", "voice"), Enqueue("z", "q", "voice")]
events += [Withdraw("r"), Withdraw("y"), Withdraw("z")]
events += [Enqueue("r2", "ring", "voice"), Enqueue("y2", "q", "voice"), Accept("r2", "eli")]
events += [Withdraw("y2"), Enqueue("p", "q", "voice", intent="billing")]
for e in events:
    s, out = decide(s, e, 1.0)
    print(out)
"""


def test_decisions_do_not_depend_on_the_hash_seed() -> None:
    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for seed in range(6):
        env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(root / "src")}
        run = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


# ---- queries ---------------------------------------------------------------------------------


def test_queries_on_an_empty_state() -> None:
    state = RoutingState()
    assert next_deadline(state) is None
    assert position(state, "x") is None
    assert waiting_count(state, "q") == 0
    assert oldest_wait(state, "q", 100) == 0.0


def test_position_waiting_count_oldest_wait_and_next_deadline() -> None:
    state = busy_agent(QueueConfig("q"))
    play(
        state,
        [
            (Enqueue("x", "q", "voice"), 10),
            (Enqueue("y", "q", "voice", priority=5), 20),
            (Enqueue("z", "q", "voice"), 30),
            (Enqueue("chat", "q", "webchat"), 35),  # its own line (the agent has no chat room)
        ],
    )
    assert [position(state, i) for i in ("y", "x", "z", "chat")] == [1, 2, 3, 1]
    assert position(state, "busy") is None  # assigned, not in line
    assert position(state, "nope") is None
    assert waiting_count(state, "q") == 4
    assert oldest_wait(state, "q", 40) == 30
    out = play(state, [(Complete("busy"), 50)])
    assert offered(out) == [("y", "a")]
    assert position(state, "y") is None
    assert [position(state, i) for i in ("x", "z")] == [1, 2]
    assert waiting_count(state, "q") == 3
    assert oldest_wait(state, "q", 50) == 40
    assert next_deadline(state) == 80  # y's offer expires
