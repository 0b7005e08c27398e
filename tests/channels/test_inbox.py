"""Accept-then-process ingest (channels/inbox.py): the webhook stores the verified request and
answers; workers store its messages, in order per customer, and keep what fails."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from centralita.analytics.metrics import exposition
from centralita.bootstrap import Container, build_container
from centralita.channels.inbox import InboxProcessor, backoff, pending_count
from centralita.channels.models import ChannelAccount, InboxRequest
from centralita.cli.main import cli
from centralita.config import Settings
from centralita.conversations.models import Message
from tests.conftest import Database, make_settings
from tests.factories import make_tenant
from tests.simulator_client import simulator_request


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(database, tmp_path, ingest_mode="inbox")


async def _bodies(container: Container, tenant_id: str) -> list[str]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(Message.body)
            .where(Message.tenant_id == tenant_id, Message.direction == "inbound")
            .order_by(Message.created_at, Message.id)
        )
        return [str(b) for b in rows]


async def _counts(container: Container) -> tuple[int, int]:
    async with container.sessions() as session:
        return await pending_count(session)


async def _rows(container: Container) -> list[InboxRequest]:
    async with container.sessions() as session:
        return list((await session.scalars(select(InboxRequest).order_by(InboxRequest.id))).all())


async def _post(
    client: httpx.AsyncClient, kit_secret: str, account: str, text: str, **kw: str
) -> httpx.Response:
    body, headers = simulator_request(kit_secret, text=text, **kw)
    return await client.post(f"/hooks/{account}", content=body, headers=headers)


async def test_the_webhook_answers_once_stored_and_a_worker_stores_the_message(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await _post(client, kit.simulator_secret, kit.simulator_account_id, "Hola", name="Ana")
    assert r.status_code == 200, r.text
    assert await _bodies(container, kit.tenant_id) == []  # accepted, not yet processed
    [row] = await _rows(container)
    assert row.state == "pending" and row.tenant_id == kit.tenant_id
    assert row.order_key == f"{kit.simulator_account_id}:whatsapp:34600111222"

    assert await container.inbox.process_due() == 1
    assert await _bodies(container, kit.tenant_id) == ["Hola"]
    assert await _rows(container) == []
    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    assert len(convs) == 1
    contact = (
        await client.get(f"/api/v1/contacts/{convs[0]['contact_id']}", headers=kit.headers)
    ).json()
    assert contact["name"] == "Ana"
    await container.relay.drain()


async def test_bad_signature_and_malformed_requests_are_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await _post(client, "wrong-secret", kit.simulator_account_id, "hello")
    assert r.status_code == 403
    body, headers = simulator_request(kit.simulator_secret, text="x")
    r = await client.post(
        f"/hooks/{kit.simulator_account_id}", content=body[:-3] + b"!!!", headers=headers
    )
    assert r.status_code in (400, 403, 422)
    r = await _post(client, kit.simulator_secret, "chn_doesnotexist", "hello")
    assert r.status_code == 404
    assert await _rows(container) == []


async def test_a_redelivered_webhook_is_stored_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    for _ in range(3):
        r = await _post(client, kit.simulator_secret, kit.simulator_account_id, "hi", msg_id="d1")
        assert r.status_code == 200
    assert len(await _rows(container)) == 3
    await container.inbox.process_due()
    assert await _bodies(container, kit.tenant_id) == ["hi"]
    assert await _rows(container) == []
    await container.relay.drain()


async def test_a_customer_waits_for_her_earlier_message_others_do_not(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A failed row holds back the later rows of its customer only, and its retry keeps
    the customer's order."""
    kit = await make_tenant(container)
    acc, sec = kit.simulator_account_id, kit.simulator_secret
    for text, who in [("a1", "34600000001"), ("b1", "34600000002"), ("a2", "34600000001"),
                      ("b2", "34600000002"), ("a3", "34600000001")]:  # fmt: skip
        assert (await _post(client, sec, acc, text, value=who)).status_code == 200
    first = (await _rows(container))[0]
    later = container.clock() + timedelta(minutes=1)
    async with container.sessions() as session, session.begin():  # as if a1 had failed once
        await session.execute(
            update(InboxRequest)
            .where(InboxRequest.id == first.id)
            .values(attempts=1, next_attempt_at=later, last_error="boom")
        )
    assert await container.inbox.process_due() == 2
    assert await _bodies(container, kit.tenant_id) == ["b1", "b2"]
    assert [r.order_key.rsplit(":", 1)[1] for r in await _rows(container)] == ["34600000001"] * 3

    container.clock = lambda: later  # type: ignore[method-assign]
    assert await container.inbox.process_due() == 3
    assert await _bodies(container, kit.tenant_id) == ["b1", "b2", "a1", "a2", "a3"]
    await container.relay.drain()


