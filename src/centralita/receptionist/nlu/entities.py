"""Phones, emails, the caller's name, times and staff mentioned in one message.

Names come from, in order:

1. an introduction ("me llamo", "soy", "de parte de", "my name is", "this is", "it's ... here")
   followed by capitalised words. After a strong introduction ("me llamo", "mi nombre es",
   "de parte de", "my name is") lower-case words are a name too, as speech-to-text writes
   them; after a weak one ("soy", "this is", "I'm") a lower-case word counts only when it is
   no word of ours (``known_words``: the training vocabulary), so "soy paciente" and "this is
   about" are not names but "soy vanesa" is;
2. a signature: a capitalised name closing the message after "Regards,", "Un saludo," or
   similar, or standing alone on the last line; or just before a trailing phone number.

When unsure we find no name and say so, rather than guess: the dialogue can ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

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
    "es": _introductions(r"me\s+llamo|me\s+yamo|mi\s+nombre\s+es|de\s+parte\s+de|soy"),
    "en": _introductions(
        r"my\s+name\s+is|my\s+name['’]?s|this\s+is|i['’]m|i\s+am|it['’]?s|here['’]?s"
    ),
}
# After these a lower-case word is a name as well ("me llamo luis fernández").
_STRONG = re.compile(
    r"^(?:me\s+llamo|me\s+yamo|mi\s+nombre\s+es|my\s+name\s+is|my\s+name['’]?s)$",
    re.IGNORECASE,
)
# Words that end a lower-case name: what speech-to-text writes after one.
_NAME_STOP_TEXT = """y e o u que q k de del la el los las le lo me mi mis te se su sus con por para
    en a al y ya pues bueno mire oiga eh hola buenas buenos quiero queria quisiera querria llamo
    llamaba llamando tengo necesito es soy estoy vengo voy and i im id ive my me is am calling
    ringing phoning from at about with for to of on in here there but so um uh er like yeah yes
    no hi hello and the a an please pls thanks thank just wanted want would could can need
    have had has was were will"""
_NAME_STOP = frozenset(_NAME_STOP_TEXT.split())
_SIGN_OFF = re.compile(
    r"(?i:regards|best wishes|best|many thanks|thanks|thank you|thx|cheers|kind regards|"
    r"warm regards|yours sincerely|yours faithfully|sincerely|un saludo|saludos|gracias|"
    r"atentamente|un abrazo|muchas gracias|cordialmente)(?:\s*[,.!]\s*|\s*\n\s*)"
    r"((?:[A-ZÁÉÍÓÚÑ][\w'’-]+)(?:\s+[A-ZÁÉÍÓÚÑ][\w'’-]+){0,2})\s*[.!]?\s*(?:[+\d][\d\s().-]{6,})?$"
)
_BEFORE_PHONE = re.compile(
    r"(?:^|[.!?,]\s*)((?:[A-ZÁÉÍÓÚÑ][a-záéíóúñ'’-]+)(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ'’-]+)?)[,:]?\s+"
    r"\+?\d[\d\s.-]{7,}\s*$"
)
_HERE = re.compile(r"\b(?i:it['’]?s)\s+([A-Z][a-z]+|[a-z]+)\s+(?i:here)\b")
_HONORIFICS_TEXT = "dr dra doctor doctora sr sra srta senor senora mr mrs ms miss"  # not "Don"
_HONORIFICS = frozenset(_HONORIFICS_TEXT.split())
# Capitalised words that follow an introduction phrase without being a name ("Soy Yo",
# "This is Reception", "I'm Calling"). Compared accent-folded and in lower case.
_NOT_NAMES_TEXT = """yo el la los las un una de del nuevo nueva cliente paciente usted the a an
    here calling sorry fine good not just looking interested ok okay reception spanish english
    espanol espanola ingles inglesa servicio departamento equipo team office customer atencion
    support soporte banco bank seguridad security accounts clinic clinica the your"""
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


def _bare(word: str) -> str:
    return _fold(word).replace("'", "").replace("’", "")


def _name_after(
    rest: str,
    *,
    strong: bool,
    lower_ok: bool,
    known_words: frozenset[str],
    min_lower_words: int = 1,
) -> str | None:
    words: list[str] = []
    position = 0
    lower_case = False
    for match in _WORD.finditer(rest):
        gap = rest[position : match.start()]
        position = match.end()
        if gap.strip():  # punctuation between words ends the name
            break
        word = match.group()
        bare = word.rstrip(".")
        folded = _fold(bare)
        if not words and folded in _HONORIFICS:  # "Dr." is a title, not a sentence end
            continue
        if folded in _NOT_NAMES:
            break
        if bare[0].isupper() and not lower_case:
            words.append(bare)
        elif (
            lower_ok
            and bare.islower()
            and (not words or lower_case)
            and _bare(bare) not in _NAME_STOP
        ):
            # speech-to-text: a lower-case name, after a strong introduction or when the word
            # is none of ours; the surname may be any word but a stop word
            if not words and not strong and folded in known_words:
                break
            if len(bare) < 2:
                break
            lower_case = True
            words.append(bare)
        else:
            break
        if word != bare or len(words) == _MAX_NAME_WORDS:
            break
    if lower_case and len(words) < min_lower_words:
        return None
    return " ".join(words) or None


def person_name(
    text: str, *, language: Language, known_words: frozenset[str] = frozenset()
) -> str | None:
    """The name the caller introduces themselves or signs with, or None when unsure."""
    transcript = not any(c.isupper() for c in text)
    for match in _INTRODUCTIONS[language].finditer(text):
        strong = bool(_STRONG.match(match.group()))
        if (
            _fold(text[max(0, match.start() - 16) : match.start()])
            .rstrip()
            .endswith(("llamo", "llamamos", "escribo", "escribimos", "llamando"))
        ):
            continue  # "le llamo de parte de Energía Verde": a company
        name = _name_after(
            text[match.end() :],
            strong=strong,
            lower_ok=strong or transcript,
            known_words=known_words,
            # "i'm supposed to", "this is ridiculous": in English a lone lower-case word after
            # a weak introduction is rarely a name; "soy vanesa" often is
            min_lower_words=2 if language == "en" and not strong else 1,
        )
        if name:
            return name
    tail = text.strip()[-160:]
    for pattern in (_SIGN_OFF, _BEFORE_PHONE):
        found = pattern.search(tail)
        if found and _bare(found.group(1).split()[0]) not in _NOT_NAMES | _NAME_STOP:
            return found.group(1)
    here = _HERE.search(text[:120])
    if here:
        word = here.group(1)
        folded = _bare(word)
        if folded not in _NOT_NAMES | _NAME_STOP and (
            word[0].isupper() or folded not in known_words
        ):
            return word
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
    known_words: frozenset[str] = frozenset(),
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
        person_name=person_name(text, language=language, known_words=known_words),
        whens=tuple(whens),
    )


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(text))


@lru_cache(maxsize=4096)
def _alias_tokens(alias: str) -> tuple[str, ...]:
    tokens = _tokens(alias)
    bare = [t for t in tokens if t not in _HONORIFICS]
    return tuple(bare or tokens)


def staff_mentions(text: str, directory: Mapping[str, Sequence[str]]) -> list[str]:
    """Keys of the staff ``text`` mentions by a name or alias in ``directory``, in order of
    mention; accents, case and titles ("la doctora") are ignored. A longer match wins over
    a shorter one inside it; several staff sharing the same words are all returned."""
    words = _tokens(text)
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        positions.setdefault(word, []).append(i)
    matches: list[tuple[int, int, str]] = []
    for key, aliases in directory.items():
        for alias in aliases:
            needle = _alias_tokens(alias)
            size = len(needle)
            if not size:
                continue
            matches.extend(
                (i, i + size, key)
                for i in positions.get(needle[0], ())
                if tuple(words[i : i + size]) == needle
            )
    matches.sort(key=lambda m: (m[0] - m[1], m[0]))  # longest first
    kept: list[tuple[int, int, str]] = []
    for start, end, key in matches:
        clash = [k for k in kept if k[0] < end and start < k[1] and (k[0], k[1]) != (start, end)]
        if not clash:
            kept.append((start, end, key))
    return list(_unique(key for _, _, key in sorted(kept)))
