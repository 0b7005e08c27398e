"""Everything held about one contact, as one ZIP archive (GDPR art. 15 and 20).

The archive holds ``manifest.json`` (what each file is and how many records it has), one JSON
file per kind, and ``files/<key>`` for each stored attachment (listed in ``files.json``;
one whose bytes are gone is listed with ``"stored": false``). Like erasure, the export reads
every domain's tables directly, in one snapshot.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.audit.models import AuditEntry
from centralita.campaigns import optouts
from centralita.campaigns.models import Campaign, CampaignRecipient
from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.blobs import BlobStore
from centralita.core.errors import NotFound
from centralita.privacy.erasure import TOMBSTONE_MARK
from centralita.receptionist.models import Handoff
from centralita.scheduling.models import Appointment
from centralita.spam.models import SpamFeedback, SpamVerdict
from centralita.staff_messages.models import StaffMessage
from centralita.surveys.models import Survey

FORMAT_VERSION = 1

# file name -> what it holds (the manifest repeats it for the reader)
KINDS: dict[str, str] = {
    "contact.json": "The contact, its addresses and any contacts merged into it.",
    "conversations.json": "Conversations: status, channel, subject, tags, timestamps.",
    "messages.json": "Every written message in those conversations, both directions.",
    "transcripts.json": "What was said on calls (speech turns) and voicemail transcriptions.",
    "recordings.json": "Call recordings known to us: provider ids, links, length.",
    "interactions.json": "Each channel session: arrival, queue, answer, end, disposition.",
    "intake.json": "What the receptionist gathered (reason, urgency, summary) and hand-offs.",
    "appointments.json": "Appointments and callbacks booked for the contact.",
    "surveys.json": "Satisfaction surveys sent and their answers.",
    "staff_messages.json": "Messages taken for staff on the contact's behalf.",
    "campaigns.json": "Campaign messages addressed to the contact.",
    "consent.json": "Consent flags, the opt-in/opt-out ledger and the state per channel.",
    "spam.json": "Spam verdicts and agents' spam feedback on the contact's conversations.",
    "audit.json": "Audit entries about the contact and its conversations.",
    "files.json": "Attachments: name, type, size; the bytes are in files/.",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row(obj: Any) -> dict[str, Any]:
    """Every column of an ORM row as JSON-ready data."""
    return {a.key: _plain(getattr(obj, a.key)) for a in inspect(obj).mapper.column_attrs}


async def _all(session: AsyncSession, stmt: Any) -> list[Any]:
    return list((await session.scalars(stmt)).all())


async def collect(
    session: AsyncSession, *, tenant_id: str, contact_id: str
) -> dict[str, list[dict[str, Any]] | dict[str, Any]]:
    """The archive's records per file name (``files.json`` without the bytes)."""
    contact = await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )
    if contact is None or contact.merged_into_id == TOMBSTONE_MARK:
        raise NotFound(f"contact {contact_id} not found")
    merged = await _all(
        session,
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.merged_into_id == contact.id),
    )
    people = [contact, *merged]
    ids = [c.id for c in people]
    t = tenant_id
    convs = await _all(
        session,
        select(Conversation)
        .where(Conversation.tenant_id == t, Conversation.contact_id.in_(ids))
        .order_by(Conversation.created_at),
    )
    conv_ids = [c.id for c in convs]
    messages = await _all(
        session,
        select(Message)
        .where(
            Message.tenant_id == t,
            or_(Message.contact_id.in_(ids), Message.conversation_id.in_(conv_ids)),
        )
        .order_by(Message.created_at, Message.id),
    )
    events = {m.id: (m.meta or {}).get("event") for m in messages if m.kind == "event"}
    spoken = [m for m in messages if m.channel == "voice" and m.kind == "text"]
    transcripts = spoken + [m for m in messages if events.get(m.id) == "transcription"]
    recordings = [m for m in messages if events.get(m.id) == "voicemail"]
    written = [m for m in messages if m.kind != "event" and m.channel != "voice"]
    recipients = (
        await session.execute(
            select(CampaignRecipient, Campaign.name, Campaign.channel, Campaign.body)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(CampaignRecipient.tenant_id == t, CampaignRecipient.contact_id.in_(ids))
        )
    ).all()
    ledger = await optouts.contact_ledger(session, tenant_id=t, contact_id=contact.id)
    state = await optouts.channel_states(session, tenant_id=t, contact_id=contact.id)
    files: list[dict[str, Any]] = []
    for m in messages:
        for entry in [
            *((m.meta or {}).get("media") or []),
            *((m.meta or {}).get("attachments") or []),
        ]:
            if isinstance(entry, dict):
                files.append({"message_id": m.id, **{k: _plain(v) for k, v in entry.items()}})
    return {
        "contact.json": {
            **row(contact),
            "addresses": [row(a) for a in contact.addresses],
            "merged_contacts": [
                {**row(c), "addresses": [row(a) for a in c.addresses]} for c in merged
            ],
        },
        "conversations.json": [row(c) for c in convs],
        "messages.json": [row(m) for m in written],
        "transcripts.json": [row(m) for m in transcripts],
        "recordings.json": [
            {
                "message_id": m.id,
                "conversation_id": m.conversation_id,
                "interaction_id": m.interaction_id,
                "at": _plain(m.created_at),
                **{
                    k: (m.meta or {}).get(k)
                    for k in ("call_sid", "recording_sid", "recording_url", "seconds", "outcome")
                },
            }
            for m in recordings
        ],
        "interactions.json": [
            row(i)
            for i in await _all(
                session,
                select(Interaction)
                .where(Interaction.tenant_id == t, Interaction.contact_id.in_(ids))
                .order_by(Interaction.arrived_at),
            )
        ],
        "intake.json": [
            {"conversation_id": c.id, "intake": c.intake, "subject": c.subject} for c in convs
        ]
        + [
            {"handoff": row(h)}
            for h in await _all(
                session,
                select(Handoff).where(
                    Handoff.tenant_id == t, Handoff.conversation_id.in_(conv_ids)
                ),
            )
        ],
        "appointments.json": [
            row(a)
            for a in await _all(
                session,
                select(Appointment).where(
                    Appointment.tenant_id == t,
                    or_(Appointment.contact_id.in_(ids), Appointment.conversation_id.in_(conv_ids)),
                ),
            )
        ],
        "surveys.json": [
            row(s)
            for s in await _all(
                session, select(Survey).where(Survey.tenant_id == t, Survey.contact_id.in_(ids))
            )
        ],
        "staff_messages.json": [
            row(s)
            for s in await _all(
                session,
                select(StaffMessage).where(
                    StaffMessage.tenant_id == t,
                    or_(
                        StaffMessage.contact_id.in_(ids),
                        StaffMessage.conversation_id.in_(conv_ids),
                    ),
                ),
            )
        ],
        "campaigns.json": [
            {**row(r), "campaign": {"name": name, "channel": channel, "body": body}}
            for r, name, channel, body in recipients
        ],
        "consent.json": {
            "flags": dict(contact.consent or {}),
            "channels": state,
            "ledger": [row(e) for e in ledger],
        },
        "spam.json": {
            "verdicts": [
                row(v)
                for v in await _all(
                    session,
                    select(SpamVerdict).where(
                        SpamVerdict.tenant_id == t, SpamVerdict.conversation_id.in_(conv_ids)
                    ),
                )
            ],
            "feedback": [
                row(f)
                for f in await _all(
                    session,
                    select(SpamFeedback).where(
                        SpamFeedback.tenant_id == t,
                        or_(
                            SpamFeedback.conversation_id.in_(conv_ids),
                            SpamFeedback.contact_id.in_(ids),
                        ),
                    ),
                )
            ],
        },
        "audit.json": [
            row(e)
            for e in await _all(
                session,
                select(AuditEntry)
                .where(AuditEntry.tenant_id == t, AuditEntry.object_id.in_([*ids, *conv_ids]))
                .order_by(AuditEntry.at),
            )
        ],
        "files.json": files,
    }


