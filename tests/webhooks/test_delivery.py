"""Deliveries end to end: real events, the relay, the sender, and real local HTTP receivers.

Time is driven through the sender's ``now``: retries and the three-day deadline need no sleep.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.core.clock import utcnow
from centralita.events.models import OutboxEvent
from centralita.events.relay import to_envelope
from centralita.webhooks import service as webhooks_service
from centralita.webhooks.handlers import enqueue_deliveries
from centralita.webhooks.models import WebhookAttempt, WebhookDelivery
from centralita.webhooks.resolve import policy_from
from centralita.webhooks.sender import WebhookSender, run_webhook_sender
from tests.conftest import Database, make_settings
from tests.factories import make_tenant
from tests.simulator_client import simulator_request
from tests.webhooks.conftest import TIMEOUT, create_contact, subscribe
from tests.webhooks.receiver import Receiver
from tests.webhooks.servers import HangingServer, ScriptedServer


async def _deliveries(container: Container) -> list[WebhookDelivery]:
    async with container.sessions() as session:
        rows = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return list(rows.all())


async def _one(container: Container) -> WebhookDelivery:
    rows = await _deliveries(container)
    assert len(rows) == 1, rows
    return rows[0]


async def _attempts(container: Container, delivery_id: str) -> list[WebhookAttempt]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.started_at, WebhookAttempt.id)
        )
        return list(rows.all())


async def test_a_real_event_arrives_signed_and_verifies_with_the_doc_receiver(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender, receiver: Receiver
) -> None:
    kit = await make_tenant(container)
    hook = await subscribe(client, kit.headers, receiver.url, ["contact.created"])
    receiver.secrets = [hook["secret"]]
    contact_id = await create_contact(client, kit.headers, "Ana Ruiz")
    await container.relay.drain()

    assert await sender.run_once() == 1
    assert receiver.rejected == []
    (event,) = receiver.events
    assert event["type"] == "contact.created" and event["version"] == 1
    assert event["tenant_id"] == kit.tenant_id
    assert event["data"] == {"contact_id": contact_id, "source": "api"}
    datetime.fromisoformat(event["created_at"])
    headers = receiver.headers[0]
    assert headers["centralita-event-id"] == event["id"]
    assert headers["centralita-event-type"] == "contact.created"
    assert headers["centralita-delivery-attempt"] == "1"
    assert headers["content-type"] == "application/json"

    log = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=kit.headers)
    (delivery,) = log.json()["items"]
    assert delivery["status"] == "succeeded" and delivery["event_id"] == event["id"]
    detail = await client.get(f"/api/v1/webhook-deliveries/{delivery['id']}", headers=kit.headers)
    assert detail.json()["payload"] == event
    assert [a["status_code"] for a in detail.json()["attempt_log"]] == [204]


async def test_only_subscribed_events_of_enabled_webhooks_are_queued(
    container: Container, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    kit = await make_tenant(container)
    other = await make_tenant(container)
    await subscribe(client, kit.headers, receiver.url, ["contact.deleted"])
    off = await subscribe(client, kit.headers, receiver.url, ["*"])
    await client.patch(
        f"/api/v1/webhooks/{off['id']}", headers=kit.headers, json={"enabled": False}
    )
    await subscribe(client, other.headers, receiver.url, ["*"])
    await create_contact(client, kit.headers, "Ana")
    await container.relay.drain()
    assert await _deliveries(container) == []  # other tenant's webhook sees nothing either


async def test_a_redelivered_event_makes_no_second_delivery(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender, receiver: Receiver
) -> None:
    kit = await make_tenant(container)
    hook = await subscribe(client, kit.headers, receiver.url)
    receiver.secrets = [hook["secret"]]
    await create_contact(client, kit.headers, "Ana")
    await container.relay.drain()
    async with container.sessions() as session:
        row = await session.scalar(select(OutboxEvent).where(OutboxEvent.name == "contact.created"))
        assert row is not None
    for _ in range(2):  # the bus delivers at least once
        await enqueue_deliveries(container, to_envelope(row))
    assert len(await _deliveries(container)) == 1
    assert await sender.run_once() == 1
    assert await sender.run_once() == 0


async def test_secret_rotation_signs_with_both_secrets_until_the_grace_ends(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender, receiver: Receiver
) -> None:
    kit = await make_tenant(container)
    hook = await subscribe(client, kit.headers, receiver.url)
    old = hook["secret"]
    receiver.secrets = [old]  # a receiver that has not been updated yet
    rotated = await client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret",
        headers=kit.headers,
        json={"grace_hours": 1},
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["previous_secret_expires_at"]

    await create_contact(client, kit.headers, "Old secret")
    await container.relay.drain()
    assert await sender.run_once() == 1
    assert receiver.headers[-1]["centralita-signature"].count("v1=") == 2

    receiver.secrets = [new]  # the receiver updated: the new secret alone verifies too
    await create_contact(client, kit.headers, "New secret")
    await container.relay.drain()
    assert await sender.run_once() == 1
    assert len(receiver.events) == 2 and receiver.rejected == []

    # After the grace period only the new secret signs: the old one no longer verifies.
    receiver.secrets = [old]
    await create_contact(client, kit.headers, "After grace")
    await container.relay.drain()
    assert await sender.run_once(utcnow() + timedelta(hours=2)) == 0
    assert receiver.rejected == ["no signature matches"]  # one v1 only, with the new secret
    failed = [d for d in await _deliveries(container) if d.status == "failed"]
    assert len(failed) == 1 and failed[0].last_status_code == 401


async def test_retries_back_off_exponentially_then_succeed(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender
) -> None:
    server = ScriptedServer([500, 500, 200])
    try:
        kit = await make_tenant(container)
        await subscribe(client, kit.headers, server.url)
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()
        t0 = utcnow()

        assert await sender.run_once(t0) == 0
        first = await _one(container)
        assert first.status == "failed" and first.last_status_code == 500
        assert first.next_attempt_at == t0 + timedelta(seconds=30)  # jitter fixed at the middle
        assert await sender.run_once(t0 + timedelta(seconds=29)) == 0
        assert len(server.requests) == 1  # not due yet

        assert await sender.run_once(t0 + timedelta(seconds=30)) == 0
        second = await _one(container)
        assert second.next_attempt_at == t0 + timedelta(seconds=90)  # then a minute
        assert await sender.run_once(t0 + timedelta(seconds=90)) == 1
        done = await _one(container)
        assert (done.status, done.attempts, done.next_attempt_at) == ("succeeded", 3, None)
        attempts = await _attempts(container, done.id)
        assert [a.status_code for a in attempts] == [500, 500, 200]
        assert [h["centralita-delivery-attempt"] for h, _ in server.requests] == ["1", "2", "3"]
        # every copy is the same event, byte for byte
        assert len({body for _, body in server.requests}) == 1
    finally:
        server.stop()


async def test_a_target_that_never_answers_times_out_and_is_retried(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender
) -> None:
    hanging = HangingServer()
    try:
        kit = await make_tenant(container)
        await subscribe(client, kit.headers, hanging.url)
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()
        start = time.monotonic()
        assert await sender.run_once() == 0
        assert time.monotonic() - start < TIMEOUT + 2
        delivery = await _one(container)
        assert delivery.status == "failed" and delivery.next_attempt_at is not None
        assert delivery.last_error == f"no answer within {TIMEOUT:g}s"
        assert delivery.last_status_code is None
    finally:
        hanging.stop()


async def test_a_hanging_target_does_not_delay_a_healthy_one(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender, receiver: Receiver
) -> None:
    hanging = HangingServer()
    try:
        kit = await make_tenant(container)
        await subscribe(client, kit.headers, hanging.url)
        hook = await subscribe(client, kit.headers, receiver.url)
        receiver.secrets = [hook["secret"]]
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()

        start = time.monotonic()
        tasks = await sender.dispatch()
        assert len(tasks) == 2
        done, pending = await asyncio.wait(
            tasks, timeout=TIMEOUT * 0.8, return_when=asyncio.FIRST_COMPLETED
        )
        assert time.monotonic() - start < TIMEOUT * 0.8
        assert [t.result() for t in done] == [True] and len(pending) == 1
        assert len(receiver.events) == 1
        # recorded already, while the other is still waiting for its answer
        statuses = sorted(d.status for d in await _deliveries(container))
        assert statuses == ["pending", "succeeded"]
        assert await asyncio.gather(*pending) == [False]
        assert time.monotonic() - start >= TIMEOUT
    finally:
        hanging.stop()


async def test_given_up_after_three_days_then_replayed_by_hand(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender
) -> None:
    server = ScriptedServer([503])
    try:
        kit = await make_tenant(container)
        hook = await subscribe(client, kit.headers, server.url)
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()
        delivery = await _one(container)
        deadline = delivery.deadline
        assert deadline - delivery.created_at == timedelta(days=3)

        now = utcnow()
        for _ in range(40):
            await sender.run_once(now)
            delivery = await _one(container)
            if delivery.next_attempt_at is None:
                break
            assert delivery.status == "failed" and delivery.next_attempt_at <= deadline
            now = delivery.next_attempt_at
        assert delivery.status == "dead"
        assert now == deadline  # the last try was at the deadline
        assert 20 <= delivery.attempts == len(server.requests) <= 25
        async with container.sessions() as session:
            died = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.name == "webhook.delivery_died")
            )
        assert died == 1
        assert await sender.run_once(deadline + timedelta(days=1)) == 0  # dead stays dead

        server.statuses = [200]  # the receiver was fixed
        replay = await client.post(
            f"/api/v1/webhook-deliveries/{delivery.id}/replay", headers=kit.headers
        )
        assert replay.status_code == 200, replay.text
        assert (replay.json()["status"], replay.json()["attempts"]) == ("pending", 0)
        assert await sender.run_once() == 1
        replayed = await _one(container)
        assert replayed.status == "succeeded" and replayed.event_id == delivery.event_id
        assert server.requests[-1][0]["centralita-delivery-attempt"] == "1"
        assert server.requests[-1][1] == server.requests[0][1]  # the same event, same bytes

        # a succeeded delivery can be replayed too (the receiver lost it)
        again = await client.post(
            f"/api/v1/webhook-deliveries/{delivery.id}/replay", headers=kit.headers
        )
        assert again.json()["status"] == "pending"
        assert await sender.run_once() == 1
        log = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=kit.headers)
        assert [d["status"] for d in log.json()["items"]] == ["succeeded"]
    finally:
        server.stop()


async def test_send_time_check_refuses_a_name_that_now_resolves_inside(
    container: Container, client: httpx.AsyncClient, database: Database, tmp_path: Path
) -> None:
    """DNS rebinding: public when saved, loopback when sent; nothing reaches the receiver."""
    receiver = Receiver(["unused"]).start()
    try:
        strict = make_settings(database, tmp_path, webhook_allow_http=True)
        kit = await make_tenant(container)
        port = int(receiver.url.split(":")[2].split("/")[0])
        answers = {"rebind.test": ["93.184.215.14"]}

        async def resolver(host: str, _port: int) -> list[str]:
            return answers[host]

        async with container.sessions() as session, session.begin():
            await webhooks_service.create_subscription(
                session,
                tenant_id=kit.tenant_id,
                url=f"http://rebind.test:{port}/hooks/centralita",
                events=["*"],
                policy=policy_from(strict),
                resolver=resolver,
            )
        answers["rebind.test"] = ["127.0.0.1"]
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()
        strict_sender = WebhookSender(container.sessions, strict, resolver=resolver)
        assert await strict_sender.run_once() == 0
        delivery = await _one(container)
        assert delivery.status == "failed"
        assert delivery.last_error is not None
        assert "refused: rebind.test resolves to 127.0.0.1, a loopback address" in (
            delivery.last_error
        )
        assert receiver.events == [] and receiver.rejected == []
    finally:
        receiver.stop()


async def test_the_sender_connects_to_the_checked_address_with_the_name_as_host(
    container: Container, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """The URL's name is resolved once, by us; the request goes to that address."""
    kit = await make_tenant(container)
    port = int(receiver.url.split(":")[2].split("/")[0])

    async def resolver(host: str, _port: int) -> list[str]:
        assert host == "hooks.example.test"  # a name no real resolver knows
        return ["127.0.0.1"]

    async with container.sessions() as session, session.begin():
        _, secret = await webhooks_service.create_subscription(
            session,
            tenant_id=kit.tenant_id,
            url=f"http://hooks.example.test:{port}/hooks/centralita",
            events=["contact.created"],
            policy=policy_from(container.settings),
            resolver=resolver,
        )
    receiver.secrets = [secret]
    await create_contact(client, kit.headers, "Ana")
    await container.relay.drain()
    sender = WebhookSender(container.sessions, container.settings, resolver=resolver)
    assert await sender.run_once() == 1
    assert receiver.headers[0]["host"] == f"hooks.example.test:{port}"


