"""The daily job scrubs transcripts and forgets recordings past the tenant's periods."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.conversations import interactions
from centralita.conversations.models import Interaction, Message
from centralita.events.models import OutboxEvent
from centralita.privacy import jobs, service
from tests.privacy.seed import MONDAY_10
from tests.privacy.voice import call, voice_clinic

SECRET = "test-secret-key-0123456789abcdef"


async def _a_call_with_a_voicemail(
    container: Container, client: httpx.AsyncClient, account: str, when_offset: int
) -> None:
    """A call turn (the caller's words become a voice message), then a voicemail's recording
    and transcription stored as the voice path stores them."""
    r = await call(client, account, CallStatus="ringing")
    assert r.status_code == 200, r.text
    r = await call(client, account, "turn=1", SpeechResult="quiero saber el horario",
                   Confidence="0.9")  # fmt: skip
    assert r.status_code == 200, r.text
    async with container.sessions() as session, session.begin():
        interaction = await session.scalar(
            select(Interaction).where(Interaction.channel == "voice").limit(1)
        )
        assert interaction is not None
        await interactions.record_call_event(
            session, interaction=interaction, event_id=f"CA:rec:{when_offset}", event="voicemail",
            meta={"recording_sid": f"RE{when_offset}", "seconds": 9,
                  "recording_url": f"https://api.twilio.com/r/RE{when_offset}"},
            now=MONDAY_10 + timedelta(days=when_offset),
        )  # fmt: skip
        await interactions.record_call_event(
            session, interaction=interaction, event_id=f"CA:tr:{when_offset}",
            event="transcription", body=f"mensaje de voz {when_offset}",
            meta={"recording_sid": f"RE{when_offset}"},
            now=MONDAY_10 + timedelta(days=when_offset),
        )  # fmt: skip


async def _voice_messages(container: Container) -> list[Message]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(Message).where(Message.channel == "voice").order_by(Message.created_at)
        )
        return list(rows.all())


async def test_retention_scrubs_only_what_is_old_enough(
    container: Container, client: httpx.AsyncClient
) -> None:
    tenant_id, account = await voice_clinic(
        container, privacy={"transcripts_days": 30, "recordings_days": 60}
    )
    await _a_call_with_a_voicemail(container, client, account, 0)
    await _a_call_with_a_voicemail(container, client, account, 40)
    before = await _voice_messages(container)
    spoken = [m for m in before if m.kind == "text" and m.body]
    assert any("horario" in m.body for m in spoken)

    sealed = service.sealed_store(container.settings.data_dir, SECRET)
    run = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(45))
    after = {m.id: m for m in await _voice_messages(container)}
    for m in before:
        now = after[m.id]
        age = (MONDAY_10 + timedelta(45)) - m.created_at
        event = (m.meta or {}).get("event")
        if m.body and (m.kind == "text" or event == "transcription"):
            assert (now.body == "") == (age > timedelta(30)), (m.body, age)
        if event == "voicemail":
            assert ("recording_url" in now.meta) == (age <= timedelta(60))
    assert run.transcripts >= 2 and run.recordings == 0  # nothing is 60 days old yet

    later = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(61))
    assert later.recordings == 2  # the first voicemail's recording and its transcription
    kept = [
        m for m in await _voice_messages(container) if (m.meta or {}).get("event") == "voicemail"
    ]
    assert sorted(bool(m.meta.get("recording_url")) for m in kept) == [False, True]
    again = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(61))
    assert (again.transcripts, again.recordings) == (0, 0)  # idempotent
    async with container.sessions() as session:
        events = await session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.tenant_id == tenant_id, OutboxEvent.name == "privacy.retention_applied"
            )
        )
        assert len(events.all()) == 2


async def test_the_default_keeps_everything(
    container: Container, client: httpx.AsyncClient
) -> None:
    _, account = await voice_clinic(container)
    await _a_call_with_a_voicemail(container, client, account, 0)
    before = [(m.id, m.body, m.meta) for m in await _voice_messages(container)]
    sealed = service.sealed_store(container.settings.data_dir, SECRET)
    run = await jobs.run_daily(container.sessions, sealed=sealed, now=MONDAY_10 + timedelta(3650))
    assert (run.transcripts, run.recordings) == (0, 0)
    assert [(m.id, m.body, m.meta) for m in await _voice_messages(container)] == before
