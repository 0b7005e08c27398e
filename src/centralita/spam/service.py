"""Spam use cases: record a conversation's verdict, take agents' feedback, read both back.

The decision itself is pure (``spam.verdict``); this module gathers its inputs (normalised
tenant lists, the caller's last feedback, whether the contact is a known customer) and
stores its outputs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.audit import service as audit_service
from centralita.channels.base import SENDER_ADDRESS_KIND, ChannelKind
from centralita.contacts import service as contacts_service
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation
from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.core.ids import looks_like_id, new_id
from centralita.core.phone import to_e164
from centralita.db.paging import Slice, paginate
from centralita.events import outbox
from centralita.receptionist.nlu.redaction import redact_cards
from centralita.receptionist.nlu.result import SpamExample
from centralita.spam.events import SpamFeedbackRecorded, SpamVerdictRecorded
from centralita.spam.models import SpamFeedback, SpamVerdict
from centralita.spam.verdict import SpamDecision
from centralita.tenants.config.schema import SpamPolicy
from centralita.tenants.models import Tenant

TEXT_LIMIT = 2_000  # characters of a conversation's inbound text kept as a feedback example
_MESSAGES_READ = 100  # the newest messages of a conversation read for that text

# ---- addresses and lists -----------------------------------------------------------------


def comparable_address(kind: str, value: str) -> str | None:
    """A stored contact address in the form lists and feedback compare: a WhatsApp id is its
    phone number, so a number blocked for calls is blocked on WhatsApp too."""
    if not value:
        return None
    if kind == "whatsapp":
        return "+" + value.lstrip("+")
    if kind == "web":
        return f"web:{value}"
    return value  # phones are stored in E.164 and emails normalised already


def normalise_list_entry(entry: str, *, country: str | None) -> str | None:
    """A list entry as typed in the tenant's YAML ("+34 900 000 999", "900000999", an email)
    in comparable form; None when it is neither a phone number nor an email."""
    try:
        if "@" in entry:
            return normalise_email(entry)
        return to_e164(entry, default_region=country)
    except InvalidInput:
        return None


async def tenant_lists(tenant: Tenant) -> tuple[frozenset[str], frozenset[str]]:
    """The tenant's (allow, block) lists, normalised; unreadable entries are left out."""
    receptionist = (tenant.config or {}).get("receptionist") or {}
    policy = SpamPolicy.model_validate(receptionist.get("spam") or {})

    def normalised(entries: list[str]) -> frozenset[str]:
        found = (normalise_list_entry(e, country=tenant.country) for e in entries)
        return frozenset(a for a in found if a is not None)

    return normalised(policy.allow), normalised(policy.block)


# ---- reads -------------------------------------------------------------------------------


async def _inbound_texts(session: AsyncSession, *, tenant_id: str, conversation_id: str) -> str:
    """The conversation's newest inbound texts, oldest first, card numbers out, cut to
    ``TEXT_LIMIT``."""
    page = await conversations_service.list_messages(
        session,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        limit=_MESSAGES_READ,
        cursor=None,
    )
    texts = [
        m.body.strip()
        for m in reversed(page.items)
        if m.direction == "inbound" and m.kind == "text" and m.body.strip()
    ]
    return redact_cards("\n".join(texts))[0][:TEXT_LIMIT]


