"""The web chat widget in its real wire format: HTTP for the session and the leave-a-message
form, JSON frames on a real WebSocket to a uvicorn server in a thread.

That server has its own container on the test's database, as a second process would: the
test's container runs the receptionist and the delivery (``relay.drain``), the server's socket
finds the replies in the database and pushes them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from centralita.access import service as access_service
from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.channels.models import ChannelAccount
from centralita.channels.webchat import adapter as webchat
from centralita.channels.webchat.config import problems, widget_settings
from centralita.config import Settings
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact, ContactAddress
from centralita.conversations.models import Message
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.config.apply import apply_document
from centralita.tenants.models import Tenant
from tests.conftest import Database, make_settings
from tests.receptionist.harness import demo_document
from tests.simulator_client import simulator_request
from tests.support.thread_server import free_port, serve_in_thread

ORIGIN = "https://clinicadentalsonrisa.example"
OPEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Madrid
CLOSED = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)  # a Sunday night
WHATSAPP = "34612345678"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database: Database, tmp_path: Path, port: int) -> Settings:
    return make_settings(
        database, tmp_path, public_base_url=f"http://127.0.0.1:{port}", webchat_poll_seconds=0.05
    )


@dataclass
class Server:
    url: str
    container: Container

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")


@pytest.fixture
def server(settings: Settings, port: int) -> Iterator[Server]:
    """The app in uvicorn, in a thread, with its own container and no workers."""
    container = build_container(settings, run_workers=False, subscribe=False)
    container.clock = lambda: OPEN
    with serve_in_thread(create_app(container), port, timeout=20):
        yield Server(f"http://127.0.0.1:{port}", container)


@dataclass
class Clinic:
    tenant_id: str
    widget: str  # the web chat account id
    simulator: str
    simulator_secret: str


async def _clinic(
    container: Container, name: str = "clinica-dental-sonrisa", **settings: Any
) -> Clinic:
    doc = demo_document(name)
    for channel in doc.channels:
        if channel.provider == "webchat":
            channel.settings = {**channel.settings, **settings}
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == doc.tenant.slug))
        assert tenant is not None
        accounts = {
            a.provider: a
            for a in (
                await session.scalars(
                    select(ChannelAccount).where(ChannelAccount.tenant_id == tenant.id)
                )
            ).all()
        }
    container.clock = lambda: OPEN
    sim = accounts["simulator"]
    return Clinic(tenant.id, accounts["webchat"].id, sim.id, sim.secret)


@pytest.fixture
async def clinic(container: Container, server: Server) -> Clinic:
    return await _clinic(container, prechat=["name", "email", "phone"])


@pytest.fixture
async def web(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": ORIGIN}) as c:
        yield c


async def _session(web: httpx.AsyncClient, widget: str, **body: Any) -> dict[str, Any]:
    r = await web.post(f"/widget/{widget}/session", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    return dict(r.json())


def _socket(server: Server, widget: str, token: str, origin: str = ORIGIN) -> Any:
    return connect(f"{server.ws}/widget/{widget}/ws?token={token}", origin=Origin(origin))


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 20.0)))


async def _silent(ws: ClientConnection, seconds: float = 0.4) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


async def _closed(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(50):
            await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


async def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def _messages(container: Container, **where: Any) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await session.scalars(stmt)).all())


async def _count(container: Container, model: Any) -> int:
    async with container.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _replies_pushed(
    ws: ClientConnection, container: Container, conversation: str
) -> list[dict[str, Any]]:
    """Run the receptionist and the delivery, then read the pushed replies: exactly the
    outbound rows of the conversation, in order, which end up delivered."""
    await container.relay.drain()
    expected = await _messages(
        container, conversation_id=conversation, direction="outbound", channel="webchat"
    )
    assert expected, "the receptionist did not answer"
    frames = [await _recv(ws) for _ in expected]
    assert [(f["type"], f["id"], f["author"], f["text"]) for f in frames] == [
        ("message", m.id, "bot", m.body) for m in expected
    ]
    for _ in range(100):
        rows = await _messages(
            container, conversation_id=conversation, direction="outbound", channel="webchat"
        )
        if all(m.delivery_status == "delivered" for m in rows):
            break
        await asyncio.sleep(0.05)
    assert [m.delivery_status for m in rows] == ["delivered"] * len(rows)
    return frames


# ---- pure: tokens, frames, settings -----------------------------------------------------------


def test_tokens_are_bound_to_one_widget() -> None:
    from centralita.channels.base import AccountConfig, SignatureError

    a = AccountConfig("chn_a", "tn_1", "webchat", "webchat", "x", "secret-a")
    visitor = webchat.new_visitor_id()
    token = webchat.issue_token(a, visitor)
    assert webchat.visitor_from_token(token, a) == visitor
    for other in (
        AccountConfig("chn_b", "tn_1", "webchat", "webchat", "x", "secret-a"),  # same secret
        AccountConfig("chn_a", "tn_2", "webchat", "webchat", "x", "secret-a"),  # other tenant
        AccountConfig("chn_a", "tn_1", "webchat", "webchat", "x", "secret-b"),
    ):
        with pytest.raises(SignatureError):
            webchat.visitor_from_token(token, other)
    for bad in ("", "v1", token + "x", token.replace(visitor, webchat.new_visitor_id())):
        with pytest.raises(SignatureError):
            webchat.visitor_from_token(bad, a)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("not json", "frame: not JSON"),
        ("[]", "frame: expected a JSON object"),
        ('{"type": "shout"}', "type: one of message, resume, typing"),
        ('{"type": "message", "id": "a b", "text": "hi"}', "id: 1-64"),
        ('{"type": "message", "id": "c1", "text": "  "}', "text: a non-empty string"),
        ('{"type": "message", "id": "c1", "text": "' + "x" * 4097 + '"}', "text: at most 4096"),
        ('{"type": "resume", "after": 5}', "after: a message id or null"),
    ],
)
def test_malformed_frames_say_what_is_wrong(raw: str, error: str) -> None:
    from centralita.channels.base import MalformedRequest

    with pytest.raises(MalformedRequest, match=error):
        webchat.parse_frame(raw)


def test_tenant_file_settings_are_checked() -> None:
    good = {"allowed_origins": ["https://a.example", "http://localhost:8080"],
            "prechat": ["name", "email"], "prechat_required": ["email"],
            "offline_when_closed": True, "colour": "#123456",
            "welcome": {"es": "Hola"}}  # fmt: skip
    assert problems("webchat", good, False) == []
    bad = {"allowed_origins": ["https://a.example/path"], "prechat": ["age"],
           "prechat_required": ["phone"], "offline": "yes", "colour": "red"}  # fmt: skip
    assert problems("sms", bad, False) == [
        (("kind",), "webchat serves webchat"),
        (("settings", "allowed_origins", "0"), "scheme://host[:port], no path"),
        (("settings", "prechat"), "a list of name, email, phone"),
        (("settings", "prechat_required"), "phone is not in prechat"),
        (("settings", "offline"), "true or false"),
        (("settings", "colour"), "a colour like #0e7c86"),
    ]
    parsed = widget_settings({"allowed_origins": ["HTTPS://A.example/"]})
    assert parsed.origin_allowed("https://a.example") and not parsed.origin_allowed(None)
    assert not parsed.origin_allowed("https://b.example")
    assert widget_settings({}).origin_allowed(None)


# ---- the script and the session ---------------------------------------------------------------


async def test_the_script_is_served_with_its_widget(
    clinic: Clinic, web: httpx.AsyncClient, server: Server
) -> None:
    r = await web.get(f"/widget/{clinic.widget}.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    boot = {"account": clinic.widget, "base": server.url}
    assert r.text.startswith('"use strict";\n{\nconst BOOT = ' + json.dumps(boot) + ";\n")
    assert "new WebSocket(" in r.text and "localStorage" in r.text and "aria-live" in r.text
    assert "import " not in r.text and "https://" not in r.text  # no CDN, nothing to fetch
    assert (await web.get("/widget/chn_nope.js")).status_code == 404
    assert (await web.get(f"/widget/{clinic.simulator}.js")).status_code == 404


async def test_a_session_gives_a_token_and_the_widget_config(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget, language="en-GB")
    assert data["visitor_id"].startswith("wv_")
    assert data["ws_url"] == f"{server.ws}/widget/{clinic.widget}/ws"
    config = data["config"]
    assert config["name"] == "Clínica Dental Sonrisa" and config["language"] == "en"
    assert config["greeting"] == "Hi! How can we help?"
    assert config["online"] is True and config["prechat"] == ["name", "email", "phone"]
    assert config["strings"]["send"] == "Send"
    again = await _session(web, clinic.widget, token=data["token"])
    assert again["visitor_id"] == data["visitor_id"] and again["config"]["language"] == "es"
    # a bare session stores nobody
    assert await _count(container, Contact) == 0
    r = await web.options(f"/widget/{clinic.widget}/session")
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ORIGIN


async def test_message_in_and_the_receptionists_reply_out(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget)
    visitor = data["visitor_id"]
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _send(ws, {"type": "message", "id": "c-1", "text": "Hola, quiero pedir cita"})
        ack = await _recv(ws)
        [stored] = await _messages(container, direction="inbound")
        assert ack == {"type": "ack", "id": "c-1", "message_id": stored.id}
        assert (stored.channel, stored.channel_account_id, stored.provider_message_id) == (
            "webchat",
            clinic.widget,
            f"{visitor}:c-1",
        )
        assert (stored.body, stored.meta) == ("Hola, quiero pedir cita", {"client_id": "c-1"})
        echo = await _recv(ws)
        assert echo == {"type": "message", "id": stored.id, "author": "contact",
                        "text": "Hola, quiero pedir cita", "client_id": "c-1",
                        "at": echo["at"]}  # fmt: skip
        frames = await _replies_pushed(ws, container, stored.conversation_id)
        assert any("cita" in f["text"].lower() or "hueco" in f["text"].lower() for f in frames)
        await _silent(ws)
    async with container.sessions() as session:
        address = await session.scalar(select(ContactAddress).where(ContactAddress.kind == "web"))
    assert address is not None and address.value == visitor
    assert address.contact_id == stored.contact_id


async def test_resume_after_a_reconnect_misses_nothing_and_repeats_nothing(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget)
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _send(ws, {"type": "message", "id": "c-1", "text": "Hola, quiero pedir cita"})
        await _recv(ws)  # ack
        echo = await _recv(ws)
    # the reply is written and "sent" while nobody is connected
    await container.relay.drain()
    [stored] = await _messages(container, direction="inbound")
    replies = await _messages(container, direction="outbound")
    assert replies and {m.delivery_status for m in replies} == {"sent"}
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": echo["id"]})
        got = [await _recv(ws) for _ in replies]
        assert [f["id"] for f in got] == [m.id for m in replies]
        await _silent(ws)
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": got[-1]["id"]})
        await _silent(ws)
        # a widget that lost everything (a reload) gets the whole chat, in order
        await _send(ws, {"type": "resume", "after": None})
        everything = [await _recv(ws) for _ in range(1 + len(replies))]
        assert [f["id"] for f in everything] == [stored.id] + [m.id for m in replies]
    assert {m.delivery_status for m in await _messages(container, direction="outbound")} == {
        "delivered"
    }


async def test_a_resent_frame_is_stored_and_answered_once(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget)
    frame = {"type": "message", "id": "same-id", "text": "Hola, quiero pedir cita"}
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _send(ws, frame)
        first = await _recv(ws)
        await _recv(ws)  # the echo
        await _send(ws, frame)  # the widget never saw the ack, say
        second = await _recv(ws)
        assert first == second == {"type": "ack", "id": "same-id",
                                   "message_id": first["message_id"]}  # fmt: skip
        await _silent(ws)  # no second echo
    # and through the shared hook, with the token in its header, it is the same message
    r = await web.post(f"/hooks/{clinic.widget}", content=json.dumps(frame),
                       headers={webchat.TOKEN_HEADER: data["token"]})  # fmt: skip
    assert r.status_code == 200 and r.json() == {"type": "ack", "id": "same-id",
                                                 "message_id": None}  # fmt: skip
    assert len(await _messages(container, direction="inbound")) == 1
    await container.relay.drain()
    once = len(await _messages(container, direction="outbound"))
    await container.relay.drain()
    assert once and len(await _messages(container, direction="outbound")) == once


# ---- refusals ---------------------------------------------------------------------------------


async def test_a_bad_token_closes_4403_and_stores_nothing(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget)
    forged = data["token"][:-4] + "AAAA"
    for token in ("", "garbage", forged):
        async with _socket(server, clinic.widget, token) as ws:
            await _send(ws, {"type": "message", "id": "c-1", "text": "Hola"})
            code, reason = await _closed(ws)
            assert code == 4403 and "token" in reason
    async with _socket(server, "chn_unknown", data["token"]) as ws:
        assert await _closed(ws) == (4404, "channel account chn_unknown not found")
    r = await web.post(f"/hooks/{clinic.widget}", headers={webchat.TOKEN_HEADER: forged},
                       content=b'{"type": "message", "id": "c-1", "text": "Hola"}')  # fmt: skip
    assert r.status_code == 403
    r = await web.post(f"/widget/{clinic.widget}/session", json={"token": forged})
    assert r.status_code == 403 and r.headers["access-control-allow-origin"] == ORIGIN
    assert await _count(container, Message) == 0 and await _count(container, Contact) == 0


async def test_a_token_of_one_tenants_widget_is_refused_on_anothers(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    other = await _clinic(container, "hartley-law", allowed_origins=[ORIGIN])
    container.clock = lambda: OPEN
    mine = await _session(web, clinic.widget)
    async with _socket(server, other.widget, mine["token"]) as ws:
        await _send(ws, {"type": "message", "id": "c-1", "text": "Hello"})
        code, _ = await _closed(ws)
        assert code == 4403
    r = await web.post(f"/widget/{other.widget}/session", json={"token": mine["token"]})
    assert r.status_code == 403
    form = {"token": mine["token"], "id": "o-1", "text": "Call me", "email": "a@example.com"}
    r = await web.post(f"/widget/{other.widget}/offline", json=form)
    assert r.status_code == 403
    assert await _count(container, Message) == 0 and await _count(container, StaffMessage) == 0


async def test_a_page_of_another_origin_may_not_open_the_widget(
    clinic: Clinic, server: Server, container: Container
) -> None:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Origin": "https://evil.example"}
    ) as evil:
        r = await evil.post(f"/widget/{clinic.widget}/session", json={})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
        assert (await evil.options(f"/widget/{clinic.widget}/session")).status_code == 403
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": ORIGIN}) as web:
        token = (await _session(web, clinic.widget))["token"]
    async with _socket(server, clinic.widget, token, origin="https://evil.example") as ws:
        code, reason = await _closed(ws)
        assert code == 4403 and "origin" in reason
    assert await _count(container, Message) == 0


async def test_oversized_malformed_and_too_many_frames(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    token = (await _session(web, clinic.widget))["token"]
    async with _socket(server, clinic.widget, token) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await ws.send("{not json")
        assert (await _recv(ws))["reason"].startswith("frame: not JSON")
        await _send(ws, {"type": "message", "id": "c-1", "text": "ok"})  # the socket still works
        assert (await _recv(ws))["type"] == "ack"
        await _recv(ws)  # echo
        await _send(ws, {"type": "message", "id": "big", "text": "x" * 30_000})
        assert await _closed(ws) == (1009, "frame too large: at most 20000 bytes")
    async with _socket(server, clinic.widget, token) as ws:
        for i in range(11):
            await _send(ws, {"type": "message", "id": f"r-{i}", "text": f"mensaje {i}"})
        frames: list[dict[str, Any]] = []
        while len([f for f in frames if f["type"] != "message"]) < 11:
            frames.append(await _recv(ws))  # acks and the error, between the pushed echoes
        acks = [f for f in frames if f["type"] == "ack"]
        refused = [f for f in frames if f["type"] == "error"]
        assert [f["id"] for f in acks] == [f"r-{i}" for i in range(10)]
        assert refused == [{"type": "error", "id": "r-10",
                            "reason": "rate limited: at most 10 messages in 10 s; send it "
                                      "again later"}]  # fmt: skip
    async with _socket(server, clinic.widget, token) as ws:
        for _ in range(45):
            await _send(ws, {"type": "typing"})
        assert await _closed(ws) == (4429, "too many frames: at most 40 frames in 10 s")
    stored = await _messages(container, direction="inbound")
    assert sorted(m.meta["client_id"] for m in stored) == ["c-1"] + [f"r-{i}" for i in range(10)]


# ---- offline ----------------------------------------------------------------------------------


async def test_offline_the_form_becomes_a_staff_message_and_a_timeline_message(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    server.container.clock = lambda: CLOSED
    data = await _session(web, clinic.widget)
    assert data["config"]["online"] is False
    form = {"token": data["token"], "id": "off-1", "name": "Lucía Pérez",
            "email": "Lucia@Example.com", "phone": "612 345 678",
            "text": "Me duele una muela, ¿me pueden llamar mañana?"}  # fmt: skip
    r = await web.post(f"/widget/{clinic.widget}/offline", json=form)
    assert r.status_code == 201, r.text
    left = r.json()
    assert left["visitor_id"] == data["visitor_id"]
    [taken] = await _rows(container, StaffMessage)
    assert (taken.id, taken.caller_name, taken.caller_email, taken.summary) == (
        left["staff_message_id"],
        "Lucía Pérez",
        "Lucia@Example.com",
        form["text"],
    )
    [inbound] = await _messages(container, direction="inbound")
    assert (inbound.id, inbound.channel, inbound.body) == (
        left["message_id"],
        "webchat",
        form["text"],
    )
    assert inbound.meta == {"client_id": "off-1", "offline_form": True,
                            "staff_message_id": taken.id}  # fmt: skip
    assert taken.conversation_id == inbound.conversation_id
    async with container.sessions() as session:
        contact = await session.get_one(Contact, inbound.contact_id)
        await session.refresh(contact, attribute_names=["addresses"])
        assert contact.name == "Lucía Pérez"
        assert sorted((a.kind, a.value) for a in contact.addresses) == [
            ("email", "lucia@example.com"), ("phone", "+34612345678"),
            ("web", data["visitor_id"]), ("whatsapp", "34612345678")]  # fmt: skip
    # sent twice (a double click): one message, one staff message
    again = await web.post(f"/widget/{clinic.widget}/offline", json=form)
    assert again.status_code == 201 and again.json() == left
    assert len(await _rows(container, StaffMessage)) == 1
    # no way to answer: refused, nothing stored
    r = await web.post(f"/widget/{clinic.widget}/offline", json={"id": "off-2", "text": "hola"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    assert len(await _messages(container, direction="inbound")) == 1


async def test_the_account_can_force_offline(
    container: Container, server: Server, web: httpx.AsyncClient
) -> None:
    clinic = await _clinic(container, offline=True)
    assert (await _session(web, clinic.widget))["config"]["online"] is False
    forced_open = await _clinic(container, offline_when_closed=False)
    server.container.clock = lambda: CLOSED
    assert (await _session(web, forced_open.widget))["config"]["online"] is True


async def _rows(container: Container, model: Any) -> list[Any]:
    async with container.sessions() as session:
        return list((await session.scalars(select(model))).all())


# ---- identity ---------------------------------------------------------------------------------


async def test_a_known_email_joins_the_contact_but_the_widget_shows_only_this_chat(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    async with container.sessions() as session, session.begin():
        known = await contacts_service.create_contact(
            session, tenant_id=clinic.tenant_id, name="Ana García",
            addresses=[("email", "ana@example.com"), ("whatsapp", WHATSAPP)],
        )  # fmt: skip
    # Ana's earlier, private conversation on WhatsApp
    private = "Mi historial privado: la factura 4411"
    body, headers = simulator_request(
        clinic.simulator_secret, text=private, value=WHATSAPP, kind="whatsapp"
    )
    assert (
        await web.post(f"/hooks/{clinic.simulator}", content=body, headers=headers)
    ).status_code == 200
    await container.relay.drain()
    whatsapp = await _messages(container, contact_id=known.id)
    assert len(whatsapp) >= 2

    # someone on the web says they are ana@example.com
    data = await _session(web, clinic.widget, name="Ana", email="ANA@example.com")
    async with container.sessions() as session:
        owner = await session.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.value == data["visitor_id"])
        )
    assert owner == known.id  # the agents see one contact
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _silent(ws)  # nothing of the WhatsApp history
        await _send(ws, {"type": "message", "id": "w-1", "text": "Hola, quiero pedir cita"})
        await _recv(ws)
        echo = await _recv(ws)
        [web_in] = await _messages(container, channel="webchat", direction="inbound")
        assert echo["id"] == web_in.id and web_in.contact_id == known.id
        frames = await _replies_pushed(ws, container, web_in.conversation_id)
        seen = {echo["id"], *(f["id"] for f in frames)}
        assert not seen & {m.id for m in whatsapp}
        assert all("4411" not in f["text"] for f in frames)

    # a second browser typing the same email joins too, and sees none of the first one's chat
    other = await _session(web, clinic.widget, email="ana@example.com")
    async with _socket(server, clinic.widget, other["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _silent(ws)

    # and through the API it is one timeline: the WhatsApp and the web chat messages
    async with container.sessions() as session, session.begin():
        key = await access_service.create_api_key(session, tenant_id=clinic.tenant_id, name="t")
    bearer = {"Authorization": f"Bearer {key.secret}"}
    async with httpx.AsyncClient(base_url=server.url, headers=bearer) as api:
        conversations = (
            await api.get("/api/v1/conversations", params={"contact_id": known.id})
        ).json()
        channels = set()
        for conv in conversations["items"]:
            r = await api.get(f"/api/v1/conversations/{conv['id']}/messages")
            channels |= {m["channel"] for m in r.json()["items"]}
    assert {"whatsapp", "webchat"} <= channels


async def test_web_chat_then_whatsapp_then_a_call_is_one_timeline(
    clinic: Clinic, web: httpx.AsyncClient, server: Server, container: Container
) -> None:
    data = await _session(web, clinic.widget, name="Marta", phone="+34 612 345 678")
    async with _socket(server, clinic.widget, data["token"]) as ws:
        await _send(ws, {"type": "resume", "after": None})
        await _send(ws, {"type": "message", "id": "m-1", "text": "Hola, quiero pedir cita"})
        assert (await _recv(ws))["type"] == "ack"
    await container.relay.drain()
    for channel, kind, value, text in (
        ("whatsapp", "whatsapp", WHATSAPP, "Sigo por WhatsApp: mejor por la tarde"),
        ("voice", "phone", "+" + WHATSAPP, "Llamo por lo de la cita de la tarde"),
    ):
        body, headers = simulator_request(clinic.simulator_secret, text=text, channel=channel,
                                          kind=kind, value=value)  # fmt: skip
        r = await web.post(f"/hooks/{clinic.simulator}", content=body, headers=headers)
        assert r.status_code == 200, r.text
        await container.relay.drain()
    inbound = await _messages(container, direction="inbound")
    assert [m.channel for m in inbound] == ["webchat", "whatsapp", "voice"]
    assert len({m.contact_id for m in inbound}) == 1
    assert len({m.conversation_id for m in inbound}) == 1
    async with container.sessions() as session, session.begin():
        key = await access_service.create_api_key(session, tenant_id=clinic.tenant_id, name="t")
    bearer = {"Authorization": f"Bearer {key.secret}"}
    async with httpx.AsyncClient(base_url=server.url, headers=bearer) as api:
        r = await api.get(f"/api/v1/conversations/{inbound[0].conversation_id}/messages",
                          params={"limit": 100})  # fmt: skip
    timeline = sorted(
        (m for m in r.json()["items"] if m["direction"] == "inbound"), key=lambda m: m["id"]
    )
    assert [m["channel"] for m in timeline] == ["webchat", "whatsapp", "voice"]
