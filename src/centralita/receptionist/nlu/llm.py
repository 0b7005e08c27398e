"""The optional LLM backend: an OpenAI-compatible chat-completions API, asked through tools.

Privacy first: before a turn leaves the machine, card numbers and codes, phone numbers,
emails and the caller's self-introduced name are replaced by placeholders ("[card]",
"[phone_1]", "[email_1]", "[name_1]"); any other long run of digits becomes "[number_1]". The
entities in the result (name, phone, email, dates) always come from the local engine reading
the local text, never from the LLM. Agents' spam examples (other callers' texts) are never sent.

The LLM answers by calling tools: ``classify_turn`` (language, intent, urgency, spam,
sentiment) and at most one action (``book_appointment``, ``take_message``, ``handoff``). What it
leaves out comes from the local engine. Any failure (timeout, non-2xx, malformed JSON, no tool
call) gives the local result, marked ``engine="offline-fallback"``: this engine never raises.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
import phonenumbers

from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.receptionist.nlu.entities import person_name
from centralita.receptionist.nlu.language import LANGUAGES, Language, detect_language
from centralita.receptionist.nlu.result import (
    FINE_TO_INTENT,
    INTENTS,
    URGENCIES,
    Intent,
    NluContext,
    NluEngine,
    NluEntities,
    NluResult,
    Urgency,
)

log = logging.getLogger(__name__)

# The LLM gives no probability; its answers count as fairly sure.
LLM_CONFIDENCE = 0.9
# The LLM says spam or not; the local score is kept but made to agree with it.
_SPAM_FLOOR, _HAM_CEILING = 0.8, 0.49
# The finer label of a public intent that has only one; "other" (no finer label) for the rest.
_ONLY_FINE_LABEL: dict[str, str] = {
    intent: fine[0]
    for intent in INTENTS
    if len(fine := [f for f, i in FINE_TO_INTENT.items() if i == intent]) == 1
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# What is left after phones are taken out: seven or more digits with separators between.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().-]{0,3}\d){6,}")

# ---- redaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Redacted:
    text: str  # safe to send
    cards: int  # card numbers and codes removed


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _redact_cards(text: str) -> tuple[str, int]:
    # Imported here: card redaction belongs to the offline pipeline's module.
    from centralita.receptionist.nlu.redaction import redact_cards

    return redact_cards(text)


def _numbered(kind: str, keys: dict[str, str], key: str) -> str:
    """The same phone or email mentioned twice gets the same placeholder."""
    if key not in keys:
        keys[key] = f"[{kind}_{len(keys) + 1}]"
    return keys[key]


def _contact_spans(text: str, country: str | None) -> list[tuple[int, int, str]]:
    """Emails, then phone numbers outside them, as (start, end, placeholder)."""
    emails: dict[str, str] = {}
    phones: dict[str, str] = {}
    spans: list[tuple[int, int, str]] = []
    for match in _EMAIL.finditer(text):
        try:
            key = normalise_email(match.group())
        except InvalidInput:
            key = match.group().casefold()
        spans.append((match.start(), match.end(), _numbered("email", emails, key)))
    for found in phonenumbers.PhoneNumberMatcher(text, country):
        start, end = int(found.start), int(found.end)
        if any(s < end and start < e for s, e, _ in spans):
            continue
        e164 = str(phonenumbers.format_number(found.number, phonenumbers.PhoneNumberFormat.E164))
        spans.append((start, end, _numbered("phone", phones, e164)))
    return sorted(spans)


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, label in spans:
        pieces += [text[position:start], label]
        position = end
    return "".join([*pieces, text[position:]])


def _without_name(text: str, name: str) -> str:
    """The whole name, then each of its words, wherever they appear (any case)."""
    for part in [name, *sorted(name.split(), key=len, reverse=True)]:
        if len(part) < 2:
            continue
        text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "[name_1]", text, flags=re.IGNORECASE)
    return re.sub(r"\[name_1\](?:\s+\[name_1\])+", "[name_1]", text)


def redact_personal_data(text: str, *, language: Language, country: str | None) -> Redacted:
    """``text`` with cards, codes, phones, emails, long numbers and the caller's name replaced
    by placeholders: the only form of a caller's turn that may leave the machine."""
    text, cards = _redact_cards(text)
    # Both languages' introductions: a misjudged language must not let a name through.
    others = [lang for lang in LANGUAGES if lang != language]
    name = next(filter(None, (person_name(text, language=x) for x in [language, *others])), None)
    text = _replace_spans(text, _contact_spans(text, country))
    numbers: dict[str, str] = {}
    text = _DIGIT_RUN.sub(
        lambda m: _numbered("number", numbers, re.sub(r"\D", "", m.group())), text
    )
    if name:
        text = _without_name(text, name)
    return Redacted(text, cards)