async def test_a_request_that_cannot_be_stored_is_kept_dead_and_stops_holding_its_customer(
    client: httpx.AsyncClient,
    container: Container,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit = await make_tenant(container)
    acc, sec = kit.simulator_account_id, kit.simulator_secret
    for text in ("one", "two"):
        assert (await _post(client, sec, acc, text)).status_code == 200
    first = (await _rows(container))[0]
    async with container.sessions() as session, session.begin():  # no longer parses
        await session.execute(
            update(InboxRequest).where(InboxRequest.id == first.id).values(body=b"{not json")
        )
    assert await container.inbox.process_due() == 1
    assert await _bodies(container, kit.tenant_id) == ["two"]
    [dead] = await _rows(container)
    assert dead.id == first.id and dead.state == "dead" and dead.attempts == 1
    assert dead.last_error and "MalformedRequest" in dead.last_error
    assert await _counts(container) == (0, 1)
    async with container.sessions() as session:  # what an operator's Prometheus scrapes
        text = await exposition(session, container.clock())
    assert f'centralita_inbox_requests{{tenant="{kit.slug}",state="dead"}} 1.0' in text
    assert f'centralita_inbox_requests{{tenant="{kit.slug}",state="pending"}} 0.0' in text

    # the operator lists it, fixes the cause (here: the body as received) and puts it back
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CENTRALITA_DATA_DIR", str(settings.data_dir))
    run = CliRunner()
    listed = await asyncio.to_thread(run.invoke, cli, ["inbox", "dead", "--tenant", kit.slug])
    assert listed.exit_code == 0, listed.output
    assert (
        listed.output.startswith(f"{first.id}\t{kit.tenant_id}\t") and "Malformed" in listed.output
    )
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(InboxRequest).where(InboxRequest.id == first.id).values(body=first.body)
        )
    refused = await asyncio.to_thread(run.invoke, cli, ["inbox", "retry"])
    assert refused.exit_code != 0
    retried = await asyncio.to_thread(run.invoke, cli, ["inbox", "retry", str(first.id)])
    assert retried.exit_code == 0 and retried.output.startswith("1 requests"), retried.output
    assert await container.inbox.process_due() == 1
    assert await _bodies(container, kit.tenant_id) == ["two", "one"]
    assert await _rows(container) == []
    await container.relay.drain()


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(30) == timedelta(minutes=5)


async def test_accepted_requests_survive_a_restart_and_two_workers_store_each_once(
    settings: Settings, client: httpx.AsyncClient, container: Container
) -> None:
    """Rows accepted by one process are stored by others, started later: two processors
    racing over one backlog store every message once, each customer's in order."""
    kit = await make_tenant(container)
    acc, sec = kit.simulator_account_id, kit.simulator_secret
    sent: dict[str, list[str]] = {}
    for i in range(30):
        who = f"3460000{i % 3:04d}"
        sent.setdefault(who, []).append(f"m{i}")
        assert (await _post(client, sec, acc, f"m{i}", value=who)).status_code == 200
    await container.stop()  # the accepting process goes away before storing anything

    workers = [build_container(settings, run_workers=False, subscribe=False) for _ in range(2)]
    try:
        processors = [w.inbox for w in workers]
        assert all(isinstance(p, InboxProcessor) for p in processors)
        for _ in range(20):
            await asyncio.gather(*(p.process_due(limit=5) for p in processors))
            if await _counts(workers[0]) == (0, 0):
                break
        assert await _counts(workers[0]) == (0, 0)
        async with workers[0].sessions() as session:
            rows = (
                await session.execute(
                    select(Message.body, Message.contact_id)
                    .where(Message.tenant_id == kit.tenant_id)
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
            count = await session.scalar(select(func.count()).select_from(Message))
        assert count == 30
        by_contact: dict[str, list[str]] = {}
        for body, contact in rows:
            by_contact.setdefault(contact, []).append(body)
        assert sorted(by_contact.values()) == sorted(sent.values())
    finally:
        for w in workers:
            await w.engine.dispose()


async def test_erasure_removes_the_contacts_waiting_requests(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    acc, sec = kit.simulator_account_id, kit.simulator_secret
    assert (await _post(client, sec, acc, "first", value="34611111111")).status_code == 200
    assert (await _post(client, sec, acc, "other", value="34622222222")).status_code == 200
    await container.inbox.process_due()
    assert (await _post(client, sec, acc, "late", value="34611111111")).status_code == 200
    [waiting] = await _rows(container)
    assert b"34611111111" in waiting.body
    convs = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"]
    contacts = {c["contact_id"] for c in convs}
    target = None
    for cid in contacts:
        contact = (await client.get(f"/api/v1/contacts/{cid}", headers=kit.headers)).json()
        if contact["addresses"][0]["value"] == "34611111111":
            target = cid
    assert target is not None
    r = await client.post(f"/api/v1/contacts/{target}/erasure", headers=kit.headers)
    assert r.status_code in (200, 201, 202), r.text
    await container.relay.drain()
    assert await _rows(container) == []  # deleted, not merely scrubbed


async def test_a_disabled_account_is_refused_once_the_cached_settings_expire(
    client: httpx.AsyncClient, container: Container
) -> None:
    """Accepting reuses an account's settings for a bounded time (documented): disabling it
    applies within that bound, and at once with no cache."""
    kit = await make_tenant(container)
    acc, sec = kit.simulator_account_id, kit.simulator_secret
    container.inbox.accounts.ttl = 0.3
    assert (await _post(client, sec, acc, "before")).status_code == 200
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(ChannelAccount).where(ChannelAccount.id == acc).values(enabled=False)
        )
    assert (await _post(client, sec, acc, "within the bound")).status_code == 200
    await asyncio.sleep(0.35)
    assert (await _post(client, sec, acc, "after")).status_code == 404
    container.inbox.accounts.ttl = 0.0
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(ChannelAccount).where(ChannelAccount.id == acc).values(enabled=True)
        )
    assert (await _post(client, sec, acc, "enabled")).status_code == 200
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(ChannelAccount).where(ChannelAccount.id == acc).values(enabled=False)
        )
    assert (await _post(client, sec, acc, "at once")).status_code == 404
    assert len(await _rows(container)) == 3
