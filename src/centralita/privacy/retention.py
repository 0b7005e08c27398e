"""Per-tenant retention of call transcripts and recordings (``privacy`` in the tenant file).

A *transcript* is what was said on a call: the caller's and the receptionist's speech turns
(messages on the voice channel) and voicemail transcriptions. Past ``transcripts_days`` their
text is emptied; the message rows stay, so timelines and KPIs keep their shape.

A *recording* is known to us by its metadata on a voicemail event (provider sid, link, length)
and, where a message links one, by a staff message's ``transcript_url``. Past
``recordings_days`` the links and ids are forgotten (the provider's copy must be deleted at the
provider: docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.models import Message
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.config.schema import PrivacyConfig

RECORDING_KEYS = ("recording_url", "recording_sid", "transcription_sid")
MARK = "retention"


@dataclass(frozen=True)
class RetentionResult:
    transcripts: int = 0
    recordings: int = 0


def _event(message: Message) -> Any:
    return (message.meta or {}).get("event")


async def apply_retention(
    session: AsyncSession, *, tenant_id: str, policy: PrivacyConfig, now: datetime
) -> RetentionResult:
    """Scrub what is older than the tenant's periods; idempotent (a scrubbed row is marked)."""
    transcripts = recordings = 0
    if policy.transcripts_days is not None:
        cutoff = now - timedelta(days=policy.transcripts_days)
        rows = await session.scalars(
            select(Message).where(
                Message.tenant_id == tenant_id,
                Message.created_at < cutoff,
                Message.body != "",
                or_(
                    and_(Message.channel == "voice", Message.kind == "text"),
                    Message.kind == "event",
                ),
            )
        )
        for message in rows.all():
            if message.kind == "event" and _event(message) != "transcription":
                continue
            message.body = ""
            message.meta = {**(message.meta or {}), MARK: f"transcript scrubbed {now.date()}"}
            transcripts += 1
    if policy.recordings_days is not None:
        cutoff = now - timedelta(days=policy.recordings_days)
        rows = await session.scalars(
            select(Message).where(
                Message.tenant_id == tenant_id,
                Message.created_at < cutoff,
                Message.kind == "event",
            )
        )
        for message in rows.all():
            meta = dict(message.meta or {})
            if not any(meta.get(k) for k in RECORDING_KEYS):
                continue
            for key in RECORDING_KEYS:
                meta.pop(key, None)
            meta[f"{MARK}_recording"] = f"forgotten {now.date()}"
            message.meta = meta
            recordings += 1
        links = await session.scalars(
            select(StaffMessage).where(
                StaffMessage.tenant_id == tenant_id,
                StaffMessage.created_at < cutoff,
                StaffMessage.transcript_url.is_not(None),
            )
        )
        for taken in links.all():
            taken.transcript_url = None
            recordings += 1
    await session.flush()
    return RetentionResult(transcripts, recordings)
