"""The desktop's and wallboard's API on a real database, with the issue's bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.conversations.models import Conversation, Interaction
from centralita.core.ids import new_id
from centralita.routing import runtime, service
from centralita.routing.model import Enqueue
from centralita.tenants.models import Queue, StaffMember
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request
from tests.web.forms import make_user, meta_token, sign_in

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@dataclass
class Desk:
    kit: TenantKit
    queue_id: str
    ana: str  # staff member ids
    bea: str
    web: dict[str, httpx.AsyncClient]  # signed-in browsers by name, with the CSRF header


async def _browser(container: Container, slug: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    )
    assert (await sign_in(client, slug, email=email)).status_code == 303
    token = meta_token((await client.get("/app")).text)
    client.headers["X-CSRF-Token"] = token
    return client


async def _desk(container: Container) -> Desk:
    kit = await make_tenant(container)
    ids = {}
    for name in ("ana", "bea", "sam"):
        role = "supervisor" if name == "sam" else "agent"
        user_id = await make_user(
            container, kit.tenant_id, email=f"{name}@example.com", name=name.title(), role=role
        )
        async with container.sessions() as session, session.begin():
            staff = StaffMember(
                id=new_id("stf"),
                tenant_id=kit.tenant_id,
                key=name,
                name=name.title(),
                skills={"es": 3},
                user_id=user_id,
                user_role=role,
            )
            session.add(staff)
        ids[name] = staff.id
    async with container.sessions() as session, session.begin():
        queue = Queue(
            id=new_id("que"),
            tenant_id=kit.tenant_id,
            key="recepcion",
            name="Recepción",
            skills=["es"],
            sla_seconds=20,
        )
        session.add(queue)
    web = {n: await _browser(container, kit.slug, f"{n}@example.com") for n in ids}
    return Desk(kit, queue.id, ids["ana"], ids["bea"], web)


@pytest.fixture
async def desk(container: Container) -> AsyncIterator[Desk]:
    container.clock = lambda: T0
    d = await _desk(container)
    try:
        yield d
    finally:
        for c in d.web.values():
            await c.aclose()


async def _conversation(
    container: Container, client: httpx.AsyncClient, kit: TenantKit, text: str = "hola"
) -> str:
    body, headers = simulator_request(kit.simulator_secret, text=text)
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text
    async with container.sessions() as session:
        conv = await session.scalar(select(Conversation).order_by(Conversation.created_at.desc()))
    assert conv is not None
    return conv.id


async def _enqueue(container: Container, d: Desk, conversation_id: str) -> None:
    async with container.sessions() as session, session.begin():
        await runtime.ensure_synced(session, container, d.kit.tenant_id)
        await service.apply(
            session,
            container.routing,
            d.kit.tenant_id,
            Enqueue(conversation_id, d.queue_id, "whatsapp"),
            container.clock(),
        )


async def test_an_agent_goes_available_accepts_and_resolves(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    r = await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    assert r.status_code == 200, r.text
    assert r.json()["presence"] == "available"
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    me = (await ana.get("/api/v1/agent/me")).json()
    assert [o["conversation_id"] for o in me["offers"]] == [conv]
    assert me["offers"][0]["channel"] == "whatsapp"
    r = await ana.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 200, r.text
    me = (await ana.get("/api/v1/agent/me")).json()
    assert me["conversations"] == [conv] and me["offers"] == []
    assert me["load"] == {"whatsapp": 1}
    r = await ana.post(
        f"/api/v1/conversations/{conv}/resolve",
        json={"wrapup_code": "appointment_booked", "note": "cita el martes"},
    )
    assert r.status_code == 200, r.text
    async with container.sessions() as session:
        conversation = await session.get(Conversation, conv)
        assert conversation is not None and conversation.status == "closed"
        interaction = await session.scalar(
            select(Interaction).where(Interaction.conversation_id == conv)
        )
        assert interaction is not None and interaction.disposition == "appointment_booked"
        assert interaction.answered_at == T0 and interaction.agent_id == desk.ana
    assert (await ana.get("/api/v1/agent/me")).json()["conversations"] == []


async def test_accepting_an_offer_that_timed_out_is_a_conflict(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    container.clock = lambda: T0 + timedelta(seconds=31)
    r = await ana.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 409
    assert "offer_expired" in r.json()["detail"]


async def test_two_agents_accepting_one_offer(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    for name in ("ana", "bea"):
        await desk.web[name].put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    offered = (await desk.web["ana"].get("/api/v1/agent/me")).json()["offers"]
    first, second = ("ana", "bea") if offered else ("bea", "ana")
    assert (await desk.web[first].post(f"/api/v1/agent/offers/{conv}/accept")).status_code == 200
    r = await desk.web[second].post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 409 and "offer" in r.json()["detail"]
    async with container.sessions() as session:
        conversation = await session.get(Conversation, conv)
    assert conversation is not None and conversation.owner_id == getattr(desk, first)


async def test_a_transfer_to_an_offline_agent_is_refused_and_changes_nothing(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    await ana.post(f"/api/v1/agent/offers/{conv}/accept")
    r = await ana.post(f"/api/v1/conversations/{conv}/transfer", json={"agent_id": desk.bea})
    assert r.status_code == 409 and "offline" in r.json()["detail"]
    assert (await ana.get("/api/v1/agent/me")).json()["conversations"] == [conv]
    r = await ana.post(
        f"/api/v1/conversations/{conv}/transfer", json={"agent_id": "stf_" + "0" * 26}
    )
    assert r.status_code == 404
    r = await ana.post(f"/api/v1/conversations/{conv}/transfer", json={})
    assert r.status_code == 422
    await desk.web["bea"].put("/api/v1/agent/me/presence", json={"presence": "available"})
    r = await ana.post(f"/api/v1/conversations/{conv}/transfer", json={"agent_id": desk.bea})
    assert r.status_code == 200, r.text
    bea = (await desk.web["bea"].get("/api/v1/agent/me")).json()
    assert [o["conversation_id"] for o in bea["offers"]] == [conv]
    assert (await ana.get("/api/v1/agent/me")).json()["conversations"] == []


async def test_a_queue_with_no_eligible_agent_waits_and_the_wallboard_says_so(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    container.clock = lambda: T0 + timedelta(seconds=45)
    queues = (await desk.web["sam"].get("/api/v1/routing/queues")).json()
    (queue,) = queues
    assert queue["waiting"] == 1 and queue["longest_wait_seconds"] == 45.0
    assert set(queue["alerts"]) == {"long_wait", "no_agents"}
    r = await desk.web["ana"].put("/api/v1/agent/me/presence", json={"presence": "available"})
    assert [o["conversation_id"] for o in r.json()["offers"]] == [conv]


async def test_a_conversation_closed_while_offered_is_withdrawn(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    r = await client.patch(
        f"/api/v1/conversations/{conv}", json={"status": "closed"}, headers=desk.kit.headers
    )
    assert r.status_code == 200, r.text
    await container.relay.drain()
    me = (await ana.get("/api/v1/agent/me")).json()
    assert me["offers"] == [] and me["load"] == {}
    r = await ana.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 404


async def test_supervisors_see_and_steer_agents_and_agents_cannot(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    sam, ana = desk.web["sam"], desk.web["ana"]
    r = await sam.put(f"/api/v1/routing/agents/{desk.ana}/presence", json={"presence": "away"})
    assert r.status_code == 200 and r.json()["presence"] == "away"
    agents = {a["id"]: a for a in (await sam.get("/api/v1/routing/agents")).json()}
    assert agents[desk.ana]["presence"] == "away" and desk.bea in agents
    assert (await ana.get("/api/v1/routing/agents")).status_code == 403
    assert (await ana.get("/api/v1/routing/queues")).status_code == 403
    r = await ana.put(f"/api/v1/routing/agents/{desk.bea}/presence", json={"presence": "away"})
    assert r.status_code == 403
    r = await sam.put(f"/api/v1/routing/agents/{desk.ana}/presence", json={"presence": "wrapup"})
    assert r.status_code == 422
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    r = await sam.post(f"/api/v1/conversations/{conv}/assign", json={"agent_id": desk.ana})
    assert r.status_code == 200, r.text  # away is not offline: a supervisor may still assign
    assert (await ana.get("/api/v1/agent/me")).json()["conversations"] == [conv]


async def test_api_keys_have_no_desktop(client: httpx.AsyncClient, desk: Desk) -> None:
    r = await client.get("/api/v1/agent/me", headers=desk.kit.headers)
    assert r.status_code == 403 and "signed-in agent" in r.json()["detail"]


async def test_another_tenant_sees_nothing(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await desk.web["ana"].put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    other = await make_tenant(container, role="supervisor")
    agents = (await client.get("/api/v1/routing/agents", headers=other.headers)).json()
    queues = (await client.get("/api/v1/routing/queues", headers=other.headers)).json()
    assert agents == [] and queues == []
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign", headers=other.headers, json={"agent_id": desk.ana}
    )
    assert r.status_code == 404
    r = await client.put(
        f"/api/v1/routing/agents/{desk.ana}/presence",
        headers=other.headers,
        json={"presence": "away"},
    )
    assert r.status_code == 404


async def test_the_directory_lists_colleagues_and_queues_and_shows_who_is_busy(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    await _enqueue(container, desk, conv)
    await ana.post(f"/api/v1/agent/offers/{conv}/accept")
    found = (await desk.web["bea"].get("/api/v1/agent/directory")).json()
    people = {a["id"]: a for a in found["agents"]}
    assert people[desk.ana]["presence"] == "available" and people[desk.ana]["activity"] == "busy"
    assert people[desk.bea]["activity"] == "offline"
    assert [q["key"] for q in found["queues"]] == ["recepcion"]
    assert "resolved" in found["wrapup_codes"]
    assert (await client.get("/api/v1/agent/directory", headers=desk.kit.headers)).is_success
    async with container.sessions() as session, session.begin():
        key = await access_service.create_api_key(
            session, tenant_id=desk.kit.tenant_id, name="agent key", role="agent"
        )
    r = await client.get(
        "/api/v1/agent/directory", headers={"Authorization": f"Bearer {key.secret}"}
    )
    assert r.status_code == 403  # an agent-role API key is nobody's desktop


async def test_supervisors_list_what_waits_longest_first(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    first = await _conversation(container, client, desk.kit, text="hola uno")
    await _enqueue(container, desk, first)
    container.clock = lambda: T0 + timedelta(seconds=30)
    body, headers = simulator_request(desk.kit.simulator_secret, text="hola dos",
                                      value="34600111999")  # fmt: skip
    await client.post(f"/hooks/{desk.kit.simulator_account_id}", content=body, headers=headers)
    async with container.sessions() as session:
        second = await session.scalar(
            select(Conversation.id).where(Conversation.id != first).limit(1)
        )
    assert second is not None
    await _enqueue(container, desk, second)
    found = (await desk.web["sam"].get("/api/v1/routing/waiting")).json()
    assert [w["conversation_id"] for w in found] == [first, second]
    assert found[0]["waited_seconds"] == 30.0 and found[0]["position"] == 1
    assert found[1]["position"] == 2 and found[0]["status"] == "waiting"
    r = await desk.web["sam"].get("/api/v1/routing/waiting", params={"queue_id": desk.queue_id})
    assert len(r.json()) == 2
    assert (await desk.web["ana"].get("/api/v1/routing/waiting")).status_code == 403


async def test_taking_a_routed_hand_off_picks_it_in_the_acd(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    from centralita.receptionist.models import Handoff

    for name in ("ana", "bea"):
        await desk.web[name].put("/api/v1/agent/me/presence", json={"presence": "available"})
    conv = await _conversation(container, client, desk.kit)
    async with container.sessions() as session, session.begin():
        handoff = Handoff(id=new_id("hnd"), tenant_id=desk.kit.tenant_id, conversation_id=conv,
                          channel="whatsapp", reason="a person, please")  # fmt: skip
        session.add(handoff)
    await _enqueue(container, desk, conv)
    offered_to = (
        "ana" if (await desk.web["ana"].get("/api/v1/agent/me")).json()["offers"] else "bea"
    )
    other = "bea" if offered_to == "ana" else "ana"
    r = await desk.web[other].post(f"/api/v1/handoffs/{handoff.id}/take")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "taken" and r.json()["taken_by"] == getattr(desk, other)
    # The offer to the first agent ended: nobody else can take it now.
    assert (await desk.web[offered_to].get("/api/v1/agent/me")).json()["offers"] == []
    r = await desk.web[offered_to].post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 409
    r = await client.post(f"/api/v1/handoffs/{handoff.id}/take", headers=desk.kit.headers)
    assert r.status_code == 403  # an API key has no desktop: it assigns through the ACD
