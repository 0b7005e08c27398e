"""While blocked: hidden from staff, never re-used by the receptionist, skipped by campaigns;
the sealed copy opens only for a legal claim, and is gone once destroyed."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation
from centralita.core.errors import NotFound
from centralita.privacy import jobs, service
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.privacy.seed import MONDAY_10, SUBJECT, open_clinic, seed, simulate

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"
SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def test_a_blocked_contact_is_out_of_reach(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio, erasure_block_days=30)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    old_conversations = {
        c["id"]
        for c in (await client.get("/api/v1/conversations", headers=kit.admin)).json()["items"]
        if c["contact_id"] == subject_id
    }
    assert old_conversations

    r = await client.post(f"/api/v1/contacts/{subject_id}/erasure", headers=kit.admin)
    assert r.status_code == 201, r.text
    erasure = r.json()
    assert erasure["destroy_after"].startswith((MONDAY_10 + timedelta(30)).date().isoformat())
    await container.relay.drain()

    # staff: the contact is gone from every read; its conversations hold nothing personal
    for headers in (kit.admin, kit.agent):
        got = await client.get(f"/api/v1/contacts/{subject_id}", headers=headers)
        assert got.status_code == 404
        listed = await client.get("/api/v1/contacts", headers=headers, params={"q": SUBJECT.wa})
        assert listed.json()["items"] == []
    everyone = (await client.get("/api/v1/contacts", headers=kit.admin)).json()["items"]
    assert subject_id not in {c["id"] for c in everyone}
    assert all(c["name"] != SUBJECT.name for c in everyone)
    for conversation_id in old_conversations:
        msgs = await client.get(
            f"/api/v1/conversations/{conversation_id}/messages", headers=kit.admin
        )
        assert msgs.status_code in (200, 404)
        if msgs.status_code == 200:
            assert msgs.json()["items"] == []
    export = await client.get(f"/api/v1/contacts/{subject_id}/export", headers=kit.admin)
    assert export.status_code == 404

    # the receptionist: the same number writing again is a new contact, a new conversation
    await simulate(client, kit, channel="whatsapp", kind="whatsapp", value=SUBJECT.wa,
                   text="Hola, ¿tenéis cita mañana?")  # fmt: skip
    await container.relay.drain()
    async with container.sessions() as session:
        fresh = await session.scalars(
            select(Conversation).where(Conversation.id.not_in(old_conversations))
        )
        fresh_rows = [c for c in fresh.all() if c.tenant_id == kit.tenant.id]
        newest = max(fresh_rows, key=lambda c: c.created_at)
        assert newest.contact_id != subject_id
        contact = await session.get_one(Contact, newest.contact_id)
        assert contact.name is None  # nothing carried over from the blocked contact
        assert contact.merged_into_id is None

    # a legal claim may open the sealed copy while blocked (and that is audited)
    sealed = service.sealed_store(container.settings.data_dir, SECRET)
    async with container.sessions() as session, session.begin():
        data = await service.unseal(
            session, tenant_id=kit.tenant.id, erasure_id=erasure["id"], sealed=sealed,
            actor="tests",
        )  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        contact_file = json.loads(archive.read("contact.json"))
    assert contact_file["name"] == SUBJECT.name
    # the sealed file is not readable without the key
    raw = next((container.settings.data_dir / "sealed").rglob("*.enc")).read_bytes()
    assert SUBJECT.email.encode() not in raw and b"PK" not in raw[:4]

    # another tenant's admin cannot list or open it
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await service.unseal(
                session, tenant_id="tnt_other", erasure_id=erasure["id"], sealed=sealed,
                actor="tests",
            )  # fmt: skip

    # the period ends: destroyed, and nothing opens any more
    run = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(31))
    assert run.destroyed == 1
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await service.unseal(
                session, tenant_id=kit.tenant.id, erasure_id=erasure["id"], sealed=sealed,
                actor="tests",
            )  # fmt: skip
    again = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(32))
    assert again.destroyed == 0


async def test_a_merged_contact_is_erased_through_its_winner(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    twin = await client.post(
        "/api/v1/contacts",
        headers=kit.admin,
        json={"name": "Zacarías Q. (duplicado)",
              "addresses": [{"kind": "email", "value": "zq.other@example.org"}]},
    )  # fmt: skip
    merged = await client.post(
        f"/api/v1/contacts/{subject_id}/merge",
        headers=kit.admin,
        json={"other_id": twin.json()["id"]},
    )
    assert merged.status_code in (200, 201), merged.text
    refused = await client.post(f"/api/v1/contacts/{twin.json()['id']}/erasure", headers=kit.admin)
    assert refused.status_code == 409
    r = await client.post(
        f"/api/v1/contacts/{subject_id}/erasure", headers=kit.admin, json={"destroy_now": True}
    )
    assert r.status_code == 201, r.text
    for contact_id in (subject_id, twin.json()["id"]):
        got = await client.get(f"/api/v1/contacts/{contact_id}", headers=kit.admin)
        assert got.status_code == 404
    from tests.privacy.seed import scan_database

    assert await scan_database(container, [*SUBJECT.identifiers(), "zq.other@example.org"]) == []
