"""Erasure leaves no trace of the contact's identifiers in any table, file or Redis key,
and leaves everybody else's data alone."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.campaigns import optouts
from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction
from centralita.events.bus import InProcessBus
from centralita.privacy import jobs, service
from centralita.privacy.models import ErasureRequest
from centralita.surveys.models import Survey
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.conftest import Database, make_settings
from tests.privacy.seed import (
    MONDAY_10,
    SUBJECT,
    WITNESS,
    open_clinic,
    scan_database,
    scan_files,
    scan_redis,
    seed,
)

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


@pytest.fixture
async def redis_container(
    database: Database, tmp_path: Path, redis_url: str
) -> AsyncIterator[Container]:
    """Redis configured (so erasure scrubs it), the bus in-process (so tests drive it)."""
    settings = make_settings(database, tmp_path, redis_url=redis_url)
    c = build_container(settings, bus=InProcessBus(), run_workers=False)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


@pytest.fixture
async def redis_client(redis_container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(redis_container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _leave_traces_in_redis(redis_url: str, marker: str) -> None:
    """What a multi-process deployment leaves in Redis: bus stream entries carrying event
    payloads, and a cached value."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        stream = f"centralita:test-privacy-{marker}"
        for who in (SUBJECT, WITNESS):
            payload = {"name": "message.received", "payload": {"from": who.phone, "text": who.name}}
            await client.xadd(stream, {"e": json.dumps(payload)})
        await client.set(f"centralita:test-privacy-{marker}:last", SUBJECT.email)
    finally:
        await client.aclose()


async def _clean_redis(redis_url: str, marker: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        await client.delete(
            f"centralita:test-privacy-{marker}", f"centralita:test-privacy-{marker}:last"
        )
    finally:
        await client.aclose()


@pytest.mark.redis
@pytest.mark.slow
async def test_erasure_leaves_no_trace_anywhere(
    redis_container: Container,
    redis_client: httpx.AsyncClient,
    twilio: FakeTwilio,
    redis_url: str,
) -> None:
    container, client = redis_container, redis_client
    kit = await open_clinic(container, twilio)
    witness_id = await seed(container, client, kit, WITNESS, full=False)
    subject_id = await seed(container, client, kit, SUBJECT, full=True)
    marker = secrets.token_hex(4)
    await _leave_traces_in_redis(redis_url, marker)
    needles = SUBJECT.identifiers()

    # the seeding really put the identifiers everywhere the scan looks
    before = await scan_database(container, needles)
    tables = {hit.split(".")[0] for hit in before}
    expected = {
        "contacts", "contact_addresses", "messages", "appointments", "staff_messages",
        "surveys", "audit_entries", "outbox_events", "opt_outs", "idempotency_keys",
    }  # fmt: skip
    assert expected <= tables, tables
    assert scan_files(container.settings.data_dir, needles)
    assert await scan_redis(redis_url, needles)
    async with container.sessions() as session:
        kpi_rows = await session.scalar(select(func.count()).select_from(Interaction))

    r = await client.post(
        f"/api/v1/contacts/{subject_id}/erasure", headers=kit.admin, json={"ground": "request"}
    )
    assert r.status_code == 201, r.text
    erasure = r.json()
    assert erasure["status"] == "blocked" and erasure["sealed"] is True
    assert erasure["contact_id"] == subject_id
    await container.relay.drain()

    # blocked: nothing live is left; only the encrypted sealed copy holds them
    assert await scan_database(container, needles) == []
    assert await scan_redis(redis_url, needles) == []
    sealed_dir = container.settings.data_dir / "sealed"
    assert [p.name for p in sealed_dir.rglob("*.enc")] == [f"{erasure['id']}.zip.enc"]

    # the daily job destroys it when the blocking period (default 90 days) is over
    sealed = service.sealed_store(container.settings.data_dir, "test-secret-key-0123456789abcdef")
    early = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(1))
    assert early.destroyed == 0
    late = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(91))
    assert late.destroyed == 1
    await container.relay.drain()

    hits = await scan_database(container, needles)
    hits += scan_files(container.settings.data_dir, needles)
    hits += await scan_redis(redis_url, needles)
    assert hits == []
    assert list(sealed_dir.rglob("*.enc")) == []
    listed = await client.get("/api/v1/erasures", headers=kit.admin)
    assert [(e["id"], e["status"], e["sealed"]) for e in listed.json()["items"]] == [
        (erasure["id"], "destroyed", False)
    ]

    # the witness is untouched, and anonymous KPI facts remain
    witness = await scan_database(container, WITNESS.identifiers())
    assert {h.split(".")[0] for h in witness} >= {"contacts", "contact_addresses", "messages"}
    assert await scan_redis(redis_url, [WITNESS.phone]) != []
    got = await client.get(f"/api/v1/contacts/{witness_id}", headers=kit.admin)
    assert got.status_code == 200 and got.json()["name"] == WITNESS.name
    async with container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == kpi_rows
        assert await session.get(Contact, subject_id) is None
        survey = await session.scalar(select(Survey))
        assert survey is not None and survey.score == 5 and survey.answer_text is None
        closed = await session.scalars(
            select(Conversation.status).where(Conversation.contact_id == survey.contact_id)
        )
        assert set(closed.all()) == {"closed"}
    assert (
        await client.get(f"/api/v1/contacts/{subject_id}", headers=kit.admin)
    ).status_code == 404
    await _clean_redis(redis_url, marker)


