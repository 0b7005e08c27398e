"""Events emitted by the spam domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class SpamVerdictRecorded(Event):
    """A conversation's spam verdict was set or changed."""

    name: ClassVar[str] = "conversation.spam_verdict"
    conversation_id: str
    verdict: str  # spam | ham
    source: str  # list | model | agent | caller
    score: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class SpamFeedbackRecorded(Event):
    """An agent marked a conversation as spam or not spam."""

    name: ClassVar[str] = "spam.feedback_recorded"
    feedback_id: str
    conversation_id: str
    contact_id: str | None
    is_spam: bool
    actor: str
