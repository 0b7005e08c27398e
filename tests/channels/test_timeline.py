"""One customer, several channels, one timeline: what the API shows an agent."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.tenants.config.apply import apply_document
from tests.channels.contract import NOW, TwilioVoiceDriver, WebChatDriver, WhatsAppDriver, Wire
from tests.channels.fake_graph import fake_graph
from tests.receptionist.harness import demo_document

NUMBER = "+34611777888"


async def _post(client: httpx.AsyncClient, account_id: str, wire: Wire) -> httpx.Response:
    r = await client.post(
        f"/hooks/{account_id}{wire.suffix}", content=wire.body, headers=wire.headers
    )
    assert r.status_code == 200, r.text
    return r


async def _clinic(container: Container, graph_url: str) -> tuple[dict[str, str], dict[str, Any]]:
    doc = demo_document("clinica-dental-sonrisa")
    wa, voice, chat = WhatsAppDriver(), TwilioVoiceDriver(), WebChatDriver()
    doc.channels.append(wa.account(graph_url).model_copy(update={"name": "wa"}))
    doc.channels.append(voice.account("").model_copy(update={"name": "voz"}))
    doc.channels.append(chat.account("").model_copy(update={"name": "chat"}))
    async with container.sessions() as session, session.begin():
        tenant = await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session, session.begin():
        accounts = {
            a.name: a.id
            for a in (await session.scalars(select(ChannelAccount))).all()
            if a.name in ("wa", "voz", "chat")
        }
        key = await access_service.create_api_key(
            session, tenant_id=tenant.tenant_id, name="t", role="admin"
        )
    container.clock = lambda: NOW
    return accounts, {"Authorization": f"Bearer {key.secret}"}


async def test_whatsapp_then_a_call_from_the_same_number_is_one_timeline(
    container: Container, client: httpx.AsyncClient
) -> None:
    wa, voice = WhatsAppDriver(), TwilioVoiceDriver()
    wa.customer, voice.customer = NUMBER.lstrip("+"), NUMBER
    with fake_graph(wa.number_id, wa.token) as graph:
        accounts, headers = await _clinic(container, graph.url)
        await _post(client, accounts["wa"], wa.inbound(accounts["wa"], "t-1", "Hola, soy Ana"))
        await container.relay.drain()
        await _post(
            client, accounts["voz"], voice.inbound(accounts["voz"], "t-2", "Llamo por lo de antes")
        )
        await container.relay.drain()
    contacts = (await client.get("/api/v1/contacts", headers=headers)).json()["items"]
    ana = [c for c in contacts if {a["value"] for a in c["addresses"]} & {NUMBER, wa.customer}]
    assert len(ana) == 1, contacts
    r = await client.get(f"/api/v1/contacts/{ana[0]['id']}/timeline", headers=headers)
    assert r.status_code == 200, r.text
    items = list(reversed(r.json()["items"]))  # oldest first
    inbound = [(m["channel"], m["body"]) for m in items if m["direction"] == "inbound"]
    assert [i for i in inbound if i[1]] == [
        ("whatsapp", "Hola, soy Ana"),
        ("voice", "Llamo por lo de antes"),
    ]
    assert {m["channel"] for m in items if m["direction"] == "outbound"} == {"whatsapp", "voice"}
    assert len({m["conversation_id"] for m in items}) == 1


async def test_web_chat_then_whatsapp_then_a_call_is_one_timeline(
    container: Container, client: httpx.AsyncClient
) -> None:
    """Each step in its provider's own wire format: the widget's session (the pre-chat form
    gives a phone number) and a message frame with the visitor's token; a Meta webhook from
    that number's WhatsApp; a Twilio call from it."""
    wa, voice = WhatsAppDriver(), TwilioVoiceDriver()
    wa.customer, voice.customer = NUMBER.lstrip("+"), NUMBER
    with fake_graph(wa.number_id, wa.token) as graph:
        accounts, headers = await _clinic(container, graph.url)
        chat = accounts["chat"]
        r = await client.post(
            f"/widget/{chat}/session",
            json={"name": "Ana", "phone": "611 777 888"},
            headers={"Origin": "https://contrato.example"},  # the page the widget sits on
        )
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        frame = {"type": "message", "id": "web-1", "text": "Hola, quiero pedir cita"}
        await _post(client, chat, Wire(json.dumps(frame).encode(), {"X-Webchat-Token": token}))
        await container.relay.drain()
        await _post(client, accounts["wa"], wa.inbound(accounts["wa"], "t-1", "Sigo por aquí"))
        await container.relay.drain()
        call = voice.inbound(accounts["voz"], "t-2", "Llamo por lo de la cita")
        await _post(client, accounts["voz"], call)
        await container.relay.drain()
    contacts = (await client.get("/api/v1/contacts", headers=headers)).json()["items"]
    ana = [c for c in contacts if NUMBER in {a["value"] for a in c["addresses"]}]
    assert len(ana) == 1, contacts
    kinds = {a["kind"] for a in ana[0]["addresses"]}
    assert {"web", "phone", "whatsapp"} <= kinds
    r = await client.get(f"/api/v1/contacts/{ana[0]['id']}/timeline", headers=headers)
    assert r.status_code == 200, r.text
    items = list(reversed(r.json()["items"]))  # oldest first
    inbound = [(m["channel"], m["body"]) for m in items if m["direction"] == "inbound"]
    assert [i for i in inbound if i[1]] == [
        ("webchat", "Hola, quiero pedir cita"),
        ("whatsapp", "Sigo por aquí"),
        ("voice", "Llamo por lo de la cita"),
    ]
    replied = {m["channel"] for m in items if m["direction"] == "outbound"}
    assert replied == {"webchat", "whatsapp", "voice"}
    assert len({m["conversation_id"] for m in items}) == 1
    # another tenant's key sees none of it
    other_doc = demo_document("hartley-law")
    async with container.sessions() as session, session.begin():
        other = await apply_document(session, other_doc, actor="tests", environ={})
        key = await access_service.create_api_key(
            session, tenant_id=other.tenant_id, name="t", role="admin"
        )
    theirs = {"Authorization": f"Bearer {key.secret}"}
    r = await client.get(f"/api/v1/contacts/{ana[0]['id']}/timeline", headers=theirs)
    assert r.status_code == 404
