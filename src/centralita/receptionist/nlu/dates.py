"""Dates and times in Spanish or English speech, resolved in the tenant's time zone.

Duckling does the parsing. What it gets wrong, observed with pyduckling-native-phihos 0.3.0
(reference Friday 2026-11-20 10:00 Europe/Madrid unless stated):

* ``body`` is mis-decoded for non-ASCII text ("maÃ±ana"), so spans come from ``start``/``end``,
  which are character offsets into the original string.
* "el martes que viene" always skips the nearest Tuesday: on Friday 20th and on Monday 23rd it
  gives Tuesday 1 December, where most callers mean the 24th. "el próximo martes" and
  "next Tuesday" give the 24th on a Friday but 1 December on a Monday. We pass this through
  unchanged; the dialogue confirms the date with the caller.
* A bare hour is read as the first future match of a 12-hour clock: "a las cinco" said at
  10:00 for a future day is 05:00, with 17:00 only as an alternative. Alternatives are kept.
* "mañana por la mañana" comes back twice with the same span: once as this morning (04:00 to
  12:00 today, i.e. "mañana" read as "morning") and once as tomorrow morning. We keep the
  reading with fewest alternatives, which is the specific one.
* Part-of-day bounds differ by language: "tomorrow morning" is 00:00 to 12:00, "mañana por la
  mañana" 04:00 to 12:00; afternoons are 12:00 to 19:00 in both.
* "antes de las cinco" and "después de las cinco" lose their preposition: only "las cinco" is
  recognised, as a point. The English "before 5pm" is an interval open at its start.
* "between 4 and 6 pm" puts 04:00 to 19:00 first and the intended 16:00 to 19:00 second.
* Digit groups are read as dates: in "call me on 600 11 12 22" the "11 12 22" becomes
  12 November 2022. Callers of this module drop readings that overlap a phone number.
* An unknown time zone name silently becomes UTC, so we check it with ``zoneinfo`` first.
* Words that are no date at all come back as times: "ya", "ahora", "now" as the present
  moment, a bare "una" or "uno" as 13:00 or the 1st, "1.000 €" as the year 1000, and "los
  viernes" (every Friday) as next Friday. ``parse_when`` drops those readings (see
  ``_not_a_date``): a caller who says "now" wants someone at once, which urgency covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from centralita.core.text import fold as _fold
from centralita.receptionist.nlu.language import Language

PartOfDay = Literal["morning", "afternoon", "evening"]

_ZONEINFO = "/usr/share/zoneinfo"
_DUCKLING_LANGUAGES: dict[Language, str] = {"es": "ES", "en": "EN"}


@dataclass(frozen=True)
class When:
    """A time the caller mentioned: a point (``end`` is None) or an interval."""

    start: datetime
    end: datetime | None
    grain: str
    text_span: tuple[int, int]
    is_interval: bool
    # Other readings Duckling offered for the same words, e.g. 17:00 for "a las cinco".
    alternatives: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class _Duckling:
    module: Any
    time_zones: Any
    dimensions: Any


@cache
def _duckling() -> _Duckling:
    # Importing duckling starts the Haskell runtime, so it happens on first use, once.
    import duckling

    return _Duckling(
        module=duckling,
        time_zones=duckling.load_time_zones(_ZONEINFO),
        dimensions=duckling.parse_dimensions(["time"]),
    )


@cache
def _locale(language: Language) -> Any:
    module = _duckling().module
    return module.default_locale_lang(module.parse_lang(_DUCKLING_LANGUAGES[language]))


def _raw_parse(text: str, language: Language, now: datetime, timezone: str) -> list[Any]:
    engine = _duckling()
    ref_time = engine.module.parse_ref_time(engine.time_zones, timezone, int(now.timestamp()))
    context = engine.module.Context(ref_time, _locale(language))
    result: list[Any] = engine.module.parse(text, context, engine.dimensions, False)
    return result


def _moment(raw: dict[str, Any] | None, zone: ZoneInfo) -> datetime | None:
    if not raw or "value" not in raw:
        return None
    return datetime.fromisoformat(str(raw["value"])).astimezone(zone)


def _reading_start(reading: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    if reading.get("type") == "interval":
        return _moment(reading.get("from"), zone)
    return _moment(reading, zone)


def _to_when(entity: dict[str, Any], zone: ZoneInfo, now: datetime) -> When | None:
    value: dict[str, Any] = entity["value"]
    span = (int(entity["start"]), int(entity["end"]))
    others = [_reading_start(r, zone) for r in value.get("values", [])[1:]]
    alternatives = tuple(o for o in others if o is not None)
    if value.get("type") == "interval":
        start = _moment(value.get("from"), zone)
        end = _moment(value.get("to"), zone)
        bound = value.get("from") or value.get("to") or {}
        grain = str(bound.get("grain", "hour"))
        if start is None and end is None:
            return None
        # "before 5pm" has no start: it runs from the moment of speaking.
        return When(start or now.astimezone(zone), end, grain, span, True, alternatives)
    start = _moment(value, zone)
    if start is None:
        return None
    return When(start, None, str(value.get("grain", "second")), span, False, alternatives)


_NOW_WORDS = re.compile(
    r"^(?:ya|ya mismo|ahora|ahora mismo|ahorita|luego|enseguida|en seguida|inmediatamente|"
    r"now|right now|just now|currently|at the moment|immediately|straight away|right away)$"
)
_BARE_NUMBER = re.compile(
    r"^(?:\d+(?:[.,]\d+)*|\d+(?:a|o|st|nd|rd|th)|un|una|uno|dos|tres|cuatro|cinco|seis|siete|"
    r"ocho|nueve|diez|once|doce|veinte|treinta|cuarenta|cincuenta|cien|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred)$"
)
_WEEKDAYS = (
    r"(?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?|mondays|tuesdays|"
    r"wednesdays|thursdays|fridays|saturdays|sundays)"
)
_RECURRING = re.compile(rf"(?:^|\b)(?:los|todos los|cada|every|on) {_WEEKDAYS}$")


def _not_a_date(text: str, when: When, now: datetime) -> bool:
    """True for the readings Duckling makes of words that name no date (see module notes)."""
    start, end = when.text_span
    piece = " ".join(re.sub(r"[^\w]+", " ", _fold(text[start:end])).split())
    if _NOW_WORDS.match(piece) or _BARE_NUMBER.match(piece):
        return True
    if not now.year - 2 <= when.start.year <= now.year + 3:
        return True
    before = " ".join(re.sub(r"[^\w]+", " ", _fold(text[max(0, start - 14) : end])).split())
    if _RECURRING.search(before):
        return True  # "los viernes", "on Fridays": every week, no one date
    return bool(
        re.fullmatch(
            r"(?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|"
            r"sundays)",
            piece,
        )
    )


# A sentence with none of these has no date for Duckling to find; skipping it keeps a long
# e-mail's parse short (Duckling's time grows with the text: 5 ms for 500 characters).
_TIME_CUE = re.compile(
    r"\d|\b(?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?|enero|febrero|marzo|abril|"
    r"mayo|junio|julio|agosto|se?ptiembre|octubre|noviembre|diciembre|hoy|oi|manana|manan|mana|"
    r"mñana|ayer|pasado|tardes?|noches?|madrugada|mediodia|semanas?|mes|meses|ano|anos|finde|"
    r"horas?|minutos?|dentro|las|una|proxim[oa]|que viene|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun|january|february|"
    r"march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|"
    r"jul|aug|sep|sept|oct|nov|dec|today|tomorrow|tomorow|tmrw|tmr|tmw|yesterday|tonight|"
    r"morning|mornings|afternoons?|evenings?|noon|midday|midnight|weeks?|weekend|months?|years?|"
    r"oclock|half|quarter|hours?|minutes?|next|this|last|past|ago|in|at|by|before|after|until|"
    r"till|from|on)\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _parse_sentences(text: str, language: Language, now: datetime, timezone: str) -> list[Any]:
    """Duckling's entities for the sentences of ``text`` that may hold a date, with spans
    shifted back to offsets into ``text``. Relative dates ("el lunes", "tomorrow") do not
    cross sentences, so nothing is lost by parsing each on its own."""
    found: list[Any] = []
    start = 0
    bounds = [m.span() for m in _SENTENCE_END.finditer(text)] + [(len(text), len(text))]
    for end, after in bounds:
        sentence = text[start:end]
        if sentence.strip() and _TIME_CUE.search(_fold(sentence)):
            for entity in _raw_parse(sentence, language, now, timezone):
                entity["start"] = int(entity["start"]) + start
                entity["end"] = int(entity["end"]) + start
                found.append(entity)
        start = after
    return found


def parse_when(text: str, *, language: Language, now: datetime, timezone: str) -> list[When]:
    """Every date or time mentioned in ``text``, in order, resolved against ``now`` and
    expressed in ``timezone``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)  # raises for unknown names, which Duckling would treat as UTC
    best: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
    for entity in _parse_sentences(text, language, now, timezone):
        if entity.get("dim") != "time":
            continue
        span = (int(entity["start"]), int(entity["end"]))
        readings = len(entity["value"].get("values", [])) or 1
        if span not in best or readings < best[span][0]:
            best[span] = (readings, entity)
    whens = (_to_when(entity, zone, now) for _, entity in best.values())
    return sorted(
        (w for w in whens if w is not None and not _not_a_date(text, w, now)),
        key=lambda w: w.text_span,
    )


