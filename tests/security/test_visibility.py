"""``access.agents_see: own_and_queues``: agents see only what is theirs or in their queues."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.conversations.models import Conversation
from centralita.conversations.visibility import AgentScope, member_of, restricted
from centralita.core.ids import new_id
from centralita.realtime.filters import Viewer
from centralita.receptionist.models import Handoff
from centralita.tenants.models import Queue, StaffMember, Tenant
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request
from tests.web.forms import make_user, sign_in

API = "/api/v1"


@dataclass
class World:
    kit: TenantKit
    web: dict[str, httpx.AsyncClient]
    conv: dict[str, str]  # what owns it -> conversation id


async def _world(container: Container, client: httpx.AsyncClient, agents_see: str) -> World:
    kit = await make_tenant(container)
    staff: dict[str, str] = {}
    queues: dict[str, str] = {}
    for name, skill, role in (
        ("ana", "es", "agent"),
        ("ben", "en", "agent"),
        ("sam", "es", "supervisor"),
    ):
        user_id = await make_user(
            container, kit.tenant_id, email=f"{name}@example.com", name=name.title(), role=role
        )
        async with container.sessions() as session, session.begin():
            member = StaffMember(
                id=new_id("stf"),
                tenant_id=kit.tenant_id,
                key=name,
                name=name.title(),
                skills={skill: 3},
                user_id=user_id,
                user_role=role,
            )
            session.add(member)
        staff[name] = member.id
    async with container.sessions() as session, session.begin():
        for key, skill in (("es", "es"), ("en", "en")):
            queue = Queue(
                id=new_id("que"),
                tenant_id=kit.tenant_id,
                key=key,
                name=key,
                skills=[skill],
                sla_seconds=20,
            )
            session.add(queue)
            queues[key] = queue.id
        tenant = await session.get(Tenant, kit.tenant_id)
        assert tenant is not None
        tenant.config = {**(tenant.config or {}), "access": {"agents_see": agents_see}}
    owners = {
        "queue_es": ("queue", queues["es"]),
        "queue_en": ("queue", queues["en"]),
        "ana": ("agent", staff["ana"]),
        "ben": ("agent", staff["ben"]),
        "bot": ("bot", None),
    }
    conv: dict[str, str] = {}
    for i, (label, (owner_type, owner_id)) in enumerate(owners.items()):
        body, headers = simulator_request(kit.simulator_secret, text="hola", value=f"3460000000{i}")
        r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
        assert r.status_code == 200, r.text
        async with container.sessions() as session, session.begin():
            row = await session.scalar(
                select(Conversation)
                .where(Conversation.tenant_id == kit.tenant_id)
                .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            )
            assert row is not None and row.id not in conv.values()
            row.owner_type, row.owner_id = owner_type, owner_id
            conv[label] = row.id
    web = {}
    for name in ("ana", "ben", "sam"):
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
        )
        assert (await sign_in(browser, kit.slug, email=f"{name}@example.com")).status_code == 303
        web[name] = browser
    return World(kit, web, conv)


@pytest.fixture
async def closing() -> AsyncIterator[list[World]]:
    worlds: list[World] = []
    yield worlds
    for w in worlds:
        for c in w.web.values():
            await c.aclose()


async def _listed(browser: httpx.AsyncClient) -> set[str]:
    r = await browser.get(f"{API}/conversations")
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


async def test_agents_see_only_their_own_and_their_queues(
    client: httpx.AsyncClient, container: Container, closing: list[World]
) -> None:
    w = await _world(container, client, "own_and_queues")
    closing.append(w)
    c = w.conv
    assert await _listed(w.web["ana"]) == {c["ana"], c["queue_es"]}
    assert await _listed(w.web["ben"]) == {c["ben"], c["queue_en"]}
    assert await _listed(w.web["sam"]) == set(c.values())  # supervisors see everything

    ana = w.web["ana"]
    for label, visible in (
        ("ana", True),
        ("queue_es", True),
        ("ben", False),
        ("queue_en", False),
        ("bot", False),
    ):
        for suffix in ("", "/messages", "/interactions"):
            r = await ana.get(f"{API}/conversations/{c[label]}{suffix}")
            assert r.status_code == (200 if visible else 404), (label, suffix, r.text)
        r = await ana.get(f"{API}/desk/conversations/{c[label]}/context")
        assert r.status_code == (200 if visible else 404), (label, r.text)
    # A contact's timeline shows only the messages of conversations she may see.
    async with container.sessions() as session:
        contacts = {
            label: await session.scalar(
                select(Conversation.contact_id).where(Conversation.id == cid)
            )
            for label, cid in c.items()
        }
    for label, visible in (("ana", True), ("ben", False)):
        r = await ana.get(f"{API}/contacts/{contacts[label]}/timeline")
        assert r.status_code == 200, r.text
        shown = {m["conversation_id"] for m in r.json()["items"]}
        assert shown == ({c[label]} if visible else set()), label
        r = await w.web["sam"].get(f"{API}/contacts/{contacts[label]}/timeline")
        assert {m["conversation_id"] for m in r.json()["items"]} == {c[label]}
    summaries = await ana.get(f"{API}/desk/conversations", params={"ids": list(c.values())})
    assert {s["id"] for s in summaries.json()} == {c["ana"], c["queue_es"]}
    # Writing to a conversation she cannot see is a 404 too.
    page = await ana.get("/app")
    token = page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    r = await ana.post(
        f"{API}/conversations/{c['ben']}/messages",
        json={"body": "hi"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 404
    r = await ana.post(
        f"{API}/conversations/{c['ana']}/messages",
        json={"body": "hi"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 201, r.text


async def test_a_restricted_agent_sees_only_the_contacts_of_conversations_she_sees(
    client: httpx.AsyncClient, container: Container, closing: list[World]
) -> None:
    w = await _world(container, client, "own_and_queues")
    closing.append(w)
    async with container.sessions() as session:
        contact = {
            label: await session.scalar(
                select(Conversation.contact_id).where(Conversation.id == cid)
            )
            for label, cid in w.conv.items()
        }
    ana, sam = w.web["ana"], w.web["sam"]
    listed = await ana.get(f"{API}/contacts")
    assert listed.status_code == 200, listed.text
    assert {x["id"] for x in listed.json()["items"]} == {contact["ana"], contact["queue_es"]}
    everyone = (await sam.get(f"{API}/contacts")).json()["items"]
    assert {x["id"] for x in everyone} == set(contact.values())

    page = await ana.get("/app")
    token = page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    csrf = {"X-CSRF-Token": token}
    for label, visible in (("ana", True), ("queue_es", True), ("ben", False), ("bot", False)):
        expected = 200 if visible else 404
        cid = contact[label]
        r = await ana.get(f"{API}/contacts/{cid}")
        assert r.status_code == expected, (label, r.text)
        r = await ana.get(f"{API}/contacts/{cid}/audit")
        assert r.status_code == expected, (label, r.text)
        r = await ana.patch(f"{API}/contacts/{cid}", json={"tags": ["seen"]}, headers=csrf)
        assert r.status_code == expected, (label, r.text)
        r = await ana.post(
            f"{API}/contacts/{cid}/addresses",
            json={"kind": "email", "value": f"{label}@example.com"},
            headers=csrf,
        )
        assert r.status_code == (201 if visible else 404), (label, r.text)
    # Looking up someone else's address does not reveal them; a new one makes a contact.
    [address] = (await sam.get(f"{API}/contacts/{contact['ben']}")).json()["addresses"]
    hidden = await ana.post(
        f"{API}/contacts/lookup",
        json={"kind": address["kind"], "value": address["value"]},
        headers=csrf,
    )
    assert hidden.status_code == 404, hidden.text
    fresh = await ana.post(
        f"{API}/contacts/lookup", json={"kind": "email", "value": "new@example.com"}, headers=csrf
    )
    assert fresh.status_code == 200 and fresh.json()["created"] is True, fresh.text
    # Nor can she merge someone she cannot see into someone she can.
    r = await ana.post(
        f"{API}/contacts/{contact['ana']}/merge/preview",
        json={"other_id": contact["ben"]},
        headers=csrf,
    )
    assert r.status_code == 404, r.text
    # The supervisor's view is untouched: the hidden contact still has only its own data.
    r = await sam.get(f"{API}/contacts/{contact['ben']}")
    assert r.status_code == 200 and "seen" not in r.json()["tags"]


async def test_a_restricted_agent_sees_and_acts_on_hand_offs_and_spam_of_her_scope_only(
    client: httpx.AsyncClient, container: Container, closing: list[World]
) -> None:
    """Hand-offs (with their intake), the dialogue record and spam marks are a
    conversation's data too: outside her scope they do not exist for her."""
    w = await _world(container, client, "own_and_queues")
    closing.append(w)
    c, ana, sam = w.conv, w.web["ana"], w.web["sam"]
    handoff: dict[str, str] = {}
    async with container.sessions() as session, session.begin():
        for label, cid in c.items():
            row = Handoff(
                id=new_id("hof"),
                tenant_id=w.kit.tenant_id,
                conversation_id=cid,
                channel="whatsapp",
                reason="wants a person",
                intake={"name": f"Customer of {label}"},
            )
            session.add(row)
            handoff[label] = row.id
    page = await ana.get("/app")
    token = page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    csrf = {"X-CSRF-Token": token}
    # sam marks ben's conversation: the feedback list is a conversation's data as well
    page = await sam.get("/app")
    sam_token = page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    r = await sam.post(
        f"{API}/conversations/{c['ben']}/spam",
        json={"spam": True},
        headers={"X-CSRF-Token": sam_token},
    )
    assert r.status_code == 201, r.text

    listed = (await ana.get(f"{API}/handoffs")).json()["items"]
    assert {h["id"] for h in listed} == {handoff["ana"], handoff["queue_es"]}
    assert {h["id"] for h in (await sam.get(f"{API}/handoffs")).json()["items"]} == set(
        handoff.values()
    )
    assert (await ana.get(f"{API}/spam/feedback")).json()["items"] == []
    assert len((await sam.get(f"{API}/spam/feedback")).json()["items"]) == 1
    for label, visible in (("ana", True), ("queue_es", True), ("ben", False), ("bot", False)):
        expected = 200 if visible else 404
        r = await ana.get(f"{API}/handoffs/{handoff[label]}")
        assert r.status_code == expected, (label, r.text)
        r = await ana.get(f"{API}/conversations/{c[label]}/dialogue")
        assert r.status_code == expected, (label, r.text)
        r = await ana.get(f"{API}/conversations/{c[label]}/spam")
        assert r.status_code == expected, (label, r.text)
        r = await ana.post(
            f"{API}/conversations/{c[label]}/spam", json={"spam": False}, headers=csrf
        )
        assert r.status_code == (201 if visible else 404), (label, r.text)
    for label in ("ben", "bot"):
        r = await ana.post(f"{API}/handoffs/{handoff[label]}/take", headers=csrf)
        assert r.status_code == 404, (label, r.text)
    # nothing she could not see was changed
    r = await sam.get(f"{API}/handoffs/{handoff['ben']}")
    assert r.json()["status"] == "waiting"
    assert (await sam.get(f"{API}/conversations/{c['ben']}/spam")).json()["verdict"] == "spam"


