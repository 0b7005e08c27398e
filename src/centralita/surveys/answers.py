"""What a survey asks and how a customer's reply becomes a score. Pure.

Scales: CSAT 1-5 (5 = very satisfied), NPS 0-10 (10 = would certainly recommend us), CES 1-7
(7 = very easy). ``parse_answer`` accepts, in Spanish and English whatever the conversation's
language:

- a button or list reply: its id (``csat:5``), which the channel adapters put in the message's
  ``reply_id`` metadata;
- digits: "4", "4/5", "4 de 5", "un 9", "10!"; a denominator equal to the scale's top ("/5",
  "de 10", "out of 7") is dropped;
- number words: "cuatro", "five", "nueve" ("un"/"una"/"a" are articles, not 1);
- stars only: "⭐⭐⭐⭐" is 4;
- on CSAT, the qualitative words of ``CSAT_WORDS`` ("excelente", "muy bien" → 5; "bien" → 4;
  "regular" → 3; "mal" → 2; "muy mal", "fatal" → 1); on CES the answer titles ("muy fácil" → 7).
  Qualitative words are ignored after a negation ("no muy bien"): only numbers count then.

Everything found must agree on one score in range; two different numbers ("4 o 5", "4,5"),
an out-of-range number, a question or a long text (a new request, not a rating) give None.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["csat", "nps", "ces"]
Lang = Literal["es", "en"]

SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
MAX_ANSWER_WORDS = 12  # longer replies are a story or a new request, not a rating
MAX_ATTEMPT_WORDS = 6  # a short unparseable reply is taken as a failed attempt to answer

NUMBER_WORDS: dict[str, int] = {
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip

# CSAT's words, longest phrases first so that "muy mal" is not read as "mal".
CSAT_WORDS: dict[str, int] = {
    "muy insatisfecho": 1, "muy insatisfecha": 1, "very dissatisfied": 1, "muy mal": 1,
    "very bad": 1, "very poor": 1, "pesimo": 1, "pesima": 1, "terrible": 1, "horrible": 1,
    "fatal": 1, "awful": 1,
    "insatisfecho": 2, "insatisfecha": 2, "dissatisfied": 2, "mal": 2, "malo": 2, "mala": 2,
    "bad": 2, "poor": 2,
    "regular": 3, "normal": 3, "neutral": 3, "average": 3, "so so": 3, "asi asi": 3,
    "muy satisfecho": 5, "muy satisfecha": 5, "very satisfied": 5, "excelente": 5,
    "excellent": 5, "muy bien": 5, "very good": 5, "muy bueno": 5, "muy buena": 5,
    "genial": 5, "great": 5, "perfecto": 5, "perfect": 5, "fantastico": 5, "fantastic": 5,
    "estupendo": 5, "encantado": 5, "encantada": 5,
    "satisfecho": 4, "satisfecha": 4, "satisfied": 4, "bien": 4, "bueno": 4, "buena": 4,
    "good": 4,
}  # fmt: skip

CES_WORDS: dict[str, int] = {
    "muy dificil": 1, "very difficult": 1, "very hard": 1, "algo dificil": 3,
    "somewhat difficult": 3, "dificil": 2, "difficult": 2, "hard": 2, "neutral": 4,
    "normal": 4, "muy facil": 7, "very easy": 7, "algo facil": 5, "somewhat easy": 5,
    "facil": 6, "easy": 6,
}  # fmt: skip

NEGATIONS = frozenset({"no", "not", "nada", "ni", "nunca", "never", "isn't", "wasn't"})

QUESTIONS: dict[str, dict[str, str]] = {
    "csat": {
        "es": "¡Gracias por contactar con nosotros! ¿Cómo valora la atención recibida? "
        "Responda con un número del 1 (muy insatisfecho) al 5 (muy satisfecho).",
        "en": "Thank you for contacting us! How satisfied are you with the help you got? "
        "Reply with a number from 1 (very dissatisfied) to 5 (very satisfied).",
    },
    "nps": {
        "es": "¡Gracias por contactar con nosotros! Del 0 al 10, ¿con qué probabilidad nos "
        "recomendaría a un amigo o familiar? Responda con un número.",
        "en": "Thank you for contacting us! From 0 to 10, how likely are you to recommend us "
        "to a friend or colleague? Reply with a number.",
    },
    "ces": {
        "es": "¡Gracias por contactar con nosotros! ¿Qué tan fácil fue resolver su consulta? "
        "Responda con un número del 1 (muy difícil) al 7 (muy fácil).",
        "en": "Thank you for contacting us! How easy was it to get your request handled? "
        "Reply with a number from 1 (very difficult) to 7 (very easy).",
    },
}

REASK: dict[str, str] = {
    "es": "Perdone, no le he entendido. Responda con un número del {low} al {high}, por favor.",
    "en": "Sorry, I did not understand. Please answer with a number from {low} to {high}.",
}

THANKS: dict[str, str] = {
    "es": "¡Gracias por su respuesta! Nos ayuda a mejorar.",
    "en": "Thank you for your answer! It helps us improve.",
}

# Button or list titles, in scale order (the numbered lines of a channel without buttons
# then carry the score's own number). NPS has eleven answers, one more than a WhatsApp list
# holds: it is asked as text.
CHOICE_TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "csat": {
        "es": ("Muy insatisfecho", "Insatisfecho", "Neutral", "Satisfecho", "Muy satisfecho"),
        "en": ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
    },
    "ces": {
        "es": ("Muy difícil", "Difícil", "Algo difícil", "Normal", "Algo fácil", "Fácil",
               "Muy fácil"),
        "en": ("Very difficult", "Difficult", "Somewhat difficult", "Neutral", "Somewhat easy",
               "Easy", "Very easy"),
    },
}  # fmt: skip


@dataclass(frozen=True)
class ChoiceSpec:
    id: str
    title: str


def language_of(value: str | None) -> Lang:
    return "en" if (value or "").lower().startswith("en") else "es"


def question(kind: str, language: str | None) -> str:
    return QUESTIONS[kind][language_of(language)]


def reask(kind: str, language: str | None) -> str:
    low, high = SCALES[kind]
    return REASK[language_of(language)].format(low=low, high=high)


def thanks(language: str | None) -> str:
    return THANKS[language_of(language)]


def choices(kind: str, language: str | None) -> tuple[ChoiceSpec, ...]:
    """The answers as buttons or list rows (ids ``<kind>:<score>``); none for NPS."""
    titles = CHOICE_TITLES.get(kind, {}).get(language_of(language), ())
    low = SCALES[kind][0]
    return tuple(ChoiceSpec(f"{kind}:{low + n}", title) for n, title in enumerate(titles))


def _fold(text: str) -> str:
    """Lower case without accents, so "fácil" and "facil" match alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_STARS = re.compile(r"^[\s⭐★✨]+$")