# Matched on accent-folded lower case. A bare "mañana" means tomorrow and a bare "tarde" can
# mean late, so Spanish needs the article.
_PART_OF_DAY: dict[Language, tuple[tuple[re.Pattern[str], PartOfDay], ...]] = {
    "es": (
        (re.compile(r"\b(?:por|de|en|a|esta) la manana\b|\besta manana\b"), "morning"),
        (re.compile(r"\b(?:por|de|en|a|esta) la tarde\b|\besta tarde\b"), "afternoon"),
        (re.compile(r"\b(?:por|de|en|a|esta) la noche\b|\besta noche\b"), "evening"),
    ),
    "en": (
        (re.compile(r"\bmornings?\b"), "morning"),
        (re.compile(r"\bafternoons?\b"), "afternoon"),
        (re.compile(r"\b(?:evenings?|tonight|at night)\b"), "evening"),
    ),
}


def part_of_day_hint(text: str, language: Language) -> PartOfDay | None:
    """The part of the day the caller asked for ("por la tarde", "in the morning"), if any;
    the first one mentioned wins."""
    folded = _fold(text)
    found: list[tuple[int, PartOfDay]] = []
    for pattern, part in _PART_OF_DAY[language]:
        match = pattern.search(folded)
        if match:
            found.append((match.start(), part))
    return min(found)[1] if found else None
