"""Dates in speech: Duckling's readings as we expose them, including the ones it gets wrong."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.receptionist.nlu.dates import When, parse_when, part_of_day_hint

MADRID = "Europe/Madrid"
TZ = ZoneInfo(MADRID)
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def only(text: str, language: str, now: datetime = FRIDAY, timezone: str = MADRID) -> When:
    found = parse_when(text, language=language, now=now, timezone=timezone)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "language", "now", "start", "end", "grain"),
    [
        ("mañana por la tarde", "es", FRIDAY, at(21, 12), at(21, 19), "hour"),
        ("pasado mañana a las 10", "es", FRIDAY, at(22, 10), None, "hour"),
        ("a las cinco y media", "es", FRIDAY, at(20, 17, 30), None, "minute"),
        ("mañana a las cinco de la tarde", "es", FRIDAY, at(21, 17), None, "hour"),
        ("esta tarde", "es", FRIDAY, at(20, 12), at(20, 19), "hour"),
        ("el lunes a las nueve y cuarto", "es", FRIDAY, at(23, 9, 15), None, "minute"),
        ("hoy", "es", FRIDAY, at(20), None, "day"),
        ("tomorrow morning", "en", FRIDAY, at(21, 0), at(21, 12), "hour"),
        ("this afternoon", "en", FRIDAY, at(20, 12), at(20, 19), "hour"),
        ("tomorrow at 5pm", "en", FRIDAY, at(21, 17), None, "hour"),
        ("tonight", "en", FRIDAY, at(20, 18), at(21, 0), "hour"),
        ("after 5pm", "en", FRIDAY, at(20, 17), None, "hour"),
        # Open at the start: runs from the moment of speaking.
        ("before 5pm", "en", FRIDAY, FRIDAY, at(20, 17), "hour"),
    ],
)
def test_phrases(
    text: str, language: str, now: datetime, start: datetime, end: datetime | None, grain: str
) -> None:
    when = only(text, language, now)
    assert (when.start, when.end, when.grain) == (start, end, grain)
    assert when.is_interval == (end is not None or text.startswith(("after", "before")))
    assert when.text_span == (0, len(text))
    assert when.start.tzinfo == TZ


@pytest.mark.parametrize(
    ("text", "language", "now", "start", "alternative"),
    [
        # Duckling skips the nearest Tuesday for "que viene", on a Friday (24th expected)
        # and on a Monday (24th is tomorrow). The dialogue confirms the date with the caller.
        ("el martes que viene a las cinco", "es", FRIDAY, at(1, 5, month=12), at(1, 17, month=12)),
        ("el martes que viene a las cinco", "es", MONDAY, at(1, 5, month=12), at(1, 17, month=12)),
        # "next Tuesday" is the coming one on a Friday, the one after on a Monday.
        ("next Tuesday at 5", "en", FRIDAY, at(24, 5), at(24, 17)),
        ("next Tuesday at 5", "en", MONDAY, at(1, 5, month=12), at(1, 17, month=12)),
        ("el próximo martes a las cinco", "es", FRIDAY, at(24, 5), at(24, 17)),
    ],
)
def test_observed_week_and_clock_ambiguity(
    text: str, language: str, now: datetime, start: datetime, alternative: datetime
) -> None:
    # A bare "a las cinco" comes back as 05:00 first, with 17:00 as the alternative.
    when = only(text, language, now)
    assert when.start == start
    assert when.alternatives[0] == alternative
    assert when.grain == "hour"
    assert not when.is_interval


def test_duplicate_readings_keep_the_specific_one() -> None:
    # Duckling also reads "mañana por la mañana" as this morning; we keep tomorrow.
    when = only("mañana por la mañana", "es")
    assert (when.start, when.end, when.is_interval) == (at(21, 4), at(21, 12), True)


def test_spans_are_offsets_into_the_original_text_with_accents() -> None:
    text = "Sí, ¿mañana a las 10? Y también el miércoles."
    found = parse_when(text, language="es", now=FRIDAY, timezone=MADRID)
    assert [text[w.text_span[0] : w.text_span[1]] for w in found] == [
        "mañana a las 10",
        "el miércoles",
    ]
    assert [w.start for w in found] == [at(21, 10), at(25)]


def test_dst_spring_forward() -> None:
    saturday = datetime(2026, 3, 28, 10, 0, tzinfo=TZ)
    when = only("mañana a las 10", "es", saturday)
    assert when.start == datetime(2026, 3, 29, 10, 0, tzinfo=TZ)
    assert when.start.utcoffset() is not None
    assert when.start.utcoffset().total_seconds() == 2 * 3600  # type: ignore[union-attr]


def test_results_are_in_the_tenant_zone() -> None:
    utc_now = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("UTC"))
    when = only("tomorrow at 10am", "en", utc_now, "America/New_York")
    assert when.start == datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert when.start.tzinfo == ZoneInfo("America/New_York")


def test_nothing_to_find() -> None:
    assert parse_when("quiero pedir cita", language="es", now=FRIDAY, timezone=MADRID) == []
    assert parse_when("", language="en", now=FRIDAY, timezone=MADRID) == []


def test_rejects_naive_now_and_unknown_zone() -> None:
    with pytest.raises(ValueError):
        parse_when("mañana", language="es", now=datetime(2026, 11, 20), timezone=MADRID)
    with pytest.raises(Exception, match="Nope"):
        parse_when("mañana", language="es", now=FRIDAY, timezone="Nope/Zone")


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("mañana por la tarde", "es", "afternoon"),
        ("mejor por la mañana", "es", "morning"),
        ("a las ocho de la noche", "es", "evening"),
        ("esta tarde si puede ser", "es", "afternoon"),
        ("Por La Mañana, y si no por la tarde", "es", "morning"),
        ("mañana", "es", None),  # tomorrow, not morning
        ("llego tarde", "es", None),  # late, not afternoon
        ("in the afternoon", "en", "afternoon"),
        ("tomorrow morning", "en", "morning"),
        ("tonight please", "en", "evening"),
        ("any evening next week", "en", "evening"),
        ("tomorrow", "en", None),
    ],
)
def test_part_of_day_hint(text: str, language: str, expected: str | None) -> None:
    assert part_of_day_hint(text, language) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿Me pueden ver ya?", "es"),
        ("estoy conduciendo ahora, le llamo luego", "es"),
        ("can someone see me right now", "en"),
        ("he pagado una parte", "es"),  # "una" is 13:00 to Duckling
        ("para confirmar pulse uno", "es"),  # "uno" is the 1st
        ("ha ganado un premio de 1.000 €", "es"),  # the year 1000
        ("¿teneis cita x la tarde los viernes?", "es"),  # every Friday
        ("What are your opening hours on Fridays?", "en"),
    ],
)
def test_words_that_name_no_date_give_nothing(text: str, language: str) -> None:
    assert parse_when(text, language=language, now=FRIDAY, timezone=MADRID) == []  # type: ignore[arg-type]


def test_a_day_with_those_words_is_still_found() -> None:
    found = parse_when("ya, el lunes a las diez", language="es", now=FRIDAY, timezone=MADRID)
    assert [w.start for w in found] == [at(23, 10)]
    assert only("el viernes a las cinco de la tarde", "es").start == at(20, 17)
