"""Pure threading rules: which conversation does an inbound message belong to?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from centralita.core.subjects import is_trivial, looks_like_reply, normalise_subject


class ThreadAction(StrEnum):
    CONTINUE = "continue"  # an open conversation exists: append to it
    REOPEN = "reopen"  # recently closed: reopen it
    CREATE = "create"  # start a new one


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    status: str  # open | pending | closed
    last_message_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class ThreadDecision:
    action: ThreadAction
    conversation_id: str | None = None


def pick_conversation(
    candidates: list[ConversationSummary], *, now: datetime, reopen_window: timedelta
) -> ThreadDecision:
    """Continuity across channels: the contact's open thread wins whatever the channel.

    The most recently active open (or pending) conversation is continued. Otherwise the most
    recently closed one is reopened if it closed within ``reopen_window``; else a new one.
    """
    live = [c for c in candidates if c.status != "closed"]
    if live:
        best = max(live, key=lambda c: (c.last_message_at, c.id))
        return ThreadDecision(ThreadAction.CONTINUE, best.id)
    closed = [c for c in candidates if c.closed_at is not None]
    if closed and reopen_window > timedelta(0):
        last = max(closed, key=lambda c: (c.closed_at or c.last_message_at, c.id))
        assert last.closed_at is not None
        if now - last.closed_at <= reopen_window:
            return ThreadDecision(ThreadAction.REOPEN, last.id)
    return ThreadDecision(ThreadAction.CREATE)


@dataclass(frozen=True)
class InteractionSummary:
    id: str
    channel: str
    ended_at: datetime | None


def pick_interaction(open_interactions: list[InteractionSummary], *, channel: str) -> str | None:
    """An inbound message joins the conversation's live session on the same channel, if any."""
    same = [i for i in open_interactions if i.channel == channel and i.ended_at is None]
    return max(same, key=lambda i: i.id).id if same else None


# ---- email threads: an email thread is one interaction -------------------------------------

# How long after the customer's last mail a reply found only by its subject still joins it.
EMAIL_SUBJECT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class EmailThreadCandidate:
    """A stored email of the same channel account: where it lives and what it was about."""

    provider_message_id: str
    conversation_id: str
    interaction_id: str
    contact_id: str
    subject: str | None
    at: datetime


def pick_referenced(
    references: Sequence[str], found: Sequence[EmailThreadCandidate], *, contact_id: str
) -> EmailThreadCandidate | None:
    """The thread of the first stored mail the new one answers (In-Reply-To first), if that
    mail belongs to the same contact: a forward to someone else starts their own thread."""
    by_id = {c.provider_message_id: c for c in found if c.contact_id == contact_id}
    return next((by_id[r] for r in references if r in by_id), None)


def pick_by_subject(
    candidates: Sequence[EmailThreadCandidate],
    *,
    subject: str | None,
    answers_something: bool,
    now: datetime,
    window: timedelta = EMAIL_SUBJECT_WINDOW,
) -> EmailThreadCandidate | None:
    """The subject fallback, careful not to glue unrelated mails together.

    Only a mail that looks like a reply (a Re:/RV:/AW: prefix, or an In-Reply-To we do not
    know: ``answers_something``), with a subject that says something ("Hola" does not), joins
    the contact's latest mail with the same normalised subject from the last ``window``.
    """
    if not (answers_something or looks_like_reply(subject)) or is_trivial(subject):
        return None
    key = normalise_subject(subject)
    matching = [
        c for c in candidates if now - c.at <= window and normalise_subject(c.subject) == key
    ]
    return max(matching, key=lambda c: (c.at, c.interaction_id)) if matching else None
