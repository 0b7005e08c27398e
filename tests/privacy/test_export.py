"""The export archive holds every kind of data kept about the contact, and only theirs."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from centralita.audit.models import AuditEntry
from centralita.bootstrap import Container
from centralita.conversations import interactions
from centralita.conversations.models import Interaction
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.factories import make_tenant
from tests.privacy.seed import MONDAY_10, SUBJECT, WITNESS, open_clinic, seed

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def _voicemail(container: Container, contact_id: str) -> None:
    """A voicemail with its transcription on one of the contact's interactions, as the voice
    path stores them (event messages)."""
    async with container.sessions() as session, session.begin():
        interaction = await session.scalar(
            select(Interaction).where(Interaction.contact_id == contact_id).limit(1)
        )
        assert interaction is not None
        await interactions.record_call_event(
            session, interaction=interaction, event_id="CA1:recording", event="voicemail",
            body="", meta={"recording_sid": "RE123", "recording_url": "https://api.twilio.com/r/RE123",
                           "seconds": 12}, now=MONDAY_10,
        )  # fmt: skip
        await interactions.record_call_event(
            session, interaction=interaction, event_id="CA1:transcription:RE123",
            event="transcription", body="Llamo para cambiar mi cita del jueves",
            meta={"recording_sid": "RE123"}, now=MONDAY_10,
        )  # fmt: skip


async def test_the_archive_has_every_kind(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    await seed(container, client, kit, WITNESS, full=False)
    subject_id = await seed(container, client, kit, SUBJECT, full=True)
    await _voicemail(container, subject_id)

    r = await client.get(f"/api/v1/contacts/{subject_id}/export", headers=kit.supervisor)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["contact_id"] == subject_id and manifest["version"] == 1
    assert set(manifest["files"]) <= names

    def load(name: str) -> object:
        return json.loads(archive.read(name))

    contact = load("contact.json")
    assert isinstance(contact, dict) and contact["name"] == SUBJECT.name
    assert {a["value"] for a in contact["addresses"]} >= {SUBJECT.phone, SUBJECT.email}
    # every kind holds the contact's records; none is empty
    for name, info in manifest["files"].items():
        assert info["records"] > 0, f"{name} is empty"
    messages = load("messages.json")
    assert isinstance(messages, list)
    channels = {m["channel"] for m in messages}
    assert {"whatsapp", "webchat", "email", "sms"} <= channels
    assert any(SUBJECT.email in m["body"] for m in messages)
    assert any(m["direction"] == "outbound" for m in messages)  # replies and the campaign
    transcripts = load("transcripts.json")
    assert any("cambiar mi cita" in t["body"] for t in transcripts)  # type: ignore[index]
    recordings = load("recordings.json")
    assert [x["recording_sid"] for x in recordings] == ["RE123"]  # type: ignore[index]
    appointments = load("appointments.json")
    assert SUBJECT.name in appointments[0]["notes"]  # type: ignore[index]
    staff = load("staff_messages.json")
    assert staff[0]["caller_phone"] == SUBJECT.phone  # type: ignore[index]
    surveys = load("surveys.json")
    assert surveys[0]["score"] == 5  # type: ignore[index]
    campaigns = load("campaigns.json")
    assert campaigns[0]["campaign"]["name"] == "Limpiezas"  # type: ignore[index]
    consent = load("consent.json")
    assert consent["channels"]["sms"] == "opted_out"  # type: ignore[index]
    assert [e["source"] for e in consent["ledger"]] == ["keyword"]  # type: ignore[index]
    assert load("intake.json")
    assert any(e["action"] == "contact.created" for e in load("audit.json"))  # type: ignore[union-attr]
    files = load("files.json")
    assert files[0]["stored"] is True  # type: ignore[index]
    assert archive.read(f"files/{files[0]['key']}").startswith(b"DNI de")  # type: ignore[index]
    # only the subject's data: the witness appears nowhere in the archive
    everything = b"".join(archive.read(n) for n in names)
    for needle in WITNESS.identifiers():
        assert needle.encode() not in everything

    # the export is audited
    async with container.sessions() as session:
        audited = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.object_id == subject_id, AuditEntry.action == "contact.exported"
            )
        )
        assert audited is not None


async def test_export_roles_and_tenants(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    subject_id = await seed(container, client, kit, SUBJECT, full=False)
    url = f"/api/v1/contacts/{subject_id}/export"
    assert (await client.get(url, headers=kit.agent)).status_code == 403
    assert (await client.get(url, headers=kit.admin)).status_code == 200
    assert (await client.get(url)).status_code == 401
    # tenant A can neither export nor erase B's contact
    other = await make_tenant(container, "privacy-a")
    assert (await client.get(url, headers=other.headers)).status_code == 404
    erase = await client.post(
        f"/api/v1/contacts/{subject_id}/erasure", headers=other.headers, json={"destroy_now": True}
    )
    assert erase.status_code == 404
    consent = await client.get(f"/api/v1/contacts/{subject_id}/consent", headers=other.headers)
    assert consent.status_code == 404
    listed = await client.get("/api/v1/erasures", headers=other.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    got = await client.get(f"/api/v1/contacts/{subject_id}", headers=kit.admin)
    assert got.status_code == 200 and got.json()["name"] == SUBJECT.name