async def test_destroy_now_keeps_no_sealed_copy(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    r = await client.post(
        f"/api/v1/contacts/{subject_id}/erasure",
        headers=kit.admin,
        json={"destroy_now": True, "ground": "consent_withdrawn"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["sealed"], r.json()["ground"]) == (
        "destroyed", False, "consent_withdrawn",
    )  # fmt: skip
    await container.relay.drain()
    assert await scan_database(container, SUBJECT.identifiers()) == []
    assert scan_files(container.settings.data_dir, SUBJECT.identifiers()) == []
    assert not list((container.settings.data_dir / "sealed").rglob("*.enc"))
    async with container.sessions() as session:
        row = await session.scalar(select(ErasureRequest))
        assert row is not None and row.destroyed_at is not None
    # a second erasure of the same id: it no longer exists
    again = await client.post(f"/api/v1/contacts/{subject_id}/erasure", headers=kit.admin)
    assert again.status_code == 404


async def test_erasure_is_for_admins_and_checks_its_input(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    url = f"/api/v1/contacts/{subject_id}/erasure"
    assert (await client.post(url, headers=kit.supervisor)).status_code == 403
    assert (await client.post(url, headers=kit.agent)).status_code == 403
    assert (await client.get("/api/v1/erasures", headers=kit.supervisor)).status_code == 403
    bad = await client.post(url, headers=kit.admin, json={"ground": "because"})
    assert bad.status_code == 422
    bad = await client.post(url, headers=kit.admin, json={"destroy_now": "yes"})
    assert bad.status_code == 422
    assert (
        await client.post("/api/v1/contacts/ct_nobody/erasure", headers=kit.admin)
    ).status_code == 404
    assert (
        await client.post("/api/v1/contacts/x%20y/erasure", headers=kit.admin)
    ).status_code == 404
    # nothing was erased by the refused requests
    got = await client.get(f"/api/v1/contacts/{subject_id}", headers=kit.admin)
    assert got.status_code == 200 and got.json()["name"] == SUBJECT.name


async def test_the_opt_out_survives_erasure(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    r = await client.post(
        f"/api/v1/contacts/{subject_id}/opt-out", headers=kit.supervisor, json={"channel": "sms"}
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/contacts/{subject_id}/erasure", headers=kit.admin, json={"destroy_now": True}
    )
    assert r.status_code == 201, r.text
    assert await scan_database(container, SUBJECT.identifiers()) == []

    # the same person is imported again later, with marketing consent
    again = await client.post(
        "/api/v1/contacts",
        headers=kit.admin,
        json={"name": "Z. Q.", "addresses": [{"kind": "phone", "value": SUBJECT.phone}],
              "consent": {"sms": True, "marketing": True}, "tags": ["promo"]},
    )  # fmt: skip
    assert again.status_code == 201, again.text
    new_id = again.json()["id"]
    async with container.sessions() as session:
        assert await optouts.is_opted_out(
            session, tenant_id=kit.tenant.id, contact_id=new_id, channel="sms"
        )
        assert not await optouts.is_opted_out(
            session, tenant_id=kit.tenant.id, contact_id=new_id, channel="email"
        )
        assert new_id in await optouts.opted_out_contacts(
            session, tenant_id=kit.tenant.id, channel="sms"
        ) or SUBJECT.phone in await optouts.opted_out_contacts(
            session, tenant_id=kit.tenant.id, channel="sms"
        )
    # a campaign to the segment skips them
    created = await client.post(
        "/api/v1/campaigns",
        headers=kit.supervisor,
        json={"name": "Promo", "channel": "sms", "body": "Hola", "segment": {}},
    )
    assert created.status_code == 201, created.text
    preview = await client.post(
        f"/api/v1/campaigns/{created.json()['id']}/preview", headers=kit.supervisor
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["skipped"].get("opted_out") == 1, preview.json()
