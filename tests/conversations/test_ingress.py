"""Inbound messages through the real HTTP ingress, stored and returned by the API."""

from __future__ import annotations

import httpx

from centralita.bootstrap import Container
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
