"""WhatsApp media: the webhook stores the description, the ``message.received`` worker fetches
the file through the Graph API stand-in into the tenant's file store, and agents download it
from a tenant-scoped route. Refusals and failures are recorded on the message, never lost."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.meta.media import matches_sha256
from centralita.channels.models import ChannelAccount
from centralita.conversations.media import MAX_FETCH_ATTEMPTS, fetch_inbound_media
from centralita.conversations.models import Message
from centralita.events.envelope import Envelope
from centralita.events.models import OutboxEvent
from centralita.tenants.config.apply import apply_document
from tests.channels.fake_graph import FakeGraph, fake_graph
from tests.channels.test_whatsapp_cloud import NUMBER_ID, TOKEN, _clinic, _messages, _post
from tests.receptionist.harness import demo_document

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
JPEG = b"\xff\xd8\xff\xe0" + b"radiografia" * 300 + b"\xff\xd9"
PDF = b"%PDF-1.4\n" + b"presupuesto " * 100 + b"\n%%EOF\n"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("TEST_WA_TOKEN", TOKEN)
    with fake_graph(NUMBER_ID, TOKEN) as server:
        yield server


def _webhook(name: str, *, sha256: str = "", media_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    message = data["entry"][0]["changes"][0]["value"]["messages"][0]
    media = message[message["type"]]
    media["sha256"] = sha256
    if media_id:
        media["id"] = media_id
    return data


async def _headers(container: Container, tenant_id: str) -> dict[str, str]:
    async with container.sessions() as session, session.begin():
        issued = await access_service.create_api_key(
            session, tenant_id=tenant_id, name="agent", role="admin"
        )
    return {"Authorization": f"Bearer {issued.secret}"}


async def _tenant_of(container: Container, account_id: str) -> str:
    async with container.sessions() as session:
        account = await session.get(ChannelAccount, account_id)
        assert account is not None
        return account.tenant_id


async def _only(container: Container, wamid: str) -> Message:
    [row] = await _messages(container, provider_message_id=wamid)
    return row


def _received(message: Message) -> Envelope:
    return Envelope("evt_x", "message.received", 1, message.tenant_id, "", {
        "message_id": message.id, "channel": "whatsapp"})  # fmt: skip


async def _events(container: Container, name: str) -> list[dict[str, Any]]:
    async with container.sessions() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.name == name))
        return [dict(r.payload) for r in rows]


async def test_media_is_fetched_into_the_store_and_served_only_to_its_tenant(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    tenant_id = await _tenant_of(container, account_id)
    graph.add_media("1003383421387256", JPEG, "image/jpeg")
    payload = _webhook("image_message.json", sha256=hashlib.sha256(JPEG).hexdigest())
    assert (await _post(client, account_id, payload)).status_code == 200
    await container.relay.drain()

    key = hashlib.sha256(JPEG).hexdigest()
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    message = await _only(container, wamid)
    assert message.body == "Aquí está la radiografía"
    assert message.meta["media"] == [{
        "id": "1003383421387256", "type": "image", "mime_type": "image/jpeg",
        "sha256": key, "filename": None,
        "key": key, "size": len(JPEG), "content_type": "image/jpeg",
    }]  # fmt: skip
    stored = container.blobs.root / tenant_id / key[:2] / key
    assert stored.read_bytes() == JPEG
    assert [p.name for p in (container.blobs.root / tenant_id).rglob("*") if p.is_file()] == [key]
    assert graph.requests == [
        ("GET", "/v21.0/1003383421387256"),
        ("GET", "/download/1003383421387256?ext=1&hash=x"),
    ]
    [event] = await _events(container, "message.media_stored")
    assert event["key"] == key and event["message_id"] == message.id and event["size"] == len(JPEG)

    # a redelivered event (or webhook) finds the file stored: no second download
    await fetch_inbound_media(container, _received(message))
    assert (await _post(client, account_id, payload)).status_code == 200
    await container.relay.drain()
    assert len(graph.requests) == 2 and len(await _events(container, "message.media_stored")) == 1

    headers = await _headers(container, tenant_id)
    r = await client.get(f"/api/v1/messages/{message.id}/files/{key}", headers=headers)
    assert r.status_code == 200 and r.content == JPEG
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    other_key = "0" * 64
    r = await client.get(f"/api/v1/messages/{message.id}/files/{other_key}", headers=headers)
    assert r.status_code == 404

    # another tenant, even knowing the ids, gets nothing
    doc = demo_document("hartley-law")
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        other = await session.scalar(
            select(ChannelAccount.tenant_id).where(ChannelAccount.tenant_id != tenant_id)
        )
    assert other is not None
    intruder = await _headers(container, other)
    r = await client.get(f"/api/v1/messages/{message.id}/files/{key}", headers=intruder)
    assert r.status_code == 404 and JPEG not in r.content


async def test_documents_keep_their_name_and_base64_hashes_are_checked(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    b64 = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    graph.add_media("1003383421387257", PDF, "application/pdf", sha256=b64)
    assert (await _post(client, account_id, _webhook("document_message.json"))).status_code == 200
    await container.relay.drain()
    [message] = [m for m in await _messages(container, direction="inbound") if m.kind == "media"]
    [entry] = message.meta["media"]
    assert entry["filename"] == "presupuesto.pdf" and entry["content_type"] == "application/pdf"
    headers = await _headers(container, message.tenant_id)
    r = await client.get(f"/api/v1/messages/{message.id}/files/{entry['key']}", headers=headers)
    assert r.content == PDF
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''presupuesto.pdf"
    assert matches_sha256(PDF, hashlib.sha256(PDF).hexdigest().upper())
    assert not matches_sha256(PDF, "not-a-hash")


@pytest.mark.parametrize(
    ("mime", "data", "declared", "reason", "downloads"),
    [
        ("application/x-msdownload", b"MZ" * 10, None, "unsupported media type", 0),
        ("image/jpeg", JPEG, 10_000_000, "10000000 bytes; at most 2048", 0),
        ("image/jpeg", JPEG, 100, "larger than 2048 bytes", 1),  # Meta's size was wrong
    ],
)
async def test_unsupported_or_oversized_media_is_refused_and_the_message_kept(
    container: Container,
    client: httpx.AsyncClient,
    graph: FakeGraph,
    mime: str,
    data: bytes,
    declared: int | None,
    reason: str,
    downloads: int,
) -> None:
    container.blobs.max_bytes = 2048
    account_id = await _clinic(container, graph)
    graph.add_media("1003383421387256", data, mime, file_size=declared)
    payload = _webhook("image_message.json")
    assert (await _post(client, account_id, payload)).status_code == 200
    await container.relay.drain()
    [message] = [m for m in await _messages(container, direction="inbound") if m.meta.get("media")]
    [entry] = message.meta["media"]
    assert reason in entry["error"] and "key" not in entry
    assert message.body == "Aquí está la radiografía"  # the words are kept
    assert sum(1 for _, path in graph.requests if path.startswith("/download/")) == downloads
    assert [p for p in container.blobs.root.rglob("*") if p.is_file()] == []  # nothing half-stored
    [event] = await _events(container, "message.media_failed")
    assert event["media_id"] == "1003383421387256" and reason in event["error"]


async def test_transient_graph_errors_are_retried_then_given_up(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    graph.add_media("1003383421387256", JPEG, "image/jpeg")
    graph.media_failures.append((500, 2, "Service temporarily unavailable"))
    assert (await _post(client, account_id, _webhook("image_message.json"))).status_code == 200
    await container.relay.drain()
    [message] = [m for m in await _messages(container, direction="inbound") if m.meta.get("media")]
    [entry] = message.meta["media"]
    assert entry["fetch_attempts"] == 1 and "HTTP 500" in entry["last_fetch_error"]
    assert "key" not in entry and "error" not in entry
    async with container.sessions() as session:
        row = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.name == "message.received")
        )
        assert row is not None and row.attempts == 1 and row.published_at is None

    # the outbox's retry succeeds
    await fetch_inbound_media(container, _received(message))
    [entry] = (await _only(container, message.provider_message_id or "")).meta["media"]
    assert entry["key"] == hashlib.sha256(JPEG).hexdigest() and "fetch_attempts" not in entry

    # a corrupt download (hash mismatch) is retried, then recorded as a final failure
    graph.add_media("1003383421387999", JPEG, "image/jpeg", sha256="ab" * 32)
    payload = _webhook("image_message.json", media_id="1003383421387999")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.CORRUPT"
    assert (await _post(client, account_id, payload)).status_code == 200
    corrupt = await _only(container, "wamid.CORRUPT")
    for attempt in range(1, MAX_FETCH_ATTEMPTS + 1):
        try:
            await fetch_inbound_media(container, _received(corrupt))
        except Exception as exc:
            assert attempt < MAX_FETCH_ATTEMPTS and "sha256" in str(exc)
        else:
            assert attempt == MAX_FETCH_ATTEMPTS
    [entry] = (await _only(container, "wamid.CORRUPT")).meta["media"]
    assert entry["error"].startswith(f"gave up after {MAX_FETCH_ATTEMPTS} attempts")
    assert "key" not in entry


async def test_an_expired_media_id_is_a_final_failure(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    assert (await _post(client, account_id, _webhook("image_message.json"))).status_code == 200
    await container.relay.drain()  # the stand-in does not know the id: Meta's 400, code 100
    [message] = [m for m in await _messages(container, direction="inbound") if m.meta.get("media")]
    [entry] = message.meta["media"]
    assert entry["error"].startswith("the media is not available: WhatsApp error 100")
    await fetch_inbound_media(container, _received(message))
    assert len(graph.requests) == 1  # given up on: not asked again