# ---- the request ---------------------------------------------------------------------------


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": []},
        },
    }


def _text(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


TOOLS: list[dict[str, Any]] = [
    _tool(
        "classify_turn",
        "Classify the caller's message. Always call this exactly once.",
        {
            "language": {"type": "string", "enum": list(LANGUAGES)},
            "intent": {"type": "string", "enum": list(INTENTS)},
            "urgency": {"type": "string", "enum": list(URGENCIES)},
            "spam": {"type": "boolean", "description": "Sales pitch, robocall or scam."},
            "sentiment": {"type": "number", "minimum": -1, "maximum": 1},
            "caller_name": _text("The caller's name if given (it may be a placeholder)."),
        },
    ),
    _tool(
        "book_appointment",
        "The caller wants to book an appointment.",
        {
            "service": _text("One of the business's service names, if said."),
            "staff": _text("One of the staff names, if the caller asks for someone."),
            "when_text": _text("The caller's words for the time, e.g. 'el martes por la tarde'."),
        },
    ),
    _tool(
        "take_message",
        "The caller wants to leave a message for someone.",
        {
            "recipient": _text("The staff name the message is for, if said."),
            "reason": _text("What the message is about, in a few words."),
            "urgency": {"type": "string", "enum": list(URGENCIES)},
        },
    ),
    _tool(
        "handoff",
        "The caller asks to talk to a person, or the receptionist cannot help.",
        {"reason": _text("Why, in a few words.")},
    ),
]

_INTENT_HELP = {
    "appointment_book": "book a new appointment",
    "appointment_change": "change, cancel or confirm an existing appointment",
    "message_for_staff": "leave a message for someone",
    "info": "questions about hours, address, prices, services or insurance",
    "complaint": "a complaint",
    "billing": "invoices, payments, charges",
    "sales_spam": "sales pitches, robocalls, scams",
    "other": "anything else",
}


def system_prompt(context: NluContext) -> str:
    """What the LLM is told: its task, the public labels, and the tenant's directory and
    services by name (the business's own public data, never callers')."""
    lines = [
        "You are the understanding step of a business's virtual receptionist. Read one "
        "message from a caller (Spanish or English) and answer only with tool calls: always "
        "classify_turn, plus book_appointment, take_message or handoff when the caller asks "
        "for that.",
        "Personal data was replaced by placeholders such as [phone_1], [email_1], [name_1], "
        "[number_1], [card] and [code]; keep them as they are and never guess what they hide.",
        "Intents: " + "; ".join(f"{k}: {v}" for k, v in _INTENT_HELP.items()) + ".",
        "Urgency: " + ", ".join(URGENCIES) + " (emergency: health or safety at risk now).",
        "Sentiment: -1 (furious) to 1 (delighted).",
    ]
    staff = [
        e.name
        + (f" ({e.role})" if e.role else "")
        + (f", also called {', '.join(e.aliases)}" if e.aliases else "")
        for e in context.directory
    ]
    if staff:
        lines.append("Staff: " + "; ".join(staff) + ".")
    services = [" / ".join(s.names) for s in context.services if s.names]
    if services:
        lines.append("Services: " + "; ".join(services) + ".")
    return "\n".join(lines)


def request_body(model: str, redacted: str, context: NluContext) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": system_prompt(context)},
            {"role": "user", "content": redacted},
        ],
        "tools": TOOLS,
        "tool_choice": "auto",
        "temperature": 0,
    }


# ---- the answer ----------------------------------------------------------------------------


class LlmAnswerError(ValueError):
    """The server answered, but not with usable tool calls."""


def tool_calls(payload: Any) -> dict[str, dict[str, Any]]:
    """Tool name -> its arguments, from a chat-completions response (the first call of each
    name wins). Arguments are a JSON string per the API; some servers send an object."""
    try:
        calls = payload["choices"][0]["message"].get("tool_calls") or []
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LlmAnswerError("not a chat completion") from exc
    found: dict[str, dict[str, Any]] = {}
    for call in calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments") or {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise LlmAnswerError(f"{function['name']}: arguments are not JSON") from exc
        if isinstance(arguments, Mapping):
            found.setdefault(function["name"], dict(arguments))
    if not found:
        raise LlmAnswerError("no tool calls")
    return found


