"""Routing in the running system: the demo clinic's YAML in the engine, hand-offs routed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.routing import runtime, service
from centralita.routing.model import Presence, SetPresence, Strategy
from centralita.routing.models import RoutingOffer
from centralita.tenants.config.apply import apply_document
from centralita.tenants.models import Queue, StaffMember, Tenant
from tests.receptionist.harness import demo_document
from tests.receptionist.test_scenarios import Business

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, open
SUNDAY_NIGHT = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


async def _state(container: Container, tenant_id: str):  # type: ignore[no-untyped-def]
    async with container.sessions() as session:
        return await container.routing.read(session, tenant_id)


async def test_the_demo_clinic_is_synced_into_the_engine_once(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await Business.open(container, client, now=MONDAY_10)
    async with container.sessions() as session, session.begin():
        sent = await runtime.sync(session, container, clinic.tenant_id)
    async with container.sessions() as session, session.begin():
        again = await runtime.sync(session, container, clinic.tenant_id)
    assert sent > 0 and again == 0
    state = await _state(container, clinic.tenant_id)
    async with container.sessions() as session:
        queues = {q.key: q for q in (await session.scalars(
            select(Queue).where(Queue.tenant_id == clinic.tenant_id))).all()}  # fmt: skip
        agents = (await session.scalars(select(StaffMember).where(
            StaffMember.tenant_id == clinic.tenant_id, StaffMember.user_id.is_not(None)
        ))).all()  # fmt: skip
    assert set(state.queues) == {q.id for q in queues.values()}
    assert set(state.agents) == {a.id for a in agents} and len(agents) >= 2
    recepcion = state.queues[queues["recepcion"].id].config
    assert recepcion.strategy == Strategy(queues["recepcion"].strategy)
    assert recepcion.offer_timeout == queues["recepcion"].offer_timeout_seconds
    someone = next(a for a in agents if a.capacity)
    assert state.agents[someone.id].config.capacity == someone.capacity


async def test_a_new_configuration_reaches_the_engine(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await Business.open(container, client, now=MONDAY_10)
    async with container.sessions() as session, session.begin():
        await runtime.sync(session, container, clinic.tenant_id)
    async with container.sessions() as session:
        tenant = await session.get(Tenant, clinic.tenant_id)
        assert tenant is not None
    doc = demo_document("clinica-dental-sonrisa", slug=tenant.slug)
    data = doc.queues[0].model_dump(by_alias=True)
    doc.queues[0] = type(doc.queues[0]).model_validate({**data, "strategy": "round_robin"})
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    await container.relay.drain()  # tenant.config_applied -> routing syncs
    state = await _state(container, clinic.tenant_id)
    async with container.sessions() as session:
        first = await session.scalar(select(Queue).where(
            Queue.tenant_id == clinic.tenant_id, Queue.key == doc.queues[0].key))  # fmt: skip
    assert first is not None and state.queues[first.id].config.strategy == Strategy.ROUND_ROBIN


async def test_hand_offs_wait_for_an_agent_and_the_oldest_goes_first(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental", value="34611111111")
    await clinic.say("quiero hablar con una persona", value="34611111111")
    first = await clinic.conversation()
    await clinic.say("Quiero pedir cita para limpieza dental", value="34622222222")
    await clinic.say("quiero hablar con una persona", value="34622222222")
    state = await _state(container, clinic.tenant_id)
    (second_id,) = set(state.items) - {first.id}
    assert state.items[first.id].status == "waiting" and state.items[second_id].status == "waiting"
    assert state.items[first.id].intent == "book_appointment"
    # Nobody is available yet; the first agent to come in gets the oldest conversation.
    async with container.sessions() as session:
        agent = await session.scalar(
            select(StaffMember.id).where(
                StaffMember.tenant_id == clinic.tenant_id, StaffMember.user_role == "agent"
            )
        )
    assert agent is not None
    async with container.sessions() as session, session.begin():
        await service.apply(session, container.routing, clinic.tenant_id,
                            SetPresence(agent, Presence.AVAILABLE), container.clock())  # fmt: skip
    async with container.sessions() as session:
        offers = (await session.scalars(select(RoutingOffer.item_id).where(
            RoutingOffer.tenant_id == clinic.tenant_id))).all()  # fmt: skip
    assert first.id in offers


async def test_a_queue_outside_its_hours_offers_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await Business.open(container, client, now=SUNDAY_NIGHT)
    async with container.sessions() as session, session.begin():
        queue = await session.scalar(select(Queue).where(Queue.tenant_id == clinic.tenant_id))
        assert queue is not None
        queue.hours = {"monday": [["09:00", "14:00"]]}
    async with container.sessions() as session, session.begin():
        await runtime.sync(session, container, clinic.tenant_id)
    state = await _state(container, clinic.tenant_id)
    assert state.queues[queue.id].config.open is False
    clinic.at(MONDAY_10)
    await runtime.check_hours(container)
    state = await _state(container, clinic.tenant_id)
    assert state.queues[queue.id].config.open is True


async def test_a_vip_with_an_urgent_matter_is_served_before_older_conversations(
    container: Container, client: httpx.AsyncClient
) -> None:
    from centralita.contacts.models import Contact, ContactAddress
    from centralita.routing.engine import priority_for

    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental", value="34611111111")
    await clinic.say("quiero hablar con una persona", value="34611111111")
    normal = (await _state(container, clinic.tenant_id)).items
    (older,) = list(normal)
    async with container.sessions() as session, session.begin():
        contact = Contact(id="ct_" + "v" * 26, tenant_id=clinic.tenant_id, name="VIP", vip=True)
        session.add(contact)
        await session.flush()
        session.add(ContactAddress(id="adr_" + "v" * 26, tenant_id=clinic.tenant_id,
                                   contact_id=contact.id, kind="whatsapp",
                                   value="34699999999"))  # fmt: skip
    await clinic.say("Quiero pedir cita para limpieza dental", value="34699999999")
    await clinic.say("quiero hablar con una persona", value="34699999999")
    state = await _state(container, clinic.tenant_id)
    (vip,) = set(state.items) - {older}
    assert state.items[vip].priority == priority_for(state.settings, urgency="normal", vip=True)
    assert state.items[vip].priority > state.items[older].priority
    async with container.sessions() as session:
        agent = await session.scalar(
            select(StaffMember.id).where(
                StaffMember.tenant_id == clinic.tenant_id, StaffMember.user_role == "agent"
            )
        )
    assert agent is not None
    async with container.sessions() as session, session.begin():
        event = SetPresence(agent, Presence.AVAILABLE)
        applied = await service.apply(
            session, container.routing, clinic.tenant_id, event, container.clock()
        )
    offered = [d.item_id for d in applied.decisions if type(d).__name__ == "Offered"]
    assert offered[0] == vip
