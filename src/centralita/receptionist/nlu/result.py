"""What the NLU says about one caller turn, and what it needs to know to say it.

These types are the contract between NLU engines (the offline default in ``pipeline``, the
optional LLM backend in ``llm``) and their users: the dialogue policy, the ``centralita nlu``
command and ``benchmarks/nlu.py``. Pure data, no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from centralita.receptionist.nlu.language import Language

# The public intent set (``centralita nlu``, the benchmark, the dialogue policy).
Intent = Literal[
    "appointment_book",
    "appointment_change",
    "message_for_staff",
    "info",
    "complaint",
    "billing",
    "sales_spam",
    "other",
]
INTENTS: tuple[Intent, ...] = (
    "appointment_book",
    "appointment_change",
    "message_for_staff",
    "info",
    "complaint",
    "billing",
    "sales_spam",
    "other",
)
Urgency = Literal["low", "normal", "high", "emergency"]
URGENCIES: tuple[Urgency, ...] = ("low", "normal", "high", "emergency")

# The classifier's finer labels (``nlu.intents.INTENTS``) folded into the public set.
FINE_TO_INTENT: dict[str, Intent] = {
    "book_appointment": "appointment_book",
    "change_appointment": "appointment_change",
    "cancel_appointment": "appointment_change",
    "confirm_appointment": "appointment_change",
    "leave_message": "message_for_staff",
    "information_hours": "info",
    "information_address": "info",
    "information_prices": "info",
    "information_services": "info",
    "information_insurance": "info",
    "complaint": "complaint",
    "billing": "billing",
    "sales_spam": "sales_spam",
    "other": "other",
}


@dataclass(frozen=True)
class DirectoryEntry:
    """One person callers may ask for (from the tenant's staff directory)."""

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    role: str | None = None
    services: tuple[str, ...] = ()  # service names (any language) this person provides


@dataclass(frozen=True)
class ServiceEntry:
    key: str
    names: tuple[str, ...]  # every language's name


@dataclass(frozen=True)
class SpamExample:
    """Agent feedback: a message an agent marked as spam (True) or not spam (False)."""

    text: str
    is_spam: bool


@dataclass(frozen=True)
class NluContext:
    """Everything an engine may use besides the text. ``now`` must be timezone-aware."""

    now: dt.datetime
    timezone: str = "UTC"  # the tenant's IANA zone: dates are resolved and printed in it
    country: str | None = None  # default region for phone numbers, e.g. "ES"
    default_language: Language = "es"
    history_languages: tuple[Language, ...] = ()  # earlier turns, oldest first
    directory: tuple[DirectoryEntry, ...] = ()
    services: tuple[ServiceEntry, ...] = ()
    spam_feedback: tuple[SpamExample, ...] = ()
    language: Language | None = None  # set to skip detection (``centralita nlu --lang``)


@dataclass(frozen=True)
class NluEntities:
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    datetime: str | None = None  # ISO 8601 in the tenant's zone, the first time mentioned
    staff: str | None = None  # the directory entry's name
    staff_key: str | None = None
    service_key: str | None = None
    # for the policy: the first time mentioned, as an aware datetime, and its span
    when_start: dt.datetime | None = None
    when_end: dt.datetime | None = None  # set when the caller gave an interval
    when_grain: str | None = None  # duckling grain: "hour", "minute", "day", ...
    part_of_day: str | None = None  # "morning" / "afternoon" / "evening"


@dataclass(frozen=True)
class NluResult:
    text: str  # the turn after redaction: the only form that may be stored or sent on
    language: Language
    intent: Intent
    detail: str  # the classifier's finer label, e.g. "cancel_appointment"
    confidence: float
    urgency: Urgency
    spam: bool
    spam_score: float  # 0..1
    sentiment: float  # -1..1
    entities: NluEntities = field(default_factory=NluEntities)
    wants_human: bool = False  # "quiero hablar con una persona", "agent please", ...
    affirm: bool = False  # "sí", "vale", "yes", "ok", "that works"
    deny: bool = False  # "no", "ninguna", "none of those"
    redactions: int = 0  # card numbers and codes removed from ``text``
    engine: str = "offline"

    def public(self) -> dict[str, Any]:
        """The documented JSON form printed by ``centralita nlu``."""
        e = self.entities
        return {
            "text": self.text,
            "language": self.language,
            "intent": self.intent,
            "detail": self.detail,
            "confidence": round(self.confidence, 4),
            "urgency": self.urgency,
            "spam": self.spam,
            "spam_score": round(self.spam_score, 4),
            "sentiment": round(self.sentiment, 4),
            "wants_human": self.wants_human,
            "entities": {
                "name": e.name,
                "phone": e.phone,
                "email": e.email,
                "datetime": e.datetime,
                "staff": e.staff,
            },
        }


class NluEngine(Protocol):
    """Turns one caller turn into an ``NluResult``. Implementations must never raise on odd
    text (empty, emoji, 10 KB); they return ``other`` with low confidence instead."""

    def analyse(self, text: str, context: NluContext) -> NluResult: ...