def _match(said: Any, names: dict[str, tuple[str, ...]]) -> str | None:
    """The key whose name or alias is what the LLM said, accents and case aside."""
    if not isinstance(said, str) or not said.strip():
        return None
    folded = _fold(said.strip())
    for key, options in names.items():
        if any(_fold(option) == folded for option in options):
            return key
    return None


def _entities(
    local: NluEntities, calls: dict[str, dict[str, Any]], context: NluContext
) -> NluEntities:
    """The local entities; the LLM may only fill in which staff member or service, picked
    from the tenant's own directory."""
    args = calls.get("book_appointment") or calls.get("take_message") or {}
    directory = {e.key: (e.name, *e.aliases) for e in context.directory}
    changes: dict[str, Any] = {}
    if local.staff_key is None:
        key = _match(args.get("staff") or args.get("recipient"), directory)
        if key is not None:
            changes["staff_key"] = key
            changes["staff"] = directory[key][0]
    if local.service_key is None:
        key = _match(args.get("service"), {s.key: s.names for s in context.services})
        if key is not None:
            changes["service_key"] = key
    return replace(local, **changes)


def merge(local: NluResult, calls: dict[str, dict[str, Any]], context: NluContext) -> NluResult:
    """The LLM's answers over the local result; anything missing or invalid stays local."""
    turn = calls.get("classify_turn", {})
    intent: Intent | None = None
    if "book_appointment" in calls:
        intent = "appointment_book"
    elif "take_message" in calls:
        intent = "message_for_staff"
    elif turn.get("intent") in INTENTS:
        intent = turn["intent"]
    urgency: Urgency = local.urgency
    for said in (calls.get("take_message", {}).get("urgency"), turn.get("urgency")):
        if said in URGENCIES:
            urgency = said
            break
    language: Language = turn["language"] if turn.get("language") in LANGUAGES else local.language
    spam, spam_score = local.spam, local.spam_score
    if isinstance(turn.get("spam"), bool):
        spam = turn["spam"]
        spam_score = max(spam_score, _SPAM_FLOOR) if spam else min(spam_score, _HAM_CEILING)
    sentiment = turn.get("sentiment")
    if isinstance(sentiment, bool) or not isinstance(sentiment, int | float):
        sentiment = local.sentiment
    # ``caller_name`` is ignored: the name is the local engine's, never the LLM's.
    detail = local.detail
    if intent is not None and FINE_TO_INTENT.get(local.detail) != intent:
        detail = _ONLY_FINE_LABEL.get(intent, "other")
    return replace(
        local,
        language=language,
        intent=intent or local.intent,
        detail=detail,
        confidence=LLM_CONFIDENCE if intent is not None else local.confidence,
        urgency=urgency,
        spam=spam,
        spam_score=spam_score,
        sentiment=max(-1.0, min(1.0, float(sentiment))),
        entities=_entities(local.entities, calls, context),
        wants_human=local.wants_human or "handoff" in calls,
        engine="llm",
    )


# ---- the engine ----------------------------------------------------------------------------


class LlmNlu:
    """An ``NluEngine`` asking an OpenAI-compatible chat-completions API, with a local engine
    behind it for entities, for what the LLM leaves out, and for when it fails.

    ``analyse`` blocks for up to ``timeout`` seconds: call it from a worker thread
    (``asyncio.to_thread``) on an event loop.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout: float,
        fallback: NluEngine,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self.fallback = fallback
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client()
        self._owns_client = client is None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def analyse(self, text: str, context: NluContext) -> NluResult:
        language = (
            context.language
            or detect_language(
                text, history=context.history_languages, default=context.default_language
            ).language
        )
        redacted = redact_personal_data(text, language=language, country=context.country)
        local_text, cards = _redact_cards(text)
        local = self.fallback.analyse(local_text, context)
        local = replace(local, redactions=local.redactions + cards)
        try:
            calls = self._ask(request_body(self.model, redacted.text, context))
            return merge(local, calls, context)
        except Exception as exc:  # any failure means the local answer, never a crash
            log.warning("LLM NLU unavailable, using the offline engine: %s", _describe(exc))
            return replace(local, engine="offline-fallback")

    def _ask(self, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        response = self._client.post(
            self.url, json=body, headers=self._headers, timeout=self.timeout
        )
        response.raise_for_status()
        return tool_calls(response.json())


def _describe(exc: Exception) -> str:
    """The failure without the payload: responses may echo the (redacted) text."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError | LlmAnswerError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
