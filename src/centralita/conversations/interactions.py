"""The life of a call's interaction: answered, queued, offered, ended, abandoned.

Providers report these out of order and more than once (status callbacks, the results of a
queue or a transfer, retries). ``timeline_changes`` is the pure rule that keeps the record
honest: a timestamp is written once and never moves back, except that ``answered_at`` moves on
to the moment a person answered when the call was queued after the receptionist answered (so
the answer speed is measured from the queue). An ended interaction is never reopened; only the
queue's or the transfer's outcome, which happened before the end and can be reported after it,
may still be filled in.

Call events that are not the caller's words (a recording, a queue result, a transcription) are
stored as event messages on the call's interaction, once per provider event id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.events import (
    CallEventRecorded,
    InteractionEnded,
    InteractionUpdated,
)
from centralita.conversations.models import Interaction, Message
from centralita.core.clock import as_utc
from centralita.core.ids import new_id
from centralita.events import outbox


@dataclass(frozen=True)
class Timeline:
    """The fields of an interaction that calls move along."""

    arrived_at: datetime
    queued_at: datetime | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    abandoned_at: datetime | None = None
    disposition: str | None = None
    queue_id: str | None = None


@dataclass(frozen=True)
class CallUpdate:
    """What one provider event says happened; ``None`` says nothing."""

    answered_at: datetime | None = None  # the receptionist (or anyone) answered the call
    queued_at: datetime | None = None
    queue_id: str | None = None
    offered_at: datetime | None = None  # the call was put to a person
    person_answered_at: datetime | None = None  # a person took it (a queue, a transfer)
    abandoned_at: datetime | None = None  # the caller hung up while waiting
    ended_at: datetime | None = None
    disposition: str | None = None


# what may still be filled in once the call has ended: outcomes reported late
_AFTER_END = frozenset({"offered_at", "answered_at", "abandoned_at", "disposition"})


def timeline_changes(current: Timeline, update: CallUpdate) -> dict[str, object]:
    """The fields to write, by the rules in the module docstring. Pure."""
    floor = current.arrived_at
    ceiling = current.ended_at

    def when(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        moment = max(as_utc(moment), floor)
        return min(moment, ceiling) if ceiling is not None else moment

    changes: dict[str, object] = {}
    answered = when(update.answered_at)
    if current.answered_at is None and answered is not None:
        changes["answered_at"] = answered
    queued = when(update.queued_at)
    if current.queued_at is None and queued is not None:
        changes["queued_at"] = queued
    if current.queue_id is None and update.queue_id:
        changes["queue_id"] = update.queue_id[:40]
    person = when(update.person_answered_at)
    offered = when(update.offered_at) or person
    if current.offered_at is None and offered is not None:
        changes["offered_at"] = offered
    queued_at = current.queued_at or queued
    if person is not None and current.abandoned_at is None:
        first = current.answered_at
        if first is None or (queued_at is not None and first <= queued_at < person):
            changes["answered_at"] = person
    abandoned = when(update.abandoned_at)
    taken = "answered_at" in changes and person is not None
    gave_up = abandoned is not None and not taken and not _person_answered(current)
    if current.abandoned_at is None and gave_up:
        changes["abandoned_at"] = abandoned
    if current.disposition is None and update.disposition:
        changes["disposition"] = update.disposition[:60]
    ended = when(update.ended_at)
    if current.ended_at is None and ended is not None:
        changes["ended_at"] = ended
    if current.ended_at is not None:
        changes = {k: v for k, v in changes.items() if k in _AFTER_END}
    return changes


def _person_answered(current: Timeline) -> bool:
    """A person took the call after it was queued (so it was not abandoned)."""
    return (
        current.queued_at is not None
        and current.offered_at is not None
        and current.answered_at is not None
        and current.answered_at > current.queued_at
    )


def timeline_of(interaction: Interaction) -> Timeline:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return Timeline(
        arrived_at=as_utc(interaction.arrived_at),
        queued_at=utc(interaction.queued_at),
        offered_at=utc(interaction.offered_at),
        answered_at=utc(interaction.answered_at),
        ended_at=utc(interaction.ended_at),
        abandoned_at=utc(interaction.abandoned_at),
        disposition=interaction.disposition,
        queue_id=interaction.queue_id,
    )


async def update_call(
    session: AsyncSession,
    *,
    interaction: Interaction,
    update: CallUpdate,
    duration_seconds: int | None = None,
) -> dict[str, object]:
    """Apply what a provider reported about the call; emits ``InteractionUpdated`` for any
    change and ``InteractionEnded`` when the call ends. Returns the changes (empty for a
    duplicate or a stale report)."""
    changes = timeline_changes(timeline_of(interaction), update)
    if not changes:
        return changes
    for name, value in changes.items():
        setattr(interaction, name, value)
    if "queued_at" in changes or "offered_at" in changes:
        interaction.handled_by_bot = False
    plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in changes.items()}
    outbox.record(
        session,
        InteractionUpdated(
            tenant_id=interaction.tenant_id, interaction_id=interaction.id, changes=plain
        ),
    )
    if "ended_at" in changes:
        outbox.record(
            session,
            InteractionEnded(
                tenant_id=interaction.tenant_id,
                interaction_id=interaction.id,
                conversation_id=interaction.conversation_id,
                ended_at=str(plain["ended_at"]),
                disposition=interaction.disposition,
                duration_seconds=duration_seconds,
            ),
        )
    await session.flush()
    return changes


async def find_call(
    session: AsyncSession, *, tenant_id: str, account_id: str, call_id: str
) -> Interaction | None:
    """The interaction of one provider call: the one it started, else the one its first
    stored message joined (a call that continued an interaction left open)."""
    found = await session.scalar(
        select(Interaction)
        .where(
            Interaction.tenant_id == tenant_id,
            Interaction.channel_account_id == account_id,
            Interaction.provider_session_id == call_id,
        )
        .order_by(Interaction.arrived_at, Interaction.id)
        .limit(1)
    )
    if found is not None:
        return found
    # the voice adapters name a call's messages "{call id}:..."
    first = await session.scalar(
        select(Message.interaction_id)
        .where(
            Message.tenant_id == tenant_id,
            Message.channel_account_id == account_id,
            Message.provider_message_id.startswith(f"{call_id}:", autoescape=True),
        )
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    if first is None:
        return None
    return await session.scalar(
        select(Interaction).where(Interaction.tenant_id == tenant_id, Interaction.id == first)
    )


async def record_call_event(
    session: AsyncSession,
    *,
    interaction: Interaction,
    event_id: str,
    event: str,
    body: str = "",
    meta: dict[str, object] | None = None,
    now: datetime,
) -> Message | None:
    """Store a call event as an event message on the call's interaction, once per
    ``event_id``; ``None`` when it was already stored (a redelivery)."""
    existing = await _event_message(session, interaction, event_id)
    if existing is not None:
        return None
    message = Message(
        id=new_id("msg"),
        tenant_id=interaction.tenant_id,
        conversation_id=interaction.conversation_id,
        interaction_id=interaction.id,
        contact_id=interaction.contact_id,
        channel=interaction.channel,
        channel_account_id=interaction.channel_account_id,
        direction="inbound",
        kind="event",
        author_type="system",
        body=body,
        provider_message_id=event_id[:255],
        delivery_status="received",
        meta={**(meta or {}), "event": event},
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None  # a concurrent redelivery stored it first
    outbox.record(
        session,
        CallEventRecorded(
            tenant_id=interaction.tenant_id,
            message_id=message.id,
            conversation_id=interaction.conversation_id,
            interaction_id=interaction.id,
            event=event,
        ),
    )
    return message


async def _event_message(
    session: AsyncSession, interaction: Interaction, event_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.tenant_id == interaction.tenant_id,
            Message.channel_account_id == interaction.channel_account_id,
            Message.provider_message_id == event_id[:255],
        )
    )


async def call_event(
    session: AsyncSession, *, interaction: Interaction, event_id: str
) -> Message | None:
    """A call event stored earlier (to answer a redelivery the same way)."""
    return await _event_message(session, interaction, event_id)
