"""Acknowledging: the emailed link (GET shows, POST acknowledges) and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from centralita.bootstrap import Container
from centralita.core.clock import utcnow
from centralita.core.errors import NotFound
from centralita.staff_messages import service as staff_messages_service
from tests.staff_messages.conftest import event_names, make_clinic, reload, take

SECRET = "test-secret-key-0123456789abcdef"  # tests.conftest.make_settings


def _link(message_id: str, staff_key: str | None = "garcia") -> str:
    url = staff_messages_service.ack_url(
        "http://testserver", SECRET, message_id, staff_key=staff_key, issued_at=utcnow()
    )
    return url.removeprefix("http://testserver")


def _token(path: str) -> str:
    return path.split("?t=", 1)[1]


async def test_get_shows_the_message_and_does_not_acknowledge(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    page = await client.get(_link(message.id))
    assert page.status_code == 200
    html = page.text
    for piece in ("Ana Ruiz", "+34600111222", "Le sigue doliendo la muela", "Dra. Lucía García"):
        assert piece in html
    assert "Confirmar que lo he visto" in html and 'lang="es"' in html
    assert re.search(rf'<form method="post" action="/ack/{message.id}"', html)
    assert "<script" not in html
    assert page.headers["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    stored = await reload(container, message.id)
    assert stored.acknowledged_at is None and stored.status == "pending"
    assert await event_names(container, clinic.tenant_id) == ["staff_message.created"]


async def test_post_with_the_token_acknowledges_once(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    link = _link(message.id)
    done = await client.post(f"/ack/{message.id}", data={"t": _token(link)})
    assert done.status_code == 200
    assert "Mensaje confirmado" in done.text
    stored = await reload(container, message.id)
    assert stored.status == "acknowledged" and stored.acknowledged_by == "link:garcia"
    first_at = stored.acknowledged_at
    assert first_at is not None

    again = await client.post(f"/ack/{message.id}", data={"t": _token(link)})
    assert again.status_code == 200
    assert (await reload(container, message.id)).acknowledged_at == first_at
    names = await event_names(container, clinic.tenant_id)
    assert names.count("staff_message.acknowledged") == 1

    page = await client.get(link)
    assert "Confirmado el" in page.text and '<form method="post" action="/ack/' not in page.text


async def test_english_page_for_an_english_message(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id, language="en")
    page = await client.get(_link(message.id))
    assert 'lang="en"' in page.text and "Acknowledge: I have seen it" in page.text


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_bad_tokens_are_not_found(
    container: Container, client: httpx.AsyncClient, method: str
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    other = await take(container, clinic.tenant_id)
    good = _token(_link(message.id))
    issued = utcnow() - timedelta(days=31)
    expired = staff_messages_service.ack_token(SECRET, message.id, issued_at=issued)
    forged = staff_messages_service.ack_token(
        "another-secret-key-0123456789", message.id, issued_at=utcnow()
    )
    for path, token in (
        (f"/ack/{message.id}", "nonsense"),
        (f"/ack/{message.id}", ""),
        (f"/ack/{message.id}", forged),
        (f"/ack/{message.id}", expired),  # 31 days after the message was taken
        (f"/ack/{other.id}", good),  # a token is for one message only
        ("/ack/smsg_unknown", good),
    ):
        if method == "GET":
            r = await client.get(path, params={"t": token})
        else:
            r = await client.post(path, data={"t": token})
        assert r.status_code == 404, (path, token)
        assert "Enlace no válido" in r.text or "Invalid link" in r.text
    assert staff_messages_service.verify_ack_token(SECRET, message.id, expired) is None
    assert (
        staff_messages_service.verify_ack_token(
            SECRET, message.id, expired, now=issued + timedelta(days=29)
        )
        == ""
    )
    assert (await reload(container, message.id)).acknowledged_at is None


async def test_api_lists_filters_and_acknowledges(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await make_clinic(container)
    first = await take(container, clinic.tenant_id, recipient_key="garcia")
    second = await take(container, clinic.tenant_id, recipient_key="sanz", urgency="normal")

    listed = await client.get("/api/v1/staff-messages", headers=clinic.headers)
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [second.id, first.id]
    page = await client.get("/api/v1/staff-messages", headers=clinic.headers, params={"limit": 1})
    assert [m["id"] for m in page.json()["items"]] == [second.id]
    cursor = page.json()["next_cursor"]
    rest = await client.get(
        "/api/v1/staff-messages", headers=clinic.headers, params={"limit": 1, "cursor": cursor}
    )
    assert [m["id"] for m in rest.json()["items"]] == [first.id]
    assert rest.json()["next_cursor"] is None
    mine = await client.get(
        "/api/v1/staff-messages", headers=clinic.headers, params={"recipient_key": "sanz"}
    )
    assert [m["id"] for m in mine.json()["items"]] == [second.id]

    r = await client.post(f"/api/v1/staff-messages/{first.id}/acknowledge", headers=clinic.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"].startswith("api_key:")
    again = await client.post(
        f"/api/v1/staff-messages/{first.id}/acknowledge", headers=clinic.headers
    )
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]

    acked = await client.get(
        "/api/v1/staff-messages", headers=clinic.headers, params={"status": "acknowledged"}
    )
    assert [m["id"] for m in acked.json()["items"]] == [first.id]
    bad = await client.get(
        "/api/v1/staff-messages", headers=clinic.headers, params={"status": "lost"}
    )
    assert bad.status_code == 422
    assert (await client.get("/api/v1/staff-messages")).status_code == 401


async def test_other_tenants_cannot_see_or_acknowledge(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await make_clinic(container)
    rival = await make_clinic(container, "rival")
    message = await take(container, clinic.tenant_id)
    for method, path in (
        ("GET", f"/api/v1/staff-messages/{message.id}"),
        ("POST", f"/api/v1/staff-messages/{message.id}/acknowledge"),
    ):
        r = await client.request(method, path, headers=rival.headers)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"] == "application/problem+json"
    listed = await client.get("/api/v1/staff-messages", headers=rival.headers)
    assert listed.json()["items"] == []
    assert (await reload(container, message.id)).acknowledged_at is None
    async with container.sessions() as session, session.begin():
        with pytest.raises(NotFound):
            await staff_messages_service.acknowledge(
                session,
                tenant_id=rival.tenant_id,
                message_id=message.id,
                actor="user:x",
                now=utcnow(),
            )
