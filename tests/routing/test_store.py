"""The SQL routing store and its projections, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.channels.base import ChannelKind
from centralita.conversations.models import Conversation, Interaction
from centralita.core.errors import Conflict, NotFound
from centralita.events.models import OutboxEvent
from centralita.routing import service
from centralita.routing.codec import state_to_dict
from centralita.routing.model import (
    Accept,
    AgentConfig,
    Complete,
    Enqueue,
    Event,
    Presence,
    QueueConfig,
    Rejected,
    SetPresence,
    UpsertAgent,
    UpsertQueue,
)
from centralita.routing.models import (
    AgentPresence,
    PresenceLogEntry,
    RoutingAssignment,
    RoutingEventRow,
    RoutingOffer,
    RoutingStateRow,
)
from centralita.routing.store import SqlRoutingStore
from tests.conversations.test_receive_inbound import inbound, receive
from tests.factories import make_tenant

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
SETUP: list[Event] = [
    UpsertQueue(QueueConfig("q", offer_timeout=30.0)),
    UpsertAgent(AgentConfig("ana", capacity={"webchat": 2})),
    UpsertAgent(AgentConfig("bea", capacity={"webchat": 2})),
    SetPresence("ana", Presence.AVAILABLE),
]


async def _apply(container: Container, store: SqlRoutingStore, tenant_id: str,
                 *batch: Event, at: datetime = T0) -> list[object]:  # fmt: skip
    async with container.sessions() as session, session.begin():
        results = await service.apply_many(session, store, tenant_id, list(batch), at)
    return [d for r in results for d in r.decisions]


async def test_a_conversation_is_queued_offered_accepted_and_released_in_the_tables(
    container: Container,
) -> None:
    kit = await make_tenant(container)
    got = await receive(container, kit.simulator_account_id,
                        inbound("m1", ChannelKind.WEBCHAT, "web", "v-1"), T0)  # fmt: skip
    conversation_id = got.conversation.id
    store = SqlRoutingStore()
    await _apply(container, store, kit.tenant_id, *SETUP)
    await _apply(container, store, kit.tenant_id, Enqueue(conversation_id, "q", "webchat"))
    async with container.sessions() as session:
        offer = (await session.execute(select(RoutingOffer))).scalar_one()
        assert (offer.agent_id, offer.queue_id, offer.channel) == ("ana", "q", "webchat")
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.owner_type, conversation.owner_id) == ("queue", "q")
        interaction = (await session.execute(select(Interaction))).scalar_one()
        assert interaction.queued_at == T0 and interaction.offered_at == T0
        assert interaction.queue_id == "q"
    later = T0 + timedelta(seconds=7)
    await _apply(container, store, kit.tenant_id, Accept(conversation_id, "ana"), at=later)
    async with container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RoutingOffer)) == 0
        assignment = (await session.execute(select(RoutingAssignment))).scalar_one()
        assert (assignment.agent_id, assignment.waited_seconds) == ("ana", 7.0)
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.owner_id == "ana"
        interaction = (await session.execute(select(Interaction))).scalar_one()
        assert interaction.answered_at == later and interaction.agent_id == "ana"
        assert interaction.handled_by_bot is False
        names = (await session.execute(select(OutboxEvent.name))).scalars().all()
        assert {"routing.queued", "routing.offered", "routing.assigned"} <= set(names)
    await _apply(container, store, kit.tenant_id, Complete(conversation_id))
    async with container.sessions() as session:
        assignment = (await session.execute(select(RoutingAssignment))).scalar_one()
        assert assignment.released_reason == "completed"


async def test_presence_is_projected_with_a_log(container: Container) -> None:
    kit = await make_tenant(container)
    store = SqlRoutingStore()
    await _apply(container, store, kit.tenant_id, *SETUP)
    later = T0 + timedelta(minutes=5)
    await _apply(container, store, kit.tenant_id,
                 SetPresence("ana", Presence.AWAY, by="sup-1"), at=later)  # fmt: skip
    async with container.sessions() as session:
        row = await session.get(AgentPresence, (kit.tenant_id, "ana"))
        assert row is not None and row.presence == "away" and row.since == later
        log = (await session.execute(
            select(PresenceLogEntry.presence, PresenceLogEntry.previous, PresenceLogEntry.by)
            .order_by(PresenceLogEntry.id)
        )).all()  # fmt: skip
        assert [tuple(r) for r in log] == [("available", "offline", None),
                                          ("away", "available", "sup-1")]  # fmt: skip


async def test_a_second_store_replays_the_first_ones_events(container: Container) -> None:
    """Two processes: each decides on the state the other's events left behind."""
    kit = await make_tenant(container)
    first, second = SqlRoutingStore(), SqlRoutingStore()
    await _apply(container, first, kit.tenant_id, *SETUP, Enqueue("c1", "q", "webchat"))
    # The second process never saw c1's offer to ana; it must not offer c2 past capacity
    # and must refuse a second accept of c1.
    out = await _apply(container, second, kit.tenant_id, Accept("c1", "ana"))
    assert [type(d).__name__ for d in out] == ["Assigned"]
    assert second.replayed == len(SETUP) + 1
    out = await _apply(container, first, kit.tenant_id, Accept("c1", "bea"))
    assert out == [Rejected("offer_expired", "the offer is no longer open for this agent")]
    async with container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RoutingAssignment)) == 1


