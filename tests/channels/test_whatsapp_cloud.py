"""WhatsApp Cloud API end to end: the verification handshake, signed webhooks (text,
interactive replies, media, reactions, statuses), the receptionist's reply through a local
stand-in of the Graph API, and the 24-hour customer-service window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.meta import signature
from centralita.channels.models import ChannelAccount
from centralita.conversations.models import Message
from centralita.core.clock import utcnow
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from tests.channels.fake_graph import FakeGraph, fake_graph
from tests.receptionist.harness import demo_document

APP_SECRET = "meta-app-secret-for-tests-0001"
VERIFY = "sonrisa-verify-token"
TOKEN = "EAAG-test-access-token"
NUMBER_ID = "109876543210001"
CUSTOMER = "34612345678"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("TEST_WA_TOKEN", TOKEN)
    with fake_graph(NUMBER_ID, TOKEN) as server:
        yield server


async def _clinic(
    container: Container, graph: FakeGraph, settings: dict[str, Any] | None = None
) -> str:
    doc = demo_document("clinica-dental-sonrisa")
    doc.channels = [c for c in doc.channels if c.provider != "meta"]
    doc.channels.append(
        ChannelConfig(
            name="whatsapp",
            kind="whatsapp",
            provider="meta",
            address=NUMBER_ID,
            secret=APP_SECRET,
            settings={
                "verify_token": VERIFY,
                "access_token_env": "TEST_WA_TOKEN",
                "graph_api_url": graph.url,
                "graph_api_version": "v21.0",
                **(settings or {}),
            },
        )
    )
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(
            select(ChannelAccount).where(ChannelAccount.provider == "meta")
        )
        assert account is not None and account.enabled
    now = utcnow()
    container.clock = lambda: now
    return account.id


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34600000100", "phone_number_id": NUMBER_ID},
            **value}}]}],
    }  # fmt: skip


def _text(wamid: str, body: str, *, when: datetime | None = None) -> dict[str, Any]:
    ts = str(int((when or utcnow()).timestamp()))
    return _envelope({
        "contacts": [{"profile": {"name": "Ana García"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": ts, "type": "text",
                      "text": {"body": body}}],
    })  # fmt: skip


async def _post(
    client: httpx.AsyncClient, account_id: str, payload: dict[str, Any], secret: str = APP_SECRET
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": signature.compute(secret, body)}  # fmt: skip
    return await client.post(f"/hooks/{account_id}", content=body, headers=headers)


async def _messages(container: Container, **where: Any) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.created_at, Message.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await session.scalars(stmt)).all())


async def test_the_verification_handshake_echoes_the_challenge(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    r = await client.get(f"/hooks/{account_id}", params=ok)
    assert r.status_code == 200 and r.text == "1158201444"
    r = await client.get(f"/hooks/{account_id}", params={**ok, "hub.verify_token": "nope"})
    assert r.status_code == 403
    r = await client.get(f"/hooks/{account_id}", params={**ok, "hub.challenge": ""})
    assert r.status_code == 400
    assert (await client.get("/hooks/chn_unknown", params=ok)).status_code == 404


async def test_a_whatsapp_message_is_answered_through_the_graph_api(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    r = await _post(client, account_id, _text("wamid.IN1", "Hola, ¿a qué hora abrís?"))
    assert r.status_code == 200
    await container.relay.drain()
    [inbound] = await _messages(container, direction="inbound")
    assert inbound.channel == "whatsapp" and inbound.provider_message_id == "wamid.IN1"
    [sent] = graph.sent
    assert sent["to"] == CUSTOMER and sent["type"] == "text"
    assert sent["path"] == f"/v21.0/{NUMBER_ID}/messages"
    [reply] = await _messages(container, direction="outbound")
    assert reply.body == sent["text"]["body"] and reply.delivery_status == "sent"
    assert reply.provider_message_id == sent["id"]

    # statuses: read, then a late delivered, which does not move it back
    for status in ("read", "delivered"):
        update = {"id": sent["id"], "status": status, "timestamp": "1795000000",
                  "recipient_id": CUSTOMER}  # fmt: skip
        payload = _envelope({"statuses": [update]})
        assert (await _post(client, account_id, payload)).status_code == 200
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "read"

    # a redelivered webhook is stored once
    await _post(client, account_id, _text("wamid.IN1", "Hola, ¿a qué hora abrís?"))
    await container.relay.drain()
    assert len(await _messages(container, direction="inbound")) == 1 and len(graph.sent) == 1


async def test_interactive_replies_media_and_reactions(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    ts = str(int(utcnow().timestamp()))
    payload = _envelope({
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER}],
        "messages": [
            {"from": CUSTOMER, "id": "wamid.B1", "timestamp": ts, "type": "interactive",
             "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Sí"}}},
            {"from": CUSTOMER, "id": "wamid.L1", "timestamp": ts, "type": "interactive",
             "interactive": {"type": "list_reply",
                             "list_reply": {"id": "slot-2", "title": "Martes 10:00"}}},
            {"from": CUSTOMER, "id": "wamid.M1", "timestamp": ts, "type": "image",
             "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc"}},
            {"from": CUSTOMER, "id": "wamid.R1", "timestamp": ts, "type": "reaction",
             "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}},
        ],
    })  # fmt: skip
    assert (await _post(client, account_id, payload)).status_code == 200
    rows = {m.provider_message_id: m for m in await _messages(container, direction="inbound")}
    assert rows["wamid.B1"].body == "Sí" and rows["wamid.B1"].meta["reply_id"] == "yes"
    assert rows["wamid.L1"].meta["reply_id"] == "slot-2"
    media = rows["wamid.M1"]
    assert media.kind == "media" and media.meta["media"][0]["id"] == "1479537139650973"
    reaction = rows["wamid.R1"]
    assert reaction.kind == "event" and reaction.meta["reaction_to"] == "wamid.OUT"


async def test_free_text_outside_the_24_hour_window_fails_with_the_reason(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    await _post(client, account_id, _text("wamid.OLD", "Hola, ¿tenéis parking?"))
    await container.relay.drain()
    assert len(graph.sent) == 1  # inside the window: answered
    # two days later an agent writes free text: refused, and the reason is on the message
    later = utcnow() + timedelta(days=2)
    container.clock = lambda: later
    [conversation_id] = {m.conversation_id for m in await _messages(container)}
    async with container.sessions() as session, session.begin():
        account = await session.get(ChannelAccount, account_id)
        assert account is not None
        issued = await access_service.create_api_key(
            session, tenant_id=account.tenant_id, name="tests", role="admin"
        )
    headers = {"Authorization": f"Bearer {issued.secret}"}
    window = (
        await client.get(
            f"/api/v1/conversations/{conversation_id}/whatsapp-window", headers=headers
        )
    ).json()
    assert window["open"] is False and window["channel_account_id"] == account_id
    closes = datetime.fromisoformat(window["closes_at"])
    assert closes - datetime.fromisoformat(window["last_inbound_at"]) == timedelta(hours=24)
    container.clock = lambda: later - timedelta(days=2)  # back inside it, for a moment
    window = (
        await client.get(
            f"/api/v1/conversations/{conversation_id}/whatsapp-window", headers=headers
        )
    ).json()
    assert window["open"] is True
    container.clock = lambda: later
    r = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers,
        json={"body": "¿Sigue interesado en la cita?"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    await container.relay.drain()
    assert len(graph.sent) == 1
    last = (await _messages(container, direction="outbound"))[-1]
    assert last.delivery_status == "failed" and "24-hour" in (last.delivery_error or "")


async def test_bad_signatures_and_bodies(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    payload = _text("wamid.X1", "Hola")
    assert (await _post(client, account_id, payload, secret="wrong")).status_code == 403
    body = json.dumps(payload).encode()
    r = await client.post(f"/hooks/{account_id}", content=body)
    assert r.status_code == 403
    bad_cases = [
        {"object": "page", "entry": []},
        _envelope({"messages": [{"from": CUSTOMER, "type": "text", "text": {"body": "x"}}]}),
        _envelope({"statuses": [{"id": "wamid.Z", "status": "exploded"}]}),
    ]
    for bad in bad_cases:
        assert (await _post(client, account_id, bad)).status_code == 400, bad
    other = _text("wamid.X2", "Hola")
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert (await _post(client, account_id, other)).status_code == 400
    r = await client.post(
        f"/hooks/{account_id}",
        content=b"not json",
        headers={"X-Hub-Signature-256": signature.compute(APP_SECRET, b"not json")},
    )
    assert r.status_code == 400
    assert await _messages(container) == []


def test_the_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    given = signature.compute("secret", body)
    assert given.startswith("sha256=") and len(given) == 7 + 64
    assert signature.valid("secret", body, given)
    assert not signature.valid("secret", body + b" ", given)
    assert not signature.valid("", body, given)
