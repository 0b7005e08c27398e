"""Every route a provider or a visitor can reach without logging in refuses a request it
cannot authenticate, and stores nothing.

The route list comes from the app itself: a new hook or widget route without a case here fails
this test, so "bad signatures are rejected on every endpoint" stays true as routes are added.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy import func, select

from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature as twilio_signature
from centralita.contacts.models import Contact
from centralita.conversations.models import Interaction, Message
from centralita.events.models import OutboxEvent
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.config.apply import apply_document
from tests.channels import test_webchat
from tests.channels.contract import NOW, PUBLIC, TwilioVoiceDriver, WebChatDriver, drivers
from tests.receptionist.harness import demo_document

WRONG = "not-the-secret-of-this-account-00"
ORIGIN = "https://contrato.example"  # the contract web chat account's allowed origin

Ids = dict[str, str]
Case = Callable[[httpx.AsyncClient, Ids], Awaitable[list[httpx.Response]]]


def _twilio_form(path: str, fields: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    """``fields`` form-encoded to ``path``, signed with the wrong auth token."""
    from urllib.parse import urlencode

    signed = twilio_signature.compute(WRONG, PUBLIC + path, {k: [v] for k, v in fields.items()})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signed,
    }
    return path, urlencode(fields).encode(), headers


CALL = {
    "CallSid": "CA" + "0" * 32,
    "AccountSid": TwilioVoiceDriver.sid,
    "From": "+34611000002",
    "To": TwilioVoiceDriver.number,
    "CallStatus": "in-progress",
}


async def _every_provider_hook(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    """One forged inbound message per provider, in its own wire format."""
    out = []
    for driver in drivers():
        account_id = ids[driver.name]
        driver.bind(account_id, ids["tenant"])
        forged = driver.inbound(account_id, "forged-1", "Hola", secret=WRONG)
        bare = driver.unsigned(driver.inbound(account_id, "forged-2", "Hola"))
        for wire in (forged, bare):
            out.append(
                await client.post(
                    f"/hooks/{account_id}{wire.suffix}", content=wire.body, headers=wire.headers
                )
            )
    return out


async def _handshake(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    params = {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"}
    return [await client.get(f"/hooks/{ids['meta-whatsapp']}", params=params)]


async def _twilio_sub_hook(
    client: httpx.AsyncClient, ids: Ids, suffix: str, extra: dict[str, str]
) -> list[httpx.Response]:
    path, body, headers = _twilio_form(f"/hooks/{ids['twilio-voice']}{suffix}", {**CALL, **extra})
    return [await client.post(path, content=body, headers=headers)]


async def _whisper(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    return await _twilio_sub_hook(client, ids, "/whisper/hnd_0000000000000000", {})


async def _queue_wait(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    extra = {"QueueSid": "QU" + "0" * 32, "QueuePosition": "1", "QueueTime": "5"}
    return await _twilio_sub_hook(client, ids, "/queue-wait", extra)


async def _transcription(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    extra = {
        "RecordingSid": "RE" + "0" * 32,
        "TranscriptionStatus": "completed",
        "TranscriptionText": "Llámenme, por favor",
    }
    return await _twilio_sub_hook(client, ids, "/transcription", extra)


async def _connect(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    query = "?conversation=cnv_0000000000000000&agent=stf_0000000000000000"
    return await _twilio_sub_hook(client, ids, "/connect" + query, {"CallStatus": "in-progress"})


def _forged_token(ids: Ids) -> str:
    driver = WebChatDriver()
    driver.bind(ids["webchat"], ids["tenant"])
    wire = driver.inbound(ids["webchat"], "x", "x", secret=WRONG)
    return wire.headers["x-webchat-token"]


async def _session(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    body = {"token": _forged_token(ids), "name": "Ana", "phone": "+34611000009"}
    path = f"/widget/{ids['webchat']}/session"
    return [await client.post(path, json=body, headers={"Origin": ORIGIN})]


async def _offline(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
    body = {
        "token": _forged_token(ids),
        "id": "off-1",
        "name": "Ana",
        "email": "ana@example.com",
        "text": "Llámenme",
    }
    path = f"/widget/{ids['webchat']}/offline"
    return [await client.post(path, json=body, headers={"Origin": ORIGIN})]


def _preflight(endpoint: str) -> Case:
    """A browser's CORS preflight from a page the widget is not allowed on."""

    async def case(client: httpx.AsyncClient, ids: Ids) -> list[httpx.Response]:
        headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        return [await client.options(f"/widget/{ids['webchat']}/{endpoint}", headers=headers)]

    return case


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/hooks/{account_id}"): _every_provider_hook,
    ("GET", "/hooks/{account_id}"): _handshake,
    ("POST", "/hooks/{account_id}/whisper/{handoff_id}"): _whisper,
    ("POST", "/hooks/{account_id}/queue-wait"): _queue_wait,
    ("POST", "/hooks/{account_id}/transcription"): _transcription,
    ("POST", "/hooks/{account_id}/connect"): _connect,
    ("POST", "/widget/{account_id}/session"): _session,
    ("POST", "/widget/{account_id}/offline"): _offline,
    ("OPTIONS", "/widget/{account_id}/session"): _preflight("session"),
    ("OPTIONS", "/widget/{account_id}/offline"): _preflight("offline"),
}
# Routes that need no secret by design, or are checked against a live server elsewhere.
PUBLIC_BY_DESIGN = {
    # the widget's script: the same for every visitor, carries no secret (checked below)
    ("GET", "/widget/{account_id}.js"),
}
LIVE_SERVER = {
    # a WebSocket needs a real server: a forged, empty or other widget's token closes 4403
    ("WS", "/widget/{account_id}/ws"): test_webchat.test_a_bad_token_closes_4403_and_stores_nothing,
}


