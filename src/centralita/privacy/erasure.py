"""Take one contact out of the live data: the scrub that blocking performs.

Erasure is the one use case that must reach into every domain's tables at once, in one
transaction, so that nothing half-erased is ever visible; it does so here rather than through
a dozen service functions that would exist for nothing else (docs/privacy.md says why).

Two passes:

1. **By reference**: rows that belong to the contact (its addresses, messages, merges, ledger
   entries, spam feedback, dialogue state) are deleted; rows that KPIs count (conversations,
   interactions, surveys, staff messages, appointments, campaign recipients) are kept as
   anonymous numbers, their personal columns emptied and their contact re-pointed to a
   *tombstone*: a nameless contact with no addresses, hidden from lists and read-only.
2. **By value** (the sweep): every text and JSON column of every tenant table (outbox
   payloads, audit data, routing snapshots, other helpers' tables added later) is searched
   for the contact's identifiers and each occurrence replaced with ``[erased]``.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from centralita.audit.models import AuditEntry
from centralita.campaigns.models import CampaignRecipient, OptOut
from centralita.channels.models import InboxRequest
from centralita.contacts.models import Contact, ContactAddress, ContactMerge
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.blobs import BlobStore
from centralita.core.ids import new_id
from centralita.db.registry import metadata
from centralita.privacy.identifiers import ERASED, contains, needles, scrub_json, scrub_text
from centralita.receptionist.models import DialogueRecord, Handoff
from centralita.scheduling.models import Appointment
from centralita.spam.models import SpamFeedback, SpamVerdict
from centralita.staff_messages.models import StaffMessage
from centralita.surveys.models import Survey

log = logging.getLogger(__name__)

# A tombstone's ``merged_into_id``: read-only (like a merged contact), hidden from every list.
TOMBSTONE_MARK = "erased"

# The business's own configuration and people: a staff member who is also a customer keeps
# their login. The privacy tables hold no identifiers by construction.
SWEEP_SKIP = frozenset(
    {
        "users",
        "web_sessions",
        "api_keys",
        "staff_members",
        "services",
        "faq_entries",
        "queues",
        "channel_accounts",
        "erasure_requests",
        "suppression_salts",
        "contact_addresses",  # handled by reference; a substring match would hit others
    }
)


@dataclass
class Subject:
    """Who is being erased: the contact, the contacts merged into it, what identifies them."""

    tenant_id: str
    contact_ids: list[str]
    addresses: list[tuple[str, str]]
    needles: list[str]
    conversation_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)


async def load_subject(session: AsyncSession, *, tenant_id: str, contact: Contact) -> Subject:
    merged = list(
        (
            await session.scalars(
                select(Contact).where(
                    Contact.tenant_id == tenant_id, Contact.merged_into_id == contact.id
                )
            )
        ).all()
    )
    people = [contact, *merged]
    ids = [c.id for c in people]
    addresses = [(a.kind, a.value) for c in people for a in c.addresses]
    names = [c.name for c in people if c.name]
    found: list[str] = []
    for i, name in enumerate(names or [None]):
        found += needles(name, addresses if i == 0 else [])
    conversation_ids = list(
        (
            await session.scalars(
                select(Conversation.id).where(
                    Conversation.tenant_id == tenant_id, Conversation.contact_id.in_(ids)
                )
            )
        ).all()
    )
    message_ids = list(
        (
            await session.scalars(
                select(Message.id).where(
                    Message.tenant_id == tenant_id,
                    or_(Message.contact_id.in_(ids), Message.conversation_id.in_(conversation_ids)),
                )
            )
        ).all()
    )
    return Subject(
        tenant_id,
        ids,
        addresses,
        sorted(set(found), key=lambda n: (-len(n), n)),
        conversation_ids,
        message_ids,
    )


def _media_keys(meta: dict[str, Any] | None) -> set[str]:
    keys: set[str] = set()
    for entry in [*((meta or {}).get("media") or []), *((meta or {}).get("attachments") or [])]:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            keys.add(entry["key"])
    return keys


async def _forget_files(
    session: AsyncSession, subject: Subject, blobs: BlobStore | None, counts: Counter[str]
) -> None:
    """Delete the bytes of the contact's files that no other message of the tenant shares
    (the store is content-addressed: the same file sent by two people is stored once)."""
    metas = (
        await session.scalars(select(Message.meta).where(Message.id.in_(subject.message_ids)))
    ).all()
    keys = set().union(*(_media_keys(m) for m in metas)) if metas else set()
    for key in sorted(keys):
        shared = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.tenant_id == subject.tenant_id,
                Message.id.not_in(subject.message_ids),
                cast(Message.meta, Text).contains(key),
            )
        )
        if not shared and blobs is not None:
            blobs.delete(subject.tenant_id, key)
            counts["files"] += 1


async def _tombstone(session: AsyncSession, subject: Subject, now: datetime) -> str:
    row = Contact(
        id=new_id("ct"),
        tenant_id=subject.tenant_id,
        name=None,
        attributes={},
        tags=[],
        consent={},
        merged_into_id=TOMBSTONE_MARK,
        created_at=now,
        updated_at=now,
    )
    row.addresses = []
    session.add(row)
    await session.flush()
    return row.id


async def scrub_by_reference(
    session: AsyncSession,
    subject: Subject,
    *,
    blobs: BlobStore | None,
    now: datetime,
) -> Counter[str]:
    """Pass 1. Returns how many rows of each kind were deleted or emptied."""
    t, ids, convs = subject.tenant_id, subject.contact_ids, subject.conversation_ids
    counts: Counter[str] = Counter()
    tomb = await _tombstone(session, subject, now)

    async def run(kind: str, stmt: Any) -> None:
        result = await session.execute(stmt.execution_options(synchronize_session=False))
        counts[kind] += int(getattr(result, "rowcount", 0) or 0)

    await _forget_files(session, subject, blobs, counts)
    await run("messages", delete(Message).where(Message.id.in_(subject.message_ids)))
    await run(
        "dialogue_states",
        delete(DialogueRecord).where(
            DialogueRecord.tenant_id == t, DialogueRecord.conversation_id.in_(convs)
        ),
    )
    await run(
        "handoffs",
        update(Handoff)
        .where(Handoff.tenant_id == t, Handoff.conversation_id.in_(convs))
        .values(reason="", summary="", intake={}, contact_id=tomb),
    )
    await run(
        "spam_feedback",
        delete(SpamFeedback).where(
            SpamFeedback.tenant_id == t,
            or_(SpamFeedback.conversation_id.in_(convs), SpamFeedback.contact_id.in_(ids)),
        ),
    )
    await run(
        "spam_verdicts",
        update(SpamVerdict)
        .where(SpamVerdict.tenant_id == t, SpamVerdict.conversation_id.in_(convs))
        .values(reason=""),
    )
    await run(
        "interactions",
        update(Interaction)
        .where(Interaction.tenant_id == t, Interaction.contact_id.in_(ids))
        .values(contact_id=tomb, provider_session_id=None),
    )
    await run(
        "conversations",
        update(Conversation)
        .where(Conversation.tenant_id == t, Conversation.id.in_(convs))
        .values(contact_id=tomb, subject=None, intake={}, tags=[], status="closed"),
    )
    await run(
        "surveys",
        update(Survey)
        .where(Survey.tenant_id == t, Survey.contact_id.in_(ids))
        .values(contact_id=tomb, answer_text=None),
    )
    await run(
        "staff_messages",
        update(StaffMessage)
        .where(
            StaffMessage.tenant_id == t,
            or_(StaffMessage.contact_id.in_(ids), StaffMessage.conversation_id.in_(convs)),
        )
        .values(
            contact_id=tomb,
            caller_name=None,
            caller_phone=None,
            caller_email=None,
            reason=None,
            summary="",
            transcript_url=None,
        ),
    )
    await run(
        "appointments",
        update(Appointment)
        .where(
            Appointment.tenant_id == t,
            or_(Appointment.contact_id.in_(ids), Appointment.conversation_id.in_(convs)),
        )
        .values(contact_id=None, phone=None, notes=None, cancel_reason=None),
    )
    await run(
        "campaign_recipients",
        update(CampaignRecipient)
        .where(CampaignRecipient.tenant_id == t, CampaignRecipient.contact_id.in_(ids))
        .values(contact_id=tomb, detail=None),
    )
    await run(
        "audit_entries",
        update(AuditEntry)
        .where(AuditEntry.tenant_id == t, AuditEntry.object_id.in_([*ids, *convs]))
        .values(data={"erased": True}),
    )
    await run(
        "contact_merges",
        delete(ContactMerge).where(
            ContactMerge.tenant_id == t,
            or_(ContactMerge.winner_id.in_(ids), ContactMerge.loser_id.in_(ids)),
        ),
    )
    values = [v for _, v in subject.addresses]
    who: ColumnElement[bool] = OptOut.contact_id.in_(ids)
    if values:
        who = or_(who, OptOut.address.in_(values))
    await run("opt_outs", delete(OptOut).where(OptOut.tenant_id == t, who))
    if subject.addresses:
        # webhooks accepted but not yet stored, or kept dead (channels/inbox.py): their raw
        # bodies are provider-encoded, so they are found by their order key, not swept
        await run(
            "inbox_requests",
            delete(InboxRequest).where(
                InboxRequest.tenant_id == t,
                or_(
                    *(
                        InboxRequest.order_key.endswith(f":{kind}:{value}", autoescape=True)
                        for kind, value in subject.addresses
                    )
                ),
            ),
        )
    await run(
        "contact_addresses",
        delete(ContactAddress).where(
            ContactAddress.tenant_id == t, ContactAddress.contact_id.in_(ids)
        ),
    )
    # merged contacts first: nothing may point at a row that is going
    await run(
        "contacts",
        delete(Contact).where(Contact.tenant_id == t, Contact.id.in_(ids), Contact.id != ids[0]),
    )
    await run("contacts", delete(Contact).where(Contact.tenant_id == t, Contact.id == ids[0]))
    return counts


def _searchable(table: Table) -> list[Any]:
    cols = []
    for col in table.columns:
        if col.name in ("id", "tenant_id") or col.primary_key:
            continue
        kind = col.type
        impl = getattr(kind, "impl", None)
        if isinstance(kind, String | JSON) or isinstance(impl, String) or _is_json(col):
            cols.append(col)
    return cols


def _is_json(col: Any) -> bool:
    kind = col.type
    return isinstance(kind, JSON) or "JSON" in type(kind).__name__


def _fit(col: Any, text: str) -> str:
    length = getattr(col.type, "length", None)
    return text[:length] if length else text


def _unique_columns(table: Table) -> set[str]:
    """Columns in a unique constraint or index: two values that differ only in an identifier
    must not become equal, so each scrubbed value there gets its own suffix."""
    names = {c.name for c in table.columns if c.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            names.update(c.name for c in constraint.columns)
    for index in table.indexes:
        if index.unique:
            names.update(c.name for c in index.columns)
    return names


def _scrub_column(col: Any, value: str, items: list[str], unique: bool) -> str:
    text = scrub_text(value, items)
    if unique:
        text = text.replace(ERASED, f"[erased-{secrets.token_hex(4)}]")
    return _fit(col, text)


async def sweep(session: AsyncSession, subject: Subject) -> Counter[str]:
    """Pass 2: replace the identifiers wherever they are left, in every tenant table."""
    counts: Counter[str] = Counter()
    if not subject.needles:
        return counts
    lowered = [n.lower() for n in subject.needles]
    for table in metadata.sorted_tables:
        if table.name in SWEEP_SKIP or "tenant_id" not in table.c:
            continue
        pk = list(table.primary_key.columns)
        if pk:
            counts.update(await _sweep_binary(session, subject, table, pk))
        cols = _searchable(table)
        if not cols or not pk:
            continue
        unique = _unique_columns(table)
        match = or_(
            *(
                func.lower(cast(col, Text)).contains(n, autoescape=True)
                for col in cols
                for n in lowered
            )
        )
        rows = (
            await session.execute(
                select(*pk, *cols).where(table.c.tenant_id == subject.tenant_id, match)
            )
        ).all()
        for row in rows:
            key = {c.name: row._mapping[c.name] for c in pk}
            changes: dict[str, Any] = {}
            for col in cols:
                value = row._mapping[col.name]
                if value is None:
                    continue
                if _is_json(col):
                    new = scrub_json(value, subject.needles)
                elif isinstance(value, str) and contains(value, subject.needles):
                    new = _scrub_column(col, value, subject.needles, col.name in unique)
                else:
                    continue
                if new != value:
                    changes[col.name] = new
            if changes:
                await session.execute(
                    update(table)
                    .where(*(table.c[name] == v for name, v in key.items()))
                    .values(**changes)
                )
                counts[f"swept.{table.name}"] += 1
    return counts


async def _sweep_binary(
    session: AsyncSession, subject: Subject, table: Table, pk: list[Any]
) -> Counter[str]:
    """Stored bytes (an idempotent request's saved response): no portable SQL search, so the
    tenant's rows are read and the UTF-8 ones scrubbed in Python. Such tables are small and
    short-lived (idempotency keys live a day)."""
    counts: Counter[str] = Counter()
    cols = [c for c in table.columns if isinstance(c.type, LargeBinary)]
    if not cols:
        return counts
    rows = await session.execute(
        select(*pk, *cols).where(
            table.c.tenant_id == subject.tenant_id, or_(*(c.is_not(None) for c in cols))
        )
    )
    for row in rows.all():
        changes: dict[str, Any] = {}
        for col in cols:
            value = row._mapping[col.name]
            try:
                text = bytes(value).decode("utf-8") if value is not None else ""
            except UnicodeDecodeError:
                continue  # not text: nothing we could have written an identifier into
            if contains(text, subject.needles):
                changes[col.name] = scrub_text(text, subject.needles).encode("utf-8")
        if changes:
            await session.execute(
                update(table).where(*(c == row._mapping[c.name] for c in pk)).values(**changes)
            )
            counts[f"swept.{table.name}"] += 1
    return counts
