"""The simulator page and its JSON calls, through the real ingress pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.channels.models import ChannelAccount
from centralita.core.ids import new_id
from centralita.tenants import service as tenants_service
from tests.conftest import Database, make_settings
from tests.factories import TenantKit, make_tenant
from tests.web.forms import meta_token

TEXT = "Hola, quería pedir cita para una limpieza"


async def _page_token(client: httpx.AsyncClient) -> str:
    r = await client.get("/simulator")
    assert r.status_code == 200, r.text
    return meta_token(r.text)


async def _send(
    client: httpx.AsyncClient, kit: TenantKit, token: str | None, **fields: Any
) -> httpx.Response:
    body = {
        "account_id": kit.simulator_account_id,
        "channel": "whatsapp",
        "address": "34600111222",
        "name": "Ana García",
        "text": TEXT,
        **fields,
    }
    headers = {"X-CSRF-Token": token} if token is not None else {}
    return await client.post("/simulator/api/send", json=body, headers=headers)


async def _conversation(
    client: httpx.AsyncClient, kit: TenantKit, channel: str, address: str
) -> httpx.Response:
    params = {"account_id": kit.simulator_account_id, "channel": channel, "address": address}
    return await client.get("/simulator/api/conversation", params=params)


async def test_page_lists_tenants_with_a_simulator_account(
    client: httpx.AsyncClient, container: Container
) -> None:
    first = await make_tenant(container, "clinica-sonrisa")
    second = await make_tenant(container, "fontaneria-rapida")
    async with container.sessions() as session, session.begin():
        await tenants_service.create_tenant(session, slug="sin-simulador", name="Sin Simulador")
    r = await client.get("/simulator")
    assert r.status_code == 200
    assert first.simulator_account_id in r.text and second.simulator_account_id in r.text
    assert "Clinica-Sonrisa" in r.text and "Sin Simulador" not in r.text
    assert 'src="/static/simulator.js' in r.text and "<script>" not in r.text
    # Picking a tenant selects its account.
    r = await client.get("/simulator", params={"account": second.simulator_account_id})
    assert f'data-account="{second.simulator_account_id}"' in r.text


async def test_send_stores_a_message_that_the_api_returns(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    token = await _page_token(client)
    r = await _send(client, kit, token)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["address"] == "34600111222" and sent["duplicate"] is False
    assert sent["api_url"] == f"/api/v1/conversations/{sent['conversation_id']}"

    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    assert [c["id"] for c in convs] == [sent["conversation_id"]]
    msgs = (
        await client.get(
            f"/api/v1/conversations/{sent['conversation_id']}/messages", headers=kit.headers
        )
    ).json()["items"]
    assert [(m["id"], m["body"], m["channel"], m["direction"]) for m in msgs] == [
        (sent["message_id"], TEXT, "whatsapp", "inbound")
    ]
    contact = (
        await client.get(f"/api/v1/contacts/{convs[0]['contact_id']}", headers=kit.headers)
    ).json()
    assert contact["name"] == "Ana García"
    await container.relay.drain()


async def test_the_page_shows_the_stored_conversation_and_the_delivered_reply(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    empty = await _conversation(client, kit, "whatsapp", "34600111222")
    assert empty.json() == {"address": "34600111222", "conversation": None, "messages": []}

    sent = (await _send(client, kit, await _page_token(client))).json()
    reply = await client.post(
        f"/api/v1/conversations/{sent['conversation_id']}/messages",
        json={"body": "¡Hola Ana! ¿Te va bien el martes a las 10:00?"},
        headers=kit.headers,
    )
    assert reply.status_code == 201, reply.text
    await container.relay.drain()  # the delivery worker sends it through the simulator adapter

    data = (await _conversation(client, kit, "whatsapp", "+34 600 111 222")).json()
    assert data["conversation"]["id"] == sent["conversation_id"]
    assert data["conversation"]["contact"]["name"] == "Ana García"
    shown = [(m["direction"], m["body"], m["delivery_status"]) for m in data["messages"]]
    assert shown[0] == ("inbound", TEXT, "received")
    # the receptionist answered too; the agent's reply is there and delivered
    assert ("outbound", "¡Hola Ana! ¿Te va bien el martes a las 10:00?", "delivered") in shown
    assert all(status == "delivered" for direction, _, status in shown if direction == "outbound")


async def test_national_numbers_use_the_tenants_country(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)  # country ES
    r = await _send(client, kit, await _page_token(client), channel="sms", address="600 111 222")
    assert r.status_code == 201, r.text
    assert r.json()["address"] == "+34600111222"
    data = (await _conversation(client, kit, "voice", "600111222")).json()
    assert [m["channel"] for m in data["messages"]] == ["sms"]  # same customer on a call


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "sms", "address": "12"}, "address"),
        ({"channel": "voice", "address": "+34 not a phone"}, "address"),
        ({"channel": "whatsapp", "address": "hola"}, "address"),
        ({"channel": "email", "address": "ana@"}, "address"),
        ({"channel": "webchat", "address": "two words"}, "address"),
        ({"channel": "fax"}, "body.channel"),
        ({"text": ""}, "body.text"),
        ({"account_id": "chn_nope"}, "account_id"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, container: Container, fields: dict[str, str], field: str
) -> None:
    kit = await make_tenant(container)
    r = await _send(client, kit, await _page_token(client), **fields)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    assert convs == []


async def test_only_simulator_accounts_can_be_played(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        real = ChannelAccount(
            id=new_id("chn"),
            tenant_id=kit.tenant_id,
            name="twilio-sms",
            kind="sms",
            provider="twilio",
            address="+34910000000",
            secret="s3cret",
            settings={},
        )
        session.add(real)
    r = await _send(client, kit, await _page_token(client), account_id=real.id, channel="sms")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    assert real.id not in (await client.get("/simulator")).text


async def test_conversation_lookup_names_a_bad_address(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await _conversation(client, kit, "sms", "12")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "address"


@pytest.mark.parametrize("token", [None, "forged"])
async def test_send_needs_the_csrf_header(
    client: httpx.AsyncClient, container: Container, token: str | None
) -> None:
    kit = await make_tenant(container)
    await _page_token(client)
    r = await _send(client, kit, token, channel="fax")  # CSRF is checked before the body
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "CSRF" in r.json()["detail"]


async def test_simulator_is_not_mounted_when_disabled(database: Database, tmp_path: Path) -> None:
    container = build_container(
        make_settings(database, tmp_path, simulator_enabled=False), run_workers=False
    )
    await container.start()
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/simulator")).status_code == 404
            assert (await c.post("/simulator/api/send", json={})).status_code == 404
            assert 'href="/simulator"' not in (await c.get("/login")).text
    finally:
        await container.stop()
