"""Taking a conversation by hand, settings changes and overflow actions."""

from __future__ import annotations

from centralita.routing.engine import RoutingState
from centralita.routing.model import (
    AgentConfig,
    Assigned,
    Configure,
    Enqueue,
    Escalated,
    Offered,
    OverflowStep,
    Pick,
    Presence,
    QueueConfig,
    Rejected,
    RoutingSettings,
    SetPresence,
    Tick,
)
from tests.routing.test_engine import play, routing


def _two() -> RoutingState:
    return routing(
        QueueConfig("q"),
        agents=[
            AgentConfig("a", capacity={"webchat": 1}),
            AgentConfig("b", capacity={"webchat": 1}),
        ],
        available=["a"],
    )


def test_an_agent_picks_an_offered_conversation_and_the_offer_ends() -> None:
    state = _two()
    play(state, [(SetPresence("b", Presence.AVAILABLE), 0), (Enqueue("x", "q", "webchat"), 1)])
    offered_to = next(iter(state.items["x"].offered_to))
    other = "b" if offered_to == "a" else "a"
    out = play(state, [(Pick("x", other), 2)])
    assert [type(d).__name__ for d in out] == ["Revoked", "Assigned"]
    assert out[1] == Assigned("x", other, "q", 1.0, False, None)
    assert state.agents[offered_to].load == {} and state.agents[other].load == {"webchat": 1}


def test_picking_what_someone_else_has_is_refused() -> None:
    state = _two()
    play(state, [(Enqueue("x", "q", "webchat"), 1), (Pick("x", "a"), 2)])
    out = play(state, [(SetPresence("b", Presence.AVAILABLE), 3), (Pick("x", "b"), 3)])
    assert out[-1] == Rejected("already_assigned", "another agent has the conversation")
    assert play(state, [(Pick("x", "a"), 4)])[-1].code == "already_yours"  # type: ignore[union-attr]


def test_an_agent_without_room_cannot_pick_but_a_supervisor_can_force_it() -> None:
    state = _two()
    play(state, [(Enqueue("x", "q", "webchat"), 1), (Enqueue("y", "q", "webchat"), 1)])
    assert state.items["y"].status == "waiting"
    out = play(state, [(Pick("y", "a"), 2)])
    assert [d.code for d in out if isinstance(d, Rejected)] == ["no_capacity"]
    out = play(state, [(Pick("y", "a", force=True, by="sup"), 3)])
    assert isinstance(out[-1], Assigned) and state.agents["a"].load == {"webchat": 2}


def test_an_offline_agent_cannot_be_given_a_conversation() -> None:
    state = _two()
    play(state, [(SetPresence("a", Presence.AWAY), 0), (Enqueue("x", "q", "webchat"), 1)])
    out = play(state, [(Pick("x", "b", force=True), 2)])
    assert [d.code for d in out if isinstance(d, Rejected)] == ["agent_unavailable"]
    assert state.items["x"].status == "waiting"
    out = play(state, [(Pick("x", "a", force=True), 3)])  # away is not offline: forced
    assert isinstance(out[-1], Assigned)


def test_configure_switches_predictive_routing_on() -> None:
    state = _two()
    settings = RoutingSettings(predictive=True, predictive_min_samples=1)
    play(state, [(Configure(settings), 0)])
    assert state.settings is settings
    play(state, [(Enqueue("x", "q", "webchat", intent="billing"), 1)])
    assert state.items["x"].arm is not None


def test_an_overflow_action_escalates_and_a_callback_keeps_its_place() -> None:
    queue = QueueConfig("q", overflow=(OverflowStep(60, action="callback"),))
    state = routing(queue, agents=[AgentConfig("a", capacity={"voice": 1})])
    play(state, [(Enqueue("x", "q", "voice"), 0)])
    out = play(state, [(Tick(), 61)])
    assert out == [Escalated("x", "q", "callback")]
    assert state.items["x"].callback is True
    out = play(state, [(SetPresence("a", Presence.AVAILABLE), 70)])
    assert [d.callback for d in out if isinstance(d, Offered)] == [True]
