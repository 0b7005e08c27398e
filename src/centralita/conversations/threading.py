"""Pure threading rules: which conversation does an inbound message belong to?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


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
