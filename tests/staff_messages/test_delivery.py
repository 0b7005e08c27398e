"""Delivery through the relay to a real SMTP server (aiosmtpd) and a real HTTP webhook."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.core.clock import utcnow
from centralita.events.envelope import Envelope
from centralita.staff_messages.delivery import (
    MAX_ATTEMPTS,
    deliver_staff_message,
    retry_failed,
)
from centralita.staff_messages.mailcatcher import Mailbox, start_mail_catcher
from tests.conftest import Database, make_settings
from tests.staff_messages.conftest import (
    Catcher,
    Hook,
    deliveries,
    event_names,
    free_port,
    make_clinic,
    reload,
    take,
)

ACK_LINK = re.compile(r"http://testserver/ack/(smsg_[0-9a-z]+)\?t=(\S+)")


async def test_email_webhook_and_in_app_go_out_once(
    container: Container, catcher: Catcher, webhook: Hook
) -> None:
    clinic = await make_clinic(container, webhook_url=webhook.url)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()

    mails = catcher.mailbox.recent()
    assert len(mails) == 1
    mail = mails[0]
    assert mail.to == "lucia.garcia@clinica.example"
    assert mail.subject == "[Urgente] Mensaje de Ana Ruiz para Dra. Lucía García"
    assert "avisos@clinica.example" in mail.sender and "Clínica Sonrisa" in mail.sender
    assert mail.headers["X-Centralita-Staff-Message"] == message.id
    for piece in ("Ana Ruiz", "+34600111222", "ana@example.com", "Le sigue doliendo la muela"):
        assert piece in mail.text
    assert "Urgencia: alta" in mail.text
    link = ACK_LINK.search(mail.text)
    assert link and link.group(1) == message.id

    assert len(webhook.received) == 1
    posted = webhook.received[0]
    assert posted["path"] == "/services/T000/B000/XXXX"
    assert posted["type"] == "application/json"
    assert set(posted["json"]) == {"text"}
    assert posted["json"]["text"].startswith("[Urgente] Mensaje de Ana Ruiz para Dra. Lucía García")
    assert "+34600111222" in posted["json"]["text"] and link.group(0) in posted["json"]["text"]

    rows = await deliveries(container, message.id)
    assert {(d.channel, d.status, d.attempts, d.last_error) for d in rows} == {
        ("email", "sent", 1, None),
        ("webhook", "sent", 1, None),
        ("in_app", "sent", 1, None),
    }
    assert all(d.sent_at is not None for d in rows)
    assert (await reload(container, message.id)).status == "delivered"
    names = await event_names(container, clinic.tenant_id)
    assert names == ["staff_message.created"] + ["staff_message.delivered"] * 3

    # At least once: the same event again sends nothing more.
    envelope = Envelope(
        event_id="evt_again",
        name="staff_message.created",
        version=1,
        tenant_id=clinic.tenant_id,
        occurred_at=utcnow().isoformat(),
        payload={"message_id": message.id},
    )
    await deliver_staff_message(container, envelope)
    assert len(catcher.mailbox.recent()) == 1 and len(webhook.received) == 1


async def test_the_emailed_link_opens_the_acknowledge_page(
    container: Container, catcher: Catcher
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()
    link = ACK_LINK.search(catcher.mailbox.recent()[0].text)
    assert link
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get(link.group(0))
    assert page.status_code == 200 and "Ana Ruiz" in page.text
    assert (await reload(container, message.id)).acknowledged_at is None


async def test_webhook_refusal_is_recorded_and_retried(
    container: Container, catcher: Catcher, webhook: Hook
) -> None:
    clinic = await make_clinic(container, webhook_url=webhook.url, email=False)
    webhook.status = 403
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()
    hook_row = next(d for d in await deliveries(container, message.id) if d.channel == "webhook")
    assert (hook_row.status, hook_row.attempts) == ("failed", 1)
    assert hook_row.last_error == "DeliveryError: HTTP 403: invalid_token"
    assert hook_row.next_attempt_at is not None

    webhook.status = 200
    assert await retry_failed(container, utcnow()) == 0  # the backoff is not over
    assert await retry_failed(container, utcnow() + timedelta(minutes=1)) == 1
    hook_row = next(d for d in await deliveries(container, message.id) if d.channel == "webhook")
    assert (hook_row.status, hook_row.attempts, hook_row.last_error) == ("sent", 2, None)
    assert len(webhook.received) == 2


async def test_a_webhook_to_a_private_address_is_refused_unless_the_operator_allows_it(
    database: Database, tmp_path: Path, webhook: Hook
) -> None:
    """The tenant types the URL: without the operator's allowance, loopback is refused before
    any connection, and the refusal is recorded like any failed delivery."""
    settings = make_settings(database, tmp_path, webhook_allow_http=True)
    container = build_container(settings, run_workers=False)
    await container.start()
    try:
        clinic = await make_clinic(container, webhook_url=webhook.url, email=False)
        message = await take(container, clinic.tenant_id)
        await container.relay.drain()
        row = next(d for d in await deliveries(container, message.id) if d.channel == "webhook")
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error and row.last_error.startswith("UnsafeUrl: ")
        assert "loopback" in row.last_error
        assert webhook.received == []
    finally:
        await container.stop()


@pytest.fixture
async def no_smtp_yet(database: Database, tmp_path: Path) -> AsyncIterator[tuple[Container, int]]:
    """A container whose SMTP server is down: nothing listens on its port (yet)."""
    port = free_port()
    settings = make_settings(database, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    container = build_container(settings, run_workers=False)
    await container.start()
    yield container, port
    await container.stop()


async def test_smtp_down_fails_then_a_retry_delivers(
    no_smtp_yet: tuple[Container, int], tmp_path: Path
) -> None:
    container, port = no_smtp_yet
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()  # the event is handled: a failed channel does not raise

    email = next(d for d in await deliveries(container, message.id) if d.channel == "email")
    assert (email.status, email.attempts) == ("failed", 1)
    assert email.last_error and "connect" in email.last_error.lower()
    in_app = next(d for d in await deliveries(container, message.id) if d.channel == "in_app")
    assert in_app.status == "sent"  # one channel failing does not hold up the others
    assert (await reload(container, message.id)).status == "delivered"

    controller, _ = await start_mail_catcher(tmp_path / "late-mail", port=port)
    try:
        later = utcnow() + timedelta(minutes=1)
        assert await retry_failed(container, later) == 1
        assert await retry_failed(container, later) == 0  # sent channels are never resent
    finally:
        await asyncio.to_thread(controller.stop)
    mails = Mailbox(tmp_path / "late-mail").recent()
    assert [m.to for m in mails] == ["lucia.garcia@clinica.example"]
    email = next(d for d in await deliveries(container, message.id) if d.channel == "email")
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, None)


async def test_attempts_stop_at_the_limit(no_smtp_yet: tuple[Container, int]) -> None:
    container, _ = no_smtp_yet
    clinic = await make_clinic(container, email=True)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()
    later = utcnow()
    for _ in range(MAX_ATTEMPTS + 2):
        later += timedelta(hours=2)
        await retry_failed(container, later)
    email = next(d for d in await deliveries(container, message.id) if d.channel == "email")
    assert (email.status, email.attempts, email.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)


async def test_no_smtp_host_fails_with_a_clear_error(database: Database, tmp_path: Path) -> None:
    container = build_container(make_settings(database, tmp_path), run_workers=False)
    await container.start()
    try:
        clinic = await make_clinic(container)
        message = await take(container, clinic.tenant_id)
        await container.relay.drain()
        email = next(d for d in await deliveries(container, message.id) if d.channel == "email")
    finally:
        await container.stop()
    assert email.status == "failed"
    assert email.last_error == "DeliveryError: email is not configured: set CENTRALITA_SMTP_HOST"


async def test_api_shows_deliveries_without_the_webhook_secret(
    container: Container, client: httpx.AsyncClient, webhook: Hook
) -> None:
    clinic = await make_clinic(container, webhook_url=webhook.url)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()
    r = await client.get(f"/api/v1/staff-messages/{message.id}", headers=clinic.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    targets = {d["channel"]: d["target"] for d in body["deliveries"]}
    assert targets == {
        "email": "lucia.garcia@clinica.example",
        "webhook": "http://127.0.0.1/…",
        "in_app": "garcia",
    }
    assert "XXXX" not in r.text
    assert {d["status"] for d in body["deliveries"]} == {"sent"}
