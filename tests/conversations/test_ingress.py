"""Inbound messages through the real HTTP ingress, stored and returned by the API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.bootstrap import Container
from centralita.contacts.models import Contact
from centralita.conversations.models import Message
from tests.conftest import Database
from tests.factories import make_tenant
from tests.simulator_client import simulator_request


async def test_inbound_message_is_stored_and_listed(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body, headers = simulator_request(
        kit.simulator_secret, text="Hola, quiero una cita", name="Ana"
    )
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text

    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    assert len(convs) == 1
    msgs = (
        await client.get(f"/api/v1/conversations/{convs[0]['id']}/messages", headers=kit.headers)
    ).json()["items"]
    assert [m["body"] for m in msgs] == ["Hola, quiero una cita"]
    assert msgs[0]["direction"] == "inbound" and msgs[0]["channel"] == "whatsapp"
    contact = (
        await client.get(f"/api/v1/contacts/{convs[0]['contact_id']}", headers=kit.headers)
    ).json()
    assert contact["name"] == "Ana"
    assert contact["addresses"][0] == {
        **contact["addresses"][0],
        "kind": "whatsapp",
        "value": "34600111222",
    }


async def test_duplicate_delivery_is_stored_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body, headers = simulator_request(kit.simulator_secret, text="hello", msg_id="dup-1")
    for _ in range(3):
        r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
        assert r.status_code == 200
    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    msgs = (
        await client.get(f"/api/v1/conversations/{convs[0]['id']}/messages", headers=kit.headers)
    ).json()["items"]
    assert len(msgs) == 1
    await container.relay.drain()


async def test_bad_signature_is_rejected_and_nothing_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body, headers = simulator_request("wrong-secret", text="hello")
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    assert convs == []


async def test_nul_characters_are_dropped_not_fatal(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body, headers = simulator_request(kit.simulator_secret, text="ho\x00la", name="A\x00na")
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text
    conv = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"][0]
    msgs = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=kit.headers)
    ).json()["items"]
    assert msgs[0]["body"] == "hola"


async def test_concurrent_first_deliveries_all_succeed_and_store_once(container: Container) -> None:
    """Races on the unique constraints are retried, not answered with a 500.

    Each delivery runs in its own transaction (as concurrent webhook requests do); on
    PostgreSQL they really overlap, so the losers hit the constraint and retry.
    """
    from centralita.channels.base import HttpInbound
    from centralita.channels.ingress import ingest

    kit = await make_tenant(container)
    same, same_headers = simulator_request(kit.simulator_secret, text="dup", msg_id="race-1")
    others = [
        simulator_request(kit.simulator_secret, text=f"n{i}", value="34600555444") for i in range(4)
    ]
    requests = [(same, same_headers)] * 4 + others
    outcomes = await asyncio.gather(
        *(
            ingest(
                container.sessions,
                container.adapters,
                account_id=kit.simulator_account_id,
                request=HttpInbound("POST", "http://testserver/hooks/x", headers, body),
            )
            for body, headers in requests
        )
    )
    assert len(outcomes) == 8
    async with container.sessions() as session:
        messages = await session.scalar(select(func.count()).select_from(Message))
        contacts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.tenant_id == kit.tenant_id)
        )
    assert messages == 5  # one "dup" and the four others
    assert contacts == 2


async def test_each_message_gets_its_language(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)  # a Spanish-locale tenant
    texts = [
        "Hello, I would like to book an appointment for next week",
        "ok",  # too short to tell: the conversation so far is English
        "Perdón, mejor en español: quería cambiar la cita",
    ]
    for text in texts:
        body, headers = simulator_request(kit.simulator_secret, text=text)
        r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
        assert r.status_code == 200
    conv = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"][0]
    msgs = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=kit.headers)
    ).json()["items"]
    by_text = {m["body"]: m["language"] for m in msgs}
    assert [by_text[t] for t in texts] == ["en", "en", "es"]
    assert conv["language"] == "es"


async def test_a_new_customer_whose_address_a_concurrent_message_just_claimed_is_retried(
    container: Container, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the ingest benchmark found as a 409: between our lookup (nobody has this
    address) and our check that it is free, another first message from the same customer
    commits its contact. The check says Conflict; the delivery must be retried, not refused."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer: the two transactions cannot overlap")
    from centralita.channels.base import HttpInbound
    from centralita.channels.ingress import ingest
    from centralita.contacts import service as contacts_service

    kit = await make_tenant(container)
    real_check = contacts_service._ensure_addresses_free
    raced: list[str] = []

    async def lose_the_race(session: AsyncSession, **kwargs: Any) -> None:
        if not raced:  # the other message's transaction commits right before our check
            raced.append("once")
            async with container.sessions() as other, other.begin():
                await contacts_service.create_contact(
                    other, tenant_id=kit.tenant_id, addresses=[("whatsapp", "34600777888")],
                    source="inbound",
                )  # fmt: skip
        await real_check(session, **kwargs)

    monkeypatch.setattr(contacts_service, "_ensure_addresses_free", lose_the_race)
    body, headers = simulator_request(kit.simulator_secret, text="hola", value="34600777888")
    outcome = await ingest(
        container.sessions,
        container.adapters,
        account_id=kit.simulator_account_id,
        request=HttpInbound("POST", "http://testserver/hooks/x", headers, body),
    )
    assert raced and outcome.response.status == 200
    async with container.sessions() as session:
        contacts = (
            await session.scalars(select(Contact).where(Contact.tenant_id == kit.tenant_id))
        ).all()
        messages = (await session.scalars(select(Message))).all()
    assert len(contacts) == 1 and [m.contact_id for m in messages] == [contacts[0].id]