async def test_by_default_agents_see_everything(
    client: httpx.AsyncClient, container: Container, closing: list[World]
) -> None:
    w = await _world(container, client, "all")
    closing.append(w)
    assert await _listed(w.web["ana"]) == set(w.conv.values())
    r = await w.web["ana"].get(f"{API}/conversations/{w.conv['ben']}")
    assert r.status_code == 200


def test_the_pure_rules() -> None:
    scope = AgentScope(frozenset({"stf_a", "usr_a"}), frozenset({"que_1"}))
    assert scope.sees("agent", "stf_a") and scope.sees("agent", "usr_a")
    assert scope.sees("queue", "que_1")
    assert not scope.sees("queue", "que_2") and not scope.sees("agent", "stf_b")
    assert not scope.sees("bot", None) and not scope.sees("queue", None)
    assert restricted(role="agent", agents_see="own_and_queues")
    assert not restricted(role="supervisor", agents_see="own_and_queues")
    assert not restricted(role="agent", agents_see="all")
    assert member_of({"es": 3}, ["es"], 1) and not member_of({"es": 1}, ["es"], 2)
    assert member_of({}, [], 1) and not member_of({"en": 5}, ["es"], 1)


def test_the_live_socket_hides_other_queues_from_a_restricted_agent() -> None:
    viewer = Viewer(supervisor=False, agent_id="stf_a", queues=frozenset({"que_1"}))
    assert viewer.sees("routing.queued", {"conversation_id": "c1", "queue_id": "que_1"})
    assert not viewer.sees("routing.queued", {"conversation_id": "c2", "queue_id": "que_2"})
    assert viewer.sees("routing.moved", {"from_queue": "que_2", "to_queue": "que_1"})
    assert viewer.sees("agent.presence_changed", {"agent_id": "stf_b"})
    everyone = Viewer(supervisor=False, agent_id="stf_a")
    assert everyone.sees("routing.queued", {"conversation_id": "c2", "queue_id": "que_2"})
