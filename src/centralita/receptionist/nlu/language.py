"""Spanish or English? Per message, with the conversation's history breaking ties.

A character n-gram model (py3langid, restricted to es/en) decides for real sentences. It is
unreliable on one- or two-word replies ("hola" scores as English, "vale" and "no" are a coin
toss), so short inputs are decided by keywords, then by the conversation's last language, then
by the tenant's default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from centralita.core.text import fold as _fold

Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")

# Words that settle a short reply on their own. Words both languages use ("no", "ok", "taxi")
# are deliberately absent.
_ES_TEXT = """hola buenas buenos dias tardes noches si vale gracias adios claro perfecto
    de acuerdo genial muchas bueno pues quiero quisiera necesito cita manana hoy ayer lunes
    martes miercoles jueves viernes sabado domingo tarde por favor porfa oiga mire senor
    senora doctor doctora llamo llamaba queria una uno el la los las que como cuando donde
    cuanto esta estoy soy"""
_EN_TEXT = """hi hello hey yes yeah yep thanks thank you cheers bye goodbye sure great perfect fine
    good morning afternoon evening please need want appointment today tomorrow yesterday
    monday tuesday wednesday thursday friday saturday sunday the an is am this that what
    when where how much calling call"""
_ES_WORDS = frozenset(_ES_TEXT.split())
_EN_WORDS = frozenset(_EN_TEXT.split())
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SHORT = 3  # up to this many words, the n-gram model is not trusted on its own
_CONFIDENT = 0.8


@dataclass(frozen=True)
class LanguageGuess:
    language: Language
    confidence: float
    reason: Literal["keywords", "model", "history", "default"]


@cache
def _identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def _model(text: str) -> tuple[Language, float]:
    language, probability = _identifier().classify(text)  # type: ignore[attr-defined]
    return ("es" if language == "es" else "en"), float(probability)


def _keywords(words: Sequence[str], text: str) -> tuple[Language | None, float]:
    es = sum(w in _ES_WORDS for w in words) + 2 * len(_SPANISH_MARKS.findall(text))
    en = sum(w in _EN_WORDS for w in words)
    if es == en:
        return None, 0.0
    return ("es" if es > en else "en"), abs(es - en) / (es + en)


def detect_language(
    text: str, *, history: Sequence[str] = (), default: Language = "es"
) -> LanguageGuess:
    """The language of ``text``; ``history`` is the conversation's earlier languages, oldest
    first, and ``default`` the tenant's locale."""
    words = [_fold(w) for w in _WORD.findall(text)]
    previous = next((h for h in reversed(history) if h in LANGUAGES), None)
    fallback = LanguageGuess(previous, 0.6, "history") if previous else None
    if not words:
        return fallback or LanguageGuess(default, 0.5, "default")
    by_words, strength = _keywords(words, text)
    if len(words) <= _SHORT:
        if by_words is not None:
            return LanguageGuess(by_words, 0.6 + 0.3 * strength, "keywords")
        return fallback or LanguageGuess(default, 0.5, "default")
    language, probability = _model(text)
    if probability >= _CONFIDENT:
        return LanguageGuess(language, probability, "model")
    if by_words is not None:
        return LanguageGuess(by_words, max(probability, 0.6), "keywords")
    return fallback or LanguageGuess(language, probability, "model")
