"""Email subjects for threading: "RE: [Clínica] Fwd: Cita" and "Cita" are the same thread.

Shared by the email provider (which builds "Re: …" on replies) and the conversations'
threading rules (which compare subjects), so it lives in core. Pure: the standard library.
"""

from __future__ import annotations

import re
import unicodedata

# Reply and forward prefixes in the languages our tenants' customers write in, as mail
# clients put them: English (Re, Fwd, Fw), Spanish (RV: reenviado, RE), German (AW, WG),
# Scandinavian (Sv, Vs), Dutch (Antw), French (TR), Italian (R, I is too ambiguous to strip).
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|rv|aw|wg|sv|vs|antw|tr|r)(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]|\[[^\]]{0,60}\])\s*",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|rv|aw|sv|antw|r)(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]", re.I)
_BRACKET_TAG = re.compile(r"^\s*\[[^\]]{0,60}\]\s*")
_SPACES = re.compile(r"\s+")

# Subjects that say nothing about the matter: two mails titled "Hola" are not one thread.
TRIVIAL_SUBJECTS = frozenset(
    {
        "", "hola", "hello", "hi", "hey", "buenas", "buenos dias", "buenas tardes",
        "consulta", "consultas", "question", "questions", "pregunta", "preguntas", "duda",
        "dudas", "info", "informacion", "information", "ayuda", "help", "urgente", "urgent",
        "sin asunto", "no subject", "(sin asunto)", "(no subject)", "test", "prueba",
        "contacto", "contact", "mensaje", "message", "re", "fw", "fwd",
    }
)  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents, single spaces: "Información" and "informacion" match."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip().casefold()


def strip_prefixes(subject: str) -> str:
    """The subject without any leading Re:/Fwd:/RV:/AW:/Sv: prefixes and [tags]."""
    text = subject or ""
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            return text.strip()
        text = stripped


def normalise_subject(subject: str | None) -> str:
    """The comparable form of a subject, for threading."""
    return _fold(strip_prefixes(subject or ""))[:300]


def looks_like_reply(subject: str | None) -> bool:
    """The subject starts with a reply prefix ("Re:", "RE:", "RV:", "AW:"), after any [tags]."""
    text = subject or ""
    while _BRACKET_TAG.match(text):
        text = _BRACKET_TAG.sub("", text, count=1)
    return bool(_REPLY_PREFIX.match(text))


def is_trivial(subject: str | None) -> bool:
    """Too generic to thread on ("Hola", "Consulta", empty) or shorter than three letters."""
    folded = normalise_subject(subject).strip(" .!?¡¿:-")
    return folded in TRIVIAL_SUBJECTS or len(folded) < 3


def reply_subject(subject: str | None, *, default: str = "") -> str:
    """The subject of our answer: "Re: " and theirs, without their reply prefixes (no "Re: Re:")."""
    text = _SPACES.sub(" ", subject or "").strip()
    while _REPLY_PREFIX.match(text):
        text = _REPLY_PREFIX.sub("", text, count=1).strip()
    text = text or default
    return f"Re: {text}" if text else "Re:"
