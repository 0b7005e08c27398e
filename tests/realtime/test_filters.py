"""Who sees which live event (pure)."""

from __future__ import annotations

from centralita.realtime.filters import Viewer


def test_an_agent_follows_what_is_offered_to_it_and_sees_its_messages() -> None:
    ana = Viewer(supervisor=False, agent_id="ana")
    assert ana.sees("routing.queued", {"conversation_id": "c1", "queue_id": "q"})
    assert not ana.sees("routing.offered", {"conversation_id": "c1", "agent_id": "bea"})
    assert not ana.sees("message.received", {"conversation_id": "c1"})
    offer = {"conversation_id": "c1", "agent_id": "ana"}
    ana.track("routing.offered", offer)
    assert ana.sees("routing.offered", offer)
    assert ana.sees("message.received", {"conversation_id": "c1"})
    assert ana.sees("message.status_changed", {"conversation_id": "c1", "status": "delivered"})
    assert not ana.sees("message.status_changed", {"conversation_id": "c2"})
    ana.track("routing.offer_ended", {**offer, "reason": "timeout"})
    assert not ana.sees("message.received", {"conversation_id": "c1"})


def test_a_supervisor_sees_everything_and_nobody_sees_unknown_events() -> None:
    sam = Viewer(supervisor=True)
    assert sam.sees("routing.offered", {"conversation_id": "c1", "agent_id": "bea"})
    assert sam.sees("message.received", {"conversation_id": "c9"})
    assert not sam.sees("user.created", {"user_id": "u1"})
    nobody = Viewer(supervisor=False, agent_id=None)
    assert not nobody.sees("routing.assigned", {"conversation_id": "c1", "agent_id": None})
