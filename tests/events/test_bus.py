"""The in-process bus: who gets which event, and errors reach the caller (the relay)."""

from __future__ import annotations

import pytest

from centralita.events.bus import InProcessBus, Subscription
from centralita.events.envelope import Envelope


def envelope(name: str, n: int = 0) -> Envelope:
    return Envelope(
        event_id=f"evt_{n}", name=name, version=1, tenant_id="tn_1", occurred_at="2026-01-01"
    )


async def _noop(_: Envelope) -> None:
    return None


@pytest.mark.parametrize(
    ("names", "event", "expected"),
    [
        ({"message.received"}, "message.received", True),
        ({"message.received"}, "message.queued", False),
        ({"a", "b"}, "b", True),
        ({"*"}, "anything.at_all", True),
        (set(), "message.received", False),
    ],
)
def test_subscription_matches(names: set[str], event: str, expected: bool) -> None:
    assert Subscription("g", frozenset(names), _noop).matches(event) is expected


@pytest.mark.parametrize(
    ("subscriptions", "published", "calls"),
    [
        # Every matching subscription is called, in subscription order, whatever its group.
        ([("g1", {"x"}), ("g2", {"x"})], ["x"], [("g1", "x"), ("g2", "x")]),
        ([("g1", {"x"}), ("g2", {"y"})], ["x", "y"], [("g1", "x"), ("g2", "y")]),
        ([("g1", {"*"}), ("g2", {"y"})], ["x", "y"], [("g1", "x"), ("g1", "y"), ("g2", "y")]),
        ([("g1", {"x"})], ["z"], []),
        ([], ["x"], []),
    ],
)
async def test_in_process_bus_delivers_to_matching_subscriptions(
    subscriptions: list[tuple[str, set[str]]],
    published: list[str],
    calls: list[tuple[str, str]],
) -> None:
    bus = InProcessBus()
    seen: list[tuple[str, str]] = []
    for group, names in subscriptions:

        async def handler(env: Envelope, group: str = group) -> None:
            seen.append((group, env.name))

        bus.subscribe(group, names, handler)
    await bus.start()
    for i, name in enumerate(published):
        await bus.publish(envelope(name, i))
    await bus.stop()
    assert seen == calls


async def test_in_process_handler_error_reaches_the_publisher() -> None:
    bus = InProcessBus()

    async def broken(_: Envelope) -> None:
        raise RuntimeError("handler down")

    bus.subscribe("g", {"x"}, broken)
    with pytest.raises(RuntimeError, match="handler down"):
        await bus.publish(envelope("x"))


def test_envelope_round_trips_through_json() -> None:
    env = Envelope(
        event_id="evt_1",
        name="x",
        version=2,
        tenant_id="tn_1",
        occurred_at="2026-01-01T00:00:00+00:00",
        payload={"a": [1, "b"], "c": None},
        sequence=7,
    )
    assert Envelope.from_json(env.to_json()) == env
    assert Envelope.from_json(env.to_json().encode()) == env
