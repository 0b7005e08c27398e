"""WhatsApp outbound beyond free text: reply buttons, lists and templates (the exact bodies the
Graph API stand-in receives), the 24-hour window enforced both ways with the re-engagement
template, Meta's error codes, and what agents may send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.base import (
    Address,
    Capabilities,
    Choice,
    OutboundMessage,
    TemplateRef,
    text_with_choices,
)
from centralita.channels.meta import payloads
from centralita.channels.models import ChannelAccount
from centralita.conversations.handlers import _outbound_message, deliver_outbound
from centralita.conversations.models import Message
from centralita.events.models import OutboxEvent
from centralita.events.relay import to_envelope
from tests.channels.fake_graph import FakeGraph, fake_graph
from tests.channels.test_whatsapp_cloud import (
    CUSTOMER,
    NUMBER_ID,
    TOKEN,
    _clinic,
    _envelope,
    _messages,
    _post,
    _text,
)

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SLOTS = (
    Choice("slot-1", "Martes 10:00", "Dra. Ruiz"),
    Choice("slot-2", "Martes 12:30", "Dra. Ruiz"),
    Choice("slot-3", "Miércoles 09:00"),
    Choice("slot-4", "Jueves 17:00", "Dr. Pérez"),
)
BUTTONS = (
    Choice("confirm", "Confirmar"),
    Choice("move", "Cambiar hora"),
    Choice("cancel", "Cancelar"),
)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def fixture(name: str, to: str = "16505551234") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    data["to"] = to
    return data


def _message(text: str, *, hours_since_inbound: float = 1, **kw: Any) -> OutboundMessage:
    meta = {"now": NOW, "last_inbound_at": NOW - timedelta(hours=hours_since_inbound)}
    return OutboundMessage("msg_1", Address("whatsapp", "16505551234"), text, meta, **kw)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("TEST_WA_TOKEN", TOKEN)
    with fake_graph(NUMBER_ID, TOKEN) as server:
        yield server


# ---- the bodies, pure ------------------------------------------------------------------------


def test_three_choices_are_reply_buttons_and_more_are_a_list() -> None:
    built = payloads.build(
        _message("¿Confirmamos la cita del martes a las 10:00?", choices=BUTTONS), {}
    )
    assert built.payload == fixture("send_buttons.json") and built.details == {}
    built = payloads.build(
        _message("Estos son los huecos libres:", choices=SLOTS), {"list_button_label": "Ver horas"}
    )
    assert built.payload == fixture("send_list.json")


def test_a_template_goes_out_even_outside_the_window() -> None:
    ref = TemplateRef("appointment_reminder", "es", ("Sheena", "martes\n10:00"))
    built = payloads.build(_message("Recordatorio", hours_since_inbound=72, template=ref), {})
    assert built.payload == fixture("send_template.json")  # the newline became a space


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"choices": (Choice("a", "x" * 21),)}, "button 1 title: 21 characters"),
        ({"choices": (Choice("a" * 257, "ok"),)}, "button 1 id: 257 characters"),
        ({"choices": (*SLOTS, Choice("slot-5", "y" * 25))}, "row 5 title: 25 characters"),
        ({"choices": (*SLOTS, Choice("slot-5", "ok", "d" * 73))}, "row 5 description"),
        ({"choices": tuple(Choice(f"s{i}", "ok") for i in range(11))}, "11 list rows"),
        ({"choices": (Choice("a", "Sí"), Choice("a", "No"))}, "choice ids must be unique"),
        ({"template": TemplateRef("Bad Name", "es")}, "template name"),
        ({"template": TemplateRef("ok", "spanish")}, "template language"),
    ],
)
def test_meta_limits_fail_clearly_before_anything_is_sent(kw: dict[str, Any], reason: str) -> None:
    with pytest.raises(payloads.Refused, match=reason):
        payloads.build(_message("Elige una opción", **kw), {})
    with pytest.raises(payloads.Refused, match="at most 1024"):
        payloads.build(_message("x" * 1025, choices=BUTTONS), {})


def test_outside_the_window_free_text_becomes_the_reengagement_template() -> None:
    message = _message("¿Sigue interesada en la cita?", hours_since_inbound=25)
    with pytest.raises(payloads.Refused, match="24-hour customer-service window"):
        payloads.build(message, {})
    with pytest.raises(payloads.Refused, match="24-hour"):
        payloads.build(_message("Elige", hours_since_inbound=25, choices=BUTTONS), {})
    settings = {"reengagement_template": {"name": "reconnect", "language": "es",
                "body_parameters": ["{contact_name}", "Mensaje: {text} {unknown}"]}}  # fmt: skip
    meta = {**message.metadata, "contact_name": "Ana García"}
    built = payloads.build(OutboundMessage("m", message.to, message.text, meta), settings)
    assert built.payload["template"] == {
        "name": "reconnect",
        "language": {"code": "es"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Ana García"},
            {"type": "text", "text": "Mensaje: ¿Sigue interesada en la cita? {unknown}"}]}],
    }  # fmt: skip
    assert built.details["template_used"]["name"] == "reconnect"
    assert payloads.window_open(_message("x", hours_since_inbound=23.99).metadata)
    assert not payloads.window_open({})


def test_channels_without_buttons_get_numbered_lines() -> None:
    assert text_with_choices("¿Qué hora?", SLOTS[:2]) == (
        "¿Qué hora?\n\n1. Martes 10:00 (Dra. Ruiz)\n2. Martes 12:30 (Dra. Ruiz)"
    )
    assert text_with_choices("Hola", ()) == "Hola"
    stored = Message(
        id="msg_x",
        body="¿Qué hora?",
        meta={"choices": [{"id": "slot-3", "title": "Miércoles 09:00"}],
              "template": {"name": "t", "language": "es"}},
    )  # fmt: skip
    plain = _outbound_message(stored, Address("phone", "+34600000001"), {}, Capabilities())
    assert plain.text == "¿Qué hora?\n\n1. Miércoles 09:00"
    assert plain.choices == () and plain.template is None
    rich = _outbound_message(
        stored, Address("whatsapp", "1"), {}, Capabilities(buttons=True, templates=True)
    )
    assert rich.text == "¿Qué hora?" and rich.choices == (Choice("slot-3", "Miércoles 09:00"),)
    assert rich.template == TemplateRef("t", "es")


# ---- end to end: agents, the outbox and the Graph API stand-in ---------------------------------


async def _agent(container: Container, account_id: str) -> dict[str, str]:
    async with container.sessions() as session, session.begin():
        account = await session.get(ChannelAccount, account_id)
        assert account is not None
        issued = await access_service.create_api_key(
            session, tenant_id=account.tenant_id, name="agent", role="admin"
        )
    return {"Authorization": f"Bearer {issued.secret}"}


async def _conversation(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph, **settings: Any
) -> tuple[str, str, dict[str, str]]:
    """A customer writes; the receptionist answers; returns (account, conversation, headers)."""
    account_id = await _clinic(container, graph, settings)
    assert (await _post(client, account_id, _text("wamid.IN1", "Hola"))).status_code == 200
    await container.relay.drain()
    assert len(graph.sent) == 1  # the receptionist's answer
    [conversation_id] = {m.conversation_id for m in await _messages(container)}
    return account_id, conversation_id, await _agent(container, account_id)


async def _reply(
    client: httpx.AsyncClient, conversation_id: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=headers, json=body
    )


async def test_agents_send_buttons_lists_and_templates(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conversation_id, headers = await _conversation(
        container, client, graph, list_button_label="Ver horas"
    )
    buttons = [{"id": c.id, "title": c.title} for c in BUTTONS]
    rows = [{"id": c.id, "title": c.title, "description": c.description} for c in SLOTS]
    template = {"name": "appointment_reminder", "language": "es",
                "parameters": ["Sheena", "martes 10:00"]}  # fmt: skip
    for body in (
        {"body": "¿Confirmamos la cita del martes a las 10:00?", "choices": buttons},
        {"body": "Estos son los huecos libres:", "choices": rows},
        {"body": "Recordatorio: martes 10:00", "template": template},
    ):
        r = await _reply(client, conversation_id, headers, **body)
        assert r.status_code == 201, r.text
    await container.relay.drain()
    sent = [{k: v for k, v in s.items() if k not in ("id", "path", "at")} for s in graph.sent]
    assert sent[1:] == [
        fixture("send_buttons.json", CUSTOMER),
        fixture("send_list.json", CUSTOMER),
        fixture("send_template.json", CUSTOMER),
    ]
    outbound = (await _messages(container, direction="outbound"))[1:]
    assert [m.delivery_status for m in outbound] == ["sent"] * 3
    assert outbound[0].meta["choices"] == buttons
    assert outbound[2].meta["template"] == template
    listed = (
        await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    ).json()["items"]
    assert any(m["meta"].get("template") == template for m in listed)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"body": "x", "choices": [{"id": "a", "title": "x" * 21}]}, "titles at most 20"),
        ({"body": "x", "choices": [{"id": f"{i}", "title": "t"} for i in range(11)]}, "10"),
        ({"body": "x", "choices": [{"id": "a", "title": "t"}] * 2}, "unique"),
        ({"body": "x", "kind": "note", "choices": [{"id": "a", "title": "t"}]}, "note"),
        ({"body": "x", "template": {"name": "Bad", "language": "es"}}, "pattern"),
        ({"body": "x", "template": {"name": "ok", "language": "es", "parameters": [" "]}}, "blank"),
    ],
)
async def test_the_reply_endpoint_validates_choices_and_templates(
    container: Container,
    client: httpx.AsyncClient,
    graph: FakeGraph,
    body: dict[str, Any],
    problem: str,
) -> None:
    _, conversation_id, headers = await _conversation(container, client, graph)
    r = await _reply(client, conversation_id, headers, **body)
    assert r.status_code == 422 and problem in r.text, r.text
    assert len(await _messages(container, direction="outbound")) == 1


async def test_outside_the_window_the_reengagement_template_is_sent_and_recorded(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    settings = {"reengagement_template": {"name": "reconnect", "language": "es",
                                          "body_parameters": ["{contact_name}"]}}  # fmt: skip
    _, conversation_id, headers = await _conversation(container, client, graph, **settings)
    window_url = f"/api/v1/conversations/{conversation_id}/whatsapp-window"
    window = (await client.get(window_url, headers=headers)).json()
    assert window["open"] is True and window["may_send"] == ["text", "choices", "template"]
    assert window["reengagement_template"] == "reconnect"
    later = container.clock() + timedelta(hours=30)
    container.clock = lambda: later
    window = (await client.get(window_url, headers=headers)).json()
    assert window["open"] is False and window["may_send"] == ["template"]

    assert (await _reply(client, conversation_id, headers, body="¿Seguimos?")).status_code == 201
    await container.relay.drain()
    assert graph.sent[-1]["template"] == {
        "name": "reconnect", "language": {"code": "es"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana García"}]}],
    }  # fmt: skip
    last = (await _messages(container, direction="outbound"))[-1]
    assert last.delivery_status == "sent" and last.body == "¿Seguimos?"
    assert last.meta["template_used"] == {
        "name": "reconnect", "language": "es",
        "reason": "outside the 24-hour customer-service window",
    }  # fmt: skip


async def test_meta_error_131047_is_final_and_rate_limits_are_retried(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id, conversation_id, headers = await _conversation(container, client, graph)
    graph.failures.append((400, 131047, "(#131047) Re-engagement message"))
    assert (await _reply(client, conversation_id, headers, body="Hola de nuevo")).status_code == 201
    await container.relay.drain()
    failed = (await _messages(container, direction="outbound"))[-1]
    assert failed.delivery_status == "failed"
    assert failed.delivery_error == f"{payloads.WINDOW_REASON} (WhatsApp error 131047)"

    # 130429 comes back as a 400, yet it is throttling: counted, kept queued, retried
    graph.failures.append((400, 130429, "(#130429) Rate limit hit"))
    assert (await _reply(client, conversation_id, headers, body="¿Me oye?")).status_code == 201
    await container.relay.drain()
    queued = (await _messages(container, direction="outbound"))[-1]
    assert queued.delivery_status == "queued" and queued.meta["delivery_attempts"] == 1
    assert "130429" in queued.meta["last_delivery_error"]
    async with container.sessions() as session:
        row = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.name == "message.queued", OutboxEvent.published_at.is_(None)
            )
        )
        assert row is not None and row.attempts == 1 and "130429" in (row.last_error or "")
    await deliver_outbound(container, to_envelope(row))  # the relay's retry, after its backoff
    sent = (await _messages(container, direction="outbound"))[-1]
    assert sent.delivery_status == "sent" and graph.sent[-1]["text"]["body"] == "¿Me oye?"

    # a failed status with 131047 says why in the same words
    raw = (
        (FIXTURES / "status_failed_131047.json")
        .read_text()
        .replace("WAMID_PLACEHOLDER", sent.provider_message_id or "")
    )
    payload = json.loads(raw)
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = NUMBER_ID
    assert (await _post(client, account_id, payload)).status_code == 200
    sent = (await _messages(container, direction="outbound"))[-1]
    assert sent.delivery_status == "failed" and "24-hour" in (sent.delivery_error or "")


async def test_button_replies_come_back_with_the_chosen_id(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    """Interactive replies to our buttons come back with the id we chose."""
    account_id, _, _ = await _conversation(container, client, graph)
    reply = _envelope({"messages": [{"from": CUSTOMER, "id": "wamid.BTN", "timestamp": "1795000000",
        "type": "interactive", "interactive": {"type": "button_reply",
        "button_reply": {"id": "confirm", "title": "Confirmar"}}}]})  # fmt: skip
    assert (await _post(client, account_id, reply)).status_code == 200
    [row] = await _messages(container, provider_message_id="wamid.BTN")
    assert row.meta["reply_id"] == "confirm" and row.body == "Confirmar"


def test_the_tenant_file_checks_the_new_settings() -> None:
    from centralita.channels.meta.config import problems

    good = {"rate_per_second": 40, "list_button_label": "Ver horas",
            "reengagement_template": {"name": "reconnect", "language": "es_ES",
                                      "body_parameters": ["{contact_name}"]}}  # fmt: skip
    assert problems("whatsapp", good, True) == []
    bad = {"rate_per_second": 0, "list_button_label": "x" * 21,
           "reengagement_template": {"name": "Re Connect", "language": "spanish",
                                     "body_parameters": "{text}", "extra": 1}}  # fmt: skip
    found = {path for path, _ in problems("whatsapp", bad, True)}
    assert found == {
        ("settings", "rate_per_second"),
        ("settings", "list_button_label"),
        ("settings", "reengagement_template"),
        ("settings", "reengagement_template", "name"),
        ("settings", "reengagement_template", "language"),
        ("settings", "reengagement_template", "body_parameters"),
    }