async def test_the_worker_sends_in_the_background(
    container: Container, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    kit = await make_tenant(container)
    hook = await subscribe(client, kit.headers, receiver.url)
    receiver.secrets = [hook["secret"]]
    stop = asyncio.Event()
    worker = asyncio.create_task(run_webhook_sender(container, stop))
    try:
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()
        arrived = await asyncio.to_thread(receiver.wait_for, 1, 5.0)
        assert [e["type"] for e in arrived] == ["contact.created"]
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=5)
    # stopping let the attempt in flight record its outcome
    assert (await _one(container)).status == "succeeded"


async def test_operator_allowance_lets_a_local_url_be_saved(
    container: Container, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """127.0.0.1 is allowed here (CENTRALITA_WEBHOOK_ALLOWED_HOSTS); its neighbour is not."""
    kit = await make_tenant(container)
    assert (await client.post(
        "/api/v1/webhooks", headers=kit.headers, json={"url": receiver.url, "events": ["*"]}
    )).status_code == 201  # fmt: skip
    refused = await client.post(
        "/api/v1/webhooks",
        headers=kit.headers,
        json={"url": "http://127.0.0.2:9/hook", "events": ["*"]},
    )
    assert refused.status_code == 422
    assert "127.0.0.2 is a loopback address" in refused.json()["detail"]


async def test_a_customer_message_reaches_the_receiver_as_public_events(
    container: Container, client: httpx.AsyncClient, sender: WebhookSender, receiver: Receiver
) -> None:
    """The real inbound path (a signed simulator webhook) to public events, fields as documented."""
    kit = await make_tenant(container)
    hook = await subscribe(
        client, kit.headers, receiver.url, ["conversation.created", "message.received"]
    )
    receiver.secrets = [hook["secret"]]
    body, headers = simulator_request(kit.simulator_secret, text="Hola, quiero una cita")
    assert (
        await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    ).status_code == 200
    await container.relay.drain()
    await sender.run_once()
    by_type = {e["type"]: e for e in receiver.events}
    assert set(by_type) == {"conversation.created", "message.received"}
    message = by_type["message.received"]["data"]
    assert set(message) == {
        "message_id", "conversation_id", "interaction_id", "contact_id", "channel", "body",
    }  # fmt: skip
    assert message["body"] == "Hola, quiero una cita" and message["channel"] == "whatsapp"
    assert by_type["conversation.created"]["data"]["conversation_id"] == message["conversation_id"]
    assert receiver.rejected == []


async def test_two_senders_never_send_one_delivery_twice(
    container: Container, client: httpx.AsyncClient
) -> None:
    """Workers in several processes claim with SKIP LOCKED (PostgreSQL) and a conditional
    lease: racing for the same due rows, each delivery still goes out once."""
    server = ScriptedServer([200])
    try:
        kit = await make_tenant(container)
        await subscribe(client, kit.headers, server.url, ["contact.created"])
        for i in range(12):
            await create_contact(client, kit.headers, f"Contact {i}")
        await container.relay.drain()
        one, two = (
            WebhookSender(container.sessions, container.settings),
            WebhookSender(container.sessions, container.settings),
        )
        for _ in range(12):  # each claims a couple at a time: one webhook's share
            if sum(await asyncio.gather(one.run_once(), two.run_once(), one.run_once())) == 0:
                break
        # every delivery was claimed and tried exactly once between them
        rows = await _deliveries(container)
        assert len(rows) == 12 and all(d.attempts == 1 for d in rows)
        async with container.sessions() as session:
            tried = await session.scalar(select(func.count()).select_from(WebhookAttempt))
        assert tried == 12
        ids = [h["centralita-event-id"] for h, _ in server.requests]
        assert len(ids) == len(set(ids)) <= 12
    finally:
        server.stop()


async def test_one_slow_webhook_gets_only_its_share_of_the_slots(
    container: Container,
    client: httpx.AsyncClient,
    receiver: Receiver,
    database: Database,
    tmp_path: Path,
) -> None:
    """A backlog for a hanging receiver cannot take every slot from the others."""
    hanging = HangingServer()
    try:
        settings = make_settings(
            database,
            tmp_path,
            webhook_allow_http=True,
            webhook_allowed_hosts="127.0.0.1",
            webhook_timeout_seconds=TIMEOUT,
            webhook_concurrency=4,  # one slot per webhook at most
        )
        kit = await make_tenant(container)
        await subscribe(client, kit.headers, hanging.url, ["contact.created"])
        for i in range(3):  # the backlog, due before anything else
            await create_contact(client, kit.headers, f"Backlog {i}")
        await container.relay.drain()
        hook = await subscribe(client, kit.headers, receiver.url, ["contact.created"])
        receiver.secrets = [hook["secret"]]
        await create_contact(client, kit.headers, "Ana")
        await container.relay.drain()

        sender = WebhookSender(container.sessions, settings)
        start = time.monotonic()
        tasks = await sender.dispatch()
        assert len(tasks) == 2  # one to each webhook, not three to the hanging one
        arrived = await asyncio.to_thread(receiver.wait_for, 1, TIMEOUT)
        assert len(arrived) == 1 and time.monotonic() - start < TIMEOUT * 0.8
        assert sorted(await asyncio.gather(*tasks)) == [False, True]
    finally:
        hanging.stop()