def _flat(routes: list[Any]) -> list[Any]:
    """The app's routes, through FastAPI's included routers (included here without prefixes)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_flat(list(inner.routes)) if inner is not None else [route])
    return out


def _unauthenticated_routes(container: Container) -> set[tuple[str, str]]:
    app = create_app(container)
    found: set[tuple[str, str]] = set()
    for route in _flat(list(app.routes)):
        path = getattr(route, "path", "")
        if not path.startswith(("/hooks", "/widget")):
            continue
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", path))
        elif isinstance(route, APIRoute):
            found |= {(m, path) for m in route.methods if m != "HEAD"}
    return found


async def _counts(container: Container) -> dict[str, int]:
    counts = {}
    async with container.sessions() as session:
        for model in (Message, Contact, Interaction, StaffMessage, OutboxEvent):
            stmt = select(func.count()).select_from(model)
            counts[model.__tablename__] = int(await session.scalar(stmt) or 0)
    return counts


async def _accounts(container: Container) -> Ids:
    doc = demo_document("clinica-dental-sonrisa")
    names = {}
    for driver in drivers():
        name = "c-" + driver.name
        names[name] = driver.name
        doc.channels.append(driver.account("smtp://127.0.0.1:1").model_copy(update={"name": name}))
    async with container.sessions() as session, session.begin():
        tenant = await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        rows = (
            await session.scalars(
                select(ChannelAccount).where(ChannelAccount.tenant_id == tenant.tenant_id)
            )
        ).all()
    ids = {names[a.name]: a.id for a in rows if a.name in names}
    ids["tenant"] = tenant.tenant_id
    return ids


def test_every_unauthenticated_route_has_a_case(container: Container) -> None:
    routes = _unauthenticated_routes(container)
    covered = set(CASES) | PUBLIC_BY_DESIGN | set(LIVE_SERVER)
    assert routes == covered, {"without a case": routes - covered, "gone": covered - routes}


async def test_an_unauthenticated_request_is_refused_on_every_route(
    container: Container, client: httpx.AsyncClient
) -> None:
    ids = await _accounts(container)
    container.clock = lambda: NOW
    before = await _counts(container)
    for (method, path), case in CASES.items():
        for response in await case(client, ids):
            assert response.status_code == 403, (method, path, response.text)
            detail = response.json().get("detail", "") if response.content else ""
            assert WRONG not in json.dumps(detail)
    assert await _counts(container) == before


async def test_the_widget_script_carries_no_secret(
    container: Container, client: httpx.AsyncClient
) -> None:
    ids = await _accounts(container)
    r = await client.get(f"/widget/{ids['webchat']}.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    async with container.sessions() as session:
        account = await session.get(ChannelAccount, ids["webchat"])
    assert account is not None and account.secret
    assert account.secret not in r.text
