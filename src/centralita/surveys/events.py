"""Events emitted by the surveys domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class SurveySent(Event):
    """A survey question was queued to the customer, or could not be (``status`` "skipped"
    with a ``reason``: WhatsApp's window closed without a template, no SMS account...)."""

    name: ClassVar[str] = "survey.sent"
    survey_id: str
    interaction_id: str | None
    conversation_id: str
    contact_id: str
    agent_id: str | None
    channel: str
    kind: str
    status: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class SurveyAnswered(Event):
    """The customer answered a survey with a valid score."""

    name: ClassVar[str] = "survey.answered"
    survey_id: str
    interaction_id: str | None
    conversation_id: str
    agent_id: str | None
    kind: str
    score: int


@dataclass(frozen=True, kw_only=True)
class SurveyExpired(Event):
    """A survey went unanswered until its expiry."""

    name: ClassVar[str] = "survey.expired"
    survey_id: str
    conversation_id: str
    kind: str