def _count(records: Any) -> int:
    if isinstance(records, list):
        return len(records)
    if isinstance(records, dict) and "ledger" in records:
        return len(records["ledger"])
    if isinstance(records, dict) and "verdicts" in records:
        return len(records["verdicts"]) + len(records["feedback"])
    return 1


def build_zip(
    records: dict[str, Any],
    *,
    tenant_id: str,
    contact_id: str,
    generated_at: datetime,
    blobs: BlobStore | None,
) -> bytes:
    """The archive's bytes: manifest, one JSON file per kind, and the stored files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in records["files.json"]:
            key = entry.get("key")
            stored = bool(blobs and isinstance(key, str) and blobs.exists(tenant_id, key))
            entry["stored"] = stored
            if stored and blobs is not None and f"files/{key}" not in archive.namelist():
                archive.writestr(f"files/{key}", blobs.read(tenant_id, str(key)))
        manifest = {
            "format": "centralita.contact-export",
            "version": FORMAT_VERSION,
            "tenant_id": tenant_id,
            "contact_id": contact_id,
            "generated_at": generated_at.isoformat(),
            "files": {
                name: {"description": KINDS[name], "records": _count(records[name])}
                for name in KINDS
            },
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in KINDS:
            archive.writestr(name, json.dumps(records[name], indent=2, ensure_ascii=False))
    return buffer.getvalue()