async def test_a_refused_event_is_not_logged(container: Container) -> None:
    kit = await make_tenant(container)
    store = SqlRoutingStore()
    await _apply(container, store, kit.tenant_id, *SETUP)
    async with container.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(RoutingEventRow))
    out = await _apply(container, store, kit.tenant_id, Accept("nobody", "ana"))
    assert isinstance(out[0], Rejected)
    async with container.sessions() as session:
        after = await session.scalar(select(func.count()).select_from(RoutingEventRow))
    assert after == before


async def test_a_rolled_back_event_leaves_no_trace_in_the_cache(container: Container) -> None:
    kit = await make_tenant(container)
    store = SqlRoutingStore()
    await _apply(container, store, kit.tenant_id, *SETUP)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with container.sessions() as session, session.begin():
            await service.apply(session, store, kit.tenant_id, Enqueue("c1", "q", "webchat"), T0)
            raise Boom
    # The enqueue never happened: c1 is unknown, and a new enqueue offers it afresh.
    out = await _apply(container, store, kit.tenant_id, Accept("c1", "ana"))
    assert [d.code for d in out if isinstance(d, Rejected)] == ["not_found"]
    out = await _apply(container, store, kit.tenant_id, Enqueue("c1", "q", "webchat"))
    assert [type(d).__name__ for d in out] == ["Queued", "Offered"]


async def test_a_cold_process_loads_the_snapshot_and_replays_the_rest(
    container: Container,
) -> None:
    kit = await make_tenant(container)
    warm = SqlRoutingStore(snapshot_every=5)
    await _apply(container, warm, kit.tenant_id, *SETUP)
    for n in range(8):
        await _apply(container, warm, kit.tenant_id, Enqueue(f"c{n}", "q", "webchat"))
    async with container.sessions() as session:
        row = await session.get(RoutingStateRow, kit.tenant_id)
        assert row is not None and row.snapshot is not None and 0 < row.snapshot_seq < row.seq
        cold = SqlRoutingStore()
        state = await cold.read(session, kit.tenant_id)
        expected = await warm.read(session, kit.tenant_id)
    assert cold.loaded == 1 and 0 < cold.replayed < 12
    assert state_to_dict(state) == state_to_dict(expected)


async def test_rejections_become_api_errors() -> None:
    with pytest.raises(NotFound):
        service.raise_rejection([Rejected("not_found", "conversation is not being routed")])
    with pytest.raises(Conflict, match="offer_expired"):
        service.raise_rejection([Rejected("offer_expired", "the offer is no longer open")])


async def test_tenants_route_apart(container: Container) -> None:
    one, two = await make_tenant(container), await make_tenant(container)
    store = SqlRoutingStore()
    await _apply(container, store, one.tenant_id, *SETUP, Enqueue("c1", "q", "webchat"))
    await _apply(container, store, two.tenant_id, *SETUP)
    out = await _apply(container, store, two.tenant_id, Accept("c1", "ana"))
    assert [d.code for d in out if isinstance(d, Rejected)] == ["not_found"]
    async with container.sessions() as session:
        offers = (await session.execute(select(RoutingOffer.tenant_id))).scalars().all()
    assert offers == [one.tenant_id]