_FRACTION = re.compile(r"(\d+)\s*(?:/|de|sobre|out of|of)\s*(\d+)")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[a-z']+")


def _from_reply_id(kind: str, reply_id: str | None) -> int | None:
    if not reply_id:
        return None
    prefix, _, value = reply_id.partition(":")
    if prefix != kind or not value.isdigit():
        return None
    return _in_range(kind, int(value))


def _in_range(kind: str, value: int) -> int | None:
    low, high = SCALES[kind]
    return value if low <= value <= high else None


def _phrases(text: str, table: dict[str, int]) -> set[int]:
    """Scores of the table's phrases in ``text``, longest first, each word used once."""
    found: set[int] = set()
    rest = f" {text} "
    for phrase in sorted(table, key=len, reverse=True):
        needle = f" {phrase} "
        if needle in rest:
            found.add(table[phrase])
            rest = rest.replace(needle, " ")
    return found


def parse_answer(
    kind: str, text: str, language: str | None = None, *, reply_id: str | None = None
) -> int | None:
    """The score ``text`` (or the tapped button ``reply_id``) gives, or None; see the module
    docstring. ``language`` is accepted for symmetry: both languages are always understood,
    since a customer may answer a Spanish question in English."""
    if kind not in SCALES:
        return None
    from_button = _from_reply_id(kind, reply_id)
    if from_button is not None:
        return from_button
    raw = text.strip()
    if not raw or "?" in raw or "¿" in raw:
        return None
    if _STARS.match(raw):
        return _in_range(kind, sum(raw.count(s) for s in "⭐★"))
    folded = _fold(raw)
    words = _WORD.findall(folded)
    if len(folded.split()) > MAX_ANSWER_WORDS:
        return None
    high = SCALES[kind][1]
    found: set[int] = set()
    for numerator, denominator in _FRACTION.findall(folded):
        if int(denominator) != high:
            return None  # "3/4" on a 1-5 scale: not ours to guess
        found.add(int(numerator))
    without_fractions = _FRACTION.sub(" ", folded)
    found.update(int(d) for d in _DIGITS.findall(without_fractions))
    found.update(NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS)
    if not NEGATIONS.intersection(words):
        table = CSAT_WORDS if kind == "csat" else CES_WORDS if kind == "ces" else {}
        found.update(_phrases(" ".join(words), table))
    if len(found) != 1:
        return None
    return _in_range(kind, found.pop())


def looks_like_attempt(text: str) -> bool:
    """A short reply with no question in it: worth asking again with the valid range. A long
    text or a question is a new request, passed on to the receptionist instead."""
    raw = text.strip()
    return bool(raw) and "?" not in raw and len(raw.split()) <= MAX_ATTEMPT_WORDS