async def sender_address(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> str | None:
    """Who wrote in, in comparable form: the contact's address of the kind the conversation's
    last channel uses (a phone for calls and SMS, an email for mail...)."""
    conv = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    return await _address_of(session, conv)


async def _address_of(session: AsyncSession, conv: Conversation) -> str | None:
    contact = await contacts_service.get_contact(
        session, tenant_id=conv.tenant_id, contact_id=conv.contact_id
    )
    try:
        kind = SENDER_ADDRESS_KIND[ChannelKind(conv.last_channel)]
    except ValueError:
        kind = None
    matching = [a for a in contact.addresses if a.kind == kind] or list(contact.addresses)
    for address in matching:
        found = comparable_address(address.kind, address.value)
        if found is not None:
            return found
    return None


async def caller_feedback(session: AsyncSession, tenant_id: str, address: str) -> bool | None:
    """What an agent last said about this sender: True spam, False not spam, None nothing."""
    return await session.scalar(
        select(SpamFeedback.is_spam)
        .where(SpamFeedback.tenant_id == tenant_id, SpamFeedback.address == address)
        .order_by(SpamFeedback.id.desc())
        .limit(1)
    )


async def feedback_examples(
    session: AsyncSession, tenant_id: str, *, limit: int = 200
) -> tuple[SpamExample, ...]:
    """Agents' labelled texts for the NLU, newest first; only the last word on each
    conversation counts (an agent who corrects a mark replaces the example)."""
    newest = (
        select(func.max(SpamFeedback.id))
        .where(SpamFeedback.tenant_id == tenant_id)
        .group_by(SpamFeedback.conversation_id)
    )
    rows = await session.execute(
        select(SpamFeedback.text, SpamFeedback.is_spam)
        .where(SpamFeedback.tenant_id == tenant_id, SpamFeedback.id.in_(newest))
        .order_by(SpamFeedback.id.desc())
        .limit(limit)
    )
    return tuple(SpamExample(text, is_spam) for text, is_spam in rows.all() if text)


async def is_known_customer(
    session: AsyncSession, *, tenant_id: str, contact_id: str, conversation_id: str
) -> bool:
    """True when the contact had another conversation that was not judged spam.

    Appointments count too once scheduling stores them; until then conversations decide.
    """
    page = await conversations_service.list_conversations(
        session, tenant_id=tenant_id, contact_id=contact_id, limit=20, cursor=None
    )
    others = [c.id for c in page.items if c.id != conversation_id]
    if not others:
        return False
    spam = set(
        (
            await session.scalars(
                select(SpamVerdict.conversation_id).where(
                    SpamVerdict.tenant_id == tenant_id,
                    SpamVerdict.conversation_id.in_(others),
                    SpamVerdict.verdict == "spam",
                )
            )
        ).all()
    )
    return any(c not in spam for c in others)


async def get_verdict(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> SpamVerdict | None:
    """The conversation's current verdict, None before the first; 404 for a foreign id."""
    await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    return await _verdict_row(session, tenant_id=tenant_id, conversation_id=conversation_id)


async def _verdict_row(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> SpamVerdict | None:
    return await session.scalar(
        select(SpamVerdict).where(
            SpamVerdict.tenant_id == tenant_id, SpamVerdict.conversation_id == conversation_id
        )
    )


async def list_feedback(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    only: Select[Any] | None = None,
) -> Slice[SpamFeedback]:
    """Every feedback entry of the tenant, newest first; ``only``: a query of the
    conversation ids the caller may see (``agents_see``)."""
    if cursor is not None and not looks_like_id(cursor):
        raise InvalidInput.for_field("cursor", "use next_cursor from the previous page")
    stmt = select(SpamFeedback).where(SpamFeedback.tenant_id == tenant_id)
    if only is not None:
        stmt = stmt.where(SpamFeedback.conversation_id.in_(only))
    return await paginate(session, stmt, SpamFeedback.id, limit=limit, cursor=cursor)


# ---- writes ------------------------------------------------------------------------------


async def record_verdict(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    decision: SpamDecision,
    score: float,
    now: datetime,
) -> SpamVerdict:
    """Set the conversation's verdict (one row per conversation, overwritten).

    An agent's verdict stands: later automatic decisions (lists, caller feedback, the model)
    do not overwrite it; only another agent's mark does. ``conversation.spam_verdict`` is
    emitted when the verdict or its source changes, not on every turn that confirms it.
    """
    await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    return await _upsert_verdict(
        session,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        decision=decision,
        score=score,
        now=now,
    )


async def _upsert_verdict(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    decision: SpamDecision,
    score: float,
    now: datetime,
) -> SpamVerdict:
    verdict = "spam" if decision.is_spam else "ham"
    score = min(max(float(score), 0.0), 1.0)
    reason = decision.reason[:200]
    row = await _verdict_row(session, tenant_id=tenant_id, conversation_id=conversation_id)
    if row is None:
        row = SpamVerdict(
            id=new_id("spv"),
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            verdict=verdict,
            source=decision.source,
            score=score,
            reason=reason,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            # Another transaction decided first; ours is newer, so overwrite its row.
            found = await _verdict_row(
                session, tenant_id=tenant_id, conversation_id=conversation_id
            )
            if found is None:
                raise
            row = found
        else:
            _emit_verdict(session, row)
            return row
    if row.source == "agent" and decision.source != "agent":
        return row
    changed = (row.verdict, row.source) != (verdict, decision.source)
    row.verdict, row.source, row.score, row.reason = verdict, decision.source, score, reason
    row.updated_at = now
    await session.flush()
    if changed:
        _emit_verdict(session, row)
    return row


def _emit_verdict(session: AsyncSession, row: SpamVerdict) -> None:
    outbox.record(
        session,
        SpamVerdictRecorded(
            tenant_id=row.tenant_id,
            conversation_id=row.conversation_id,
            verdict=row.verdict,
            source=row.source,
            score=row.score,
            reason=row.reason,
        ),
    )


async def mark_conversation(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    is_spam: bool,
    actor: str,
    now: datetime,
) -> SpamFeedback:
    """An agent says the conversation is (not) spam: remember the sender and the text for
    next time, and make the agent's word the conversation's verdict."""
    conv = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    text = await _inbound_texts(session, tenant_id=tenant_id, conversation_id=conv.id)
    address = await _address_of(session, conv)
    feedback = SpamFeedback(
        id=new_id("spfb"),
        tenant_id=tenant_id,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        address=address,
        text=text,
        is_spam=is_spam,
        actor=actor[:80],
        created_at=now,
        updated_at=now,
    )
    session.add(feedback)
    await session.flush()
    decision = SpamDecision(
        is_spam, "agent", f"marked {'spam' if is_spam else 'not spam'} by {actor}"
    )
    await _upsert_verdict(
        session,
        tenant_id=tenant_id,
        conversation_id=conv.id,
        decision=decision,
        score=1.0 if is_spam else 0.0,
        now=now,
    )
    outbox.record(
        session,
        SpamFeedbackRecorded(
            tenant_id=tenant_id,
            feedback_id=feedback.id,
            conversation_id=conv.id,
            contact_id=conv.contact_id,
            is_spam=is_spam,
            actor=feedback.actor,
        ),
    )
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="conversation.marked_spam" if is_spam else "conversation.marked_not_spam",
        object_type="conversation",
        object_id=conv.id,
        data={"feedback_id": feedback.id},
    )
    return feedback
