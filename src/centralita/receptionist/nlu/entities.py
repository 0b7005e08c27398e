"""Phones, emails, the caller's name, times and staff mentioned in one message.

Names come from a few introduction phrases ("me llamo", "soy", "my name is"...) followed by
capitalised words. Speech-to-text output is often all lower case; then we find no name and
say so, rather than guess: the dialogue can ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.core.text import fold as _fold
from centralita.receptionist.nlu.dates import When, parse_when
from centralita.receptionist.nlu.language import Language


@dataclass(frozen=True)
class Entities:
    phones: tuple[str, ...]  # E.164, in order of mention, without repeats
    emails: tuple[str, ...]  # normalised, in order of mention, without repeats
    person_name: str | None
    whens: tuple[When, ...]


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

_NAME_CHAR = r"[^\W\d_]"


def _introductions(phrases: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!{_NAME_CHAR})(?:{phrases})(?!{_NAME_CHAR})", re.IGNORECASE)


_INTRODUCTIONS: dict[Language, re.Pattern[str]] = {
    "es": _introductions(r"me\s+llamo|mi\s+nombre\s+es|de\s+parte\s+de|soy"),
    "en": _introductions(r"my\s+name\s+is|this\s+is|i['’]m|i\s+am"),
}
_HONORIFICS_TEXT = "dr dra doctor doctora sr sra srta senor senora mr mrs ms miss"  # not "Don"
_HONORIFICS = frozenset(_HONORIFICS_TEXT.split())
# Capitalised words that follow an introduction phrase without being a name ("Soy Yo",
# "This is Reception", "I'm Calling"). Compared accent-folded and in lower case.
_NOT_NAMES_TEXT = """yo el la los las un una de del nuevo nueva cliente paciente usted the a an
    here calling sorry fine good not just looking interested ok okay reception spanish english
    espanol espanola ingles inglesa"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_MAX_NAME_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _phones(text: str, default_region: str | None) -> list[tuple[str, tuple[int, int]]]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, default_region):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append((str(e164), (int(match.start), int(match.end))))
    return found


def _emails(text: str) -> list[tuple[str, tuple[int, int]]]:
    found = []
    for match in _EMAIL.finditer(text):
        try:
            found.append((normalise_email(match.group()), match.span()))
        except InvalidInput:
            continue
    return found


def _name_after(rest: str) -> str | None:
    words: list[str] = []
    position = 0
    for match in _WORD.finditer(rest):
        gap = rest[position : match.start()]
        position = match.end()
        if gap.strip():  # punctuation between words ends the name
            break
        word = match.group()
        bare = word.rstrip(".")
        if not words and _fold(bare) in _HONORIFICS:  # "Dr." is a title, not a sentence end
            continue
        if not bare[0].isupper() or _fold(bare) in _NOT_NAMES:
            break
        words.append(bare)
        if word != bare or len(words) == _MAX_NAME_WORDS:
            break
    return " ".join(words) or None


def person_name(text: str, *, language: Language) -> str | None:
    """The name the caller introduces themselves with, or None when unsure."""
    for match in _INTRODUCTIONS[language].finditer(text):
        name = _name_after(text[match.end() :])
        if name:
            return name
    return None


def _overlaps(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def extract_entities(
    text: str,
    *,
    language: Language,
    default_region: str | None,
    now: datetime,
    timezone: str,
) -> Entities:
    """Everything ``text`` says about who is calling, how to reach them and when."""
    phones = _phones(text, default_region)
    emails = _emails(text)
    taken = [span for _, span in phones + emails]
    # Duckling reads digit groups in phone numbers as dates; those readings are dropped.
    whens = [
        w
        for w in parse_when(text, language=language, now=now, timezone=timezone)
        if not _overlaps(w.text_span, taken)
    ]
    return Entities(
        phones=_unique(p for p, _ in phones),
        emails=_unique(e for e, _ in emails),
        person_name=person_name(text, language=language),
        whens=tuple(whens),
    )


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(text))


def _alias_tokens(alias: str) -> tuple[str, ...]:
    tokens = _tokens(alias)
    bare = [t for t in tokens if t not in _HONORIFICS]
    return tuple(bare or tokens)


def staff_mentions(text: str, directory: Mapping[str, Sequence[str]]) -> list[str]:
    """Keys of the staff ``text`` mentions by a name or alias in ``directory``, in order of
    mention; accents, case and titles ("la doctora") are ignored. A longer match wins over
    a shorter one inside it; several staff sharing the same words are all returned."""
    words = _tokens(text)
    matches: list[tuple[int, int, str]] = []
    for key, aliases in directory.items():
        for alias in aliases:
            needle = _alias_tokens(alias)
            size = len(needle)
            if not size:
                continue
            matches.extend(
                (i, i + size, key)
                for i in range(len(words) - size + 1)
                if tuple(words[i : i + size]) == needle
            )
    matches.sort(key=lambda m: (m[0] - m[1], m[0]))  # longest first
    kept: list[tuple[int, int, str]] = []
    for start, end, key in matches:
        clash = [k for k in kept if k[0] < end and start < k[1] and (k[0], k[1]) != (start, end)]
        if not clash:
            kept.append((start, end, key))
    return list(_unique(key for _, _, key in sorted(kept)))
