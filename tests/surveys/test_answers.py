"""Reading a customer's reply as a score: table tests, no database."""

from __future__ import annotations

import pytest

from centralita.surveys.answers import (
    choices,
    looks_like_attempt,
    parse_answer,
    question,
    reask,
    thanks,
)

CASES = [
    # kind, text, expected
    ("csat", "5", 5),
    ("csat", " 4 ", 4),
    ("csat", "4/5", 4),
    ("csat", "4 de 5", 4),
    ("csat", "4 out of 5", 4),
    ("csat", "5/5!!", 5),
    ("csat", "un 5", 5),
    ("csat", "cuatro", 4),
    ("csat", "Five", 5),
    ("csat", "excelente", 5),
    ("csat", "Excellent!", 5),
    ("csat", "muy bien", 5),
    ("csat", "bien", 4),
    ("csat", "regular", 3),
    ("csat", "mal", 2),
    ("csat", "muy mal", 1),
    ("csat", "fatal", 1),
    ("csat", "Muy satisfecho", 5),  # a list row's title, typed or tapped
    ("csat", "5 excelente", 5),  # number and word agree
    ("csat", "5, muy bien, gracias", 5),
    ("csat", "⭐⭐⭐⭐", 4),
    ("csat", "no muy bien", None),  # negated: only numbers count
    ("csat", "4 pero mal", None),  # number and word disagree
    ("csat", "4 o 5", None),
    ("csat", "4,5", None),
    ("csat", "4.5", None),
    ("csat", "3/4", None),  # another scale
    ("csat", "6", None),
    ("csat", "0", None),
    ("csat", "seis", None),
    ("csat", "⭐⭐⭐⭐⭐⭐", None),
    ("csat", "", None),
    ("csat", "asdfgh", None),
    ("csat", "gracias", None),
    ("csat", "¿puedo cambiar mi cita del día 5?", None),  # a question, not a rating
    ("csat", "quería preguntar si el martes 5 podéis atenderme por la tarde a las 4", None),
    ("nps", "10", 10),
    ("nps", "10!", 10),
    ("nps", "un 9", 9),
    ("nps", "nueve", 9),
    ("nps", "0", 0),
    ("nps", "cero", 0),
    ("nps", "10/10", 10),
    ("nps", "9 de 10", 9),
    ("nps", "11", None),
    ("nps", "excelente", None),  # words are not a 0-10 number
    ("nps", "8 o 9", None),
    ("nps", "ten", 10),
    ("ces", "7", 7),
    ("ces", "muy fácil", 7),
    ("ces", "very easy", 7),
    ("ces", "facil", 6),
    ("ces", "muy dificil", 1),
    ("ces", "8", None),
    ("ces", "0", None),
    ("unknown", "5", None),
]


@pytest.mark.parametrize(("kind", "text", "expected"), CASES)
def test_replies_read_as_scores(kind: str, text: str, expected: int | None) -> None:
    assert parse_answer(kind, text, "es") == expected


@pytest.mark.parametrize(
    ("kind", "reply_id", "text", "expected"),
    [
        ("csat", "csat:4", "Satisfecho", 4),
        ("csat", "csat:9", "whatever", None),  # an id out of range is not trusted...
        ("csat", "nps:4", "whatever", None),  # ...nor another survey's id
        ("csat", "menu:2", "Muy satisfecho", 5),  # then the title text decides
        ("ces", "ces:7", "Muy fácil", 7),
    ],
)
def test_button_replies_read_by_their_id(
    kind: str, reply_id: str, text: str, expected: int | None
) -> None:
    assert parse_answer(kind, text, "es", reply_id=reply_id) == expected


def test_choices_cover_the_scale_in_order_and_nps_has_none() -> None:
    csat = choices("csat", "es")
    assert [c.id for c in csat] == [f"csat:{n}" for n in range(1, 6)]
    assert csat[-1].title == "Muy satisfecho" and choices("csat", "en")[0].title.startswith("Very")
    assert [c.id for c in choices("ces", "en")] == [f"ces:{n}" for n in range(1, 8)]
    assert all(len(c.title) <= 24 for k in ("csat", "ces") for c in choices(k, "es"))
    assert choices("nps", "es") == ()  # eleven answers: more than a WhatsApp list holds
    # each title reads back as its own score, typed or tapped
    for kind in ("csat", "ces"):
        for lang in ("es", "en"):
            for c in choices(kind, lang):
                assert parse_answer(kind, c.title, lang) == int(c.id.split(":")[1]), c


def test_texts_come_in_both_languages() -> None:
    assert "1 (muy insatisfecho) al 5" in question("csat", "es")
    assert "From 0 to 10" in question("nps", "en")
    assert "1 (very difficult) to 7" in question("ces", "en-GB")
    assert reask("csat", "en").endswith("Please answer with a number from 1 to 5.")
    assert "del 0 al 10" in reask("nps", "es")
    assert thanks("es").startswith("¡Gracias") and thanks(None).startswith("¡Gracias")


@pytest.mark.parametrize(
    ("text", "attempt"),
    [("xyz", True), ("gracias", True), ("no sé", True), ("", False),
     ("¿cuándo abrís?", False), ("quería pedir otra cita para mi hijo la semana que viene", False)],
)  # fmt: skip
def test_an_attempt_is_short_and_asks_nothing(text: str, attempt: bool) -> None:
    assert looks_like_attempt(text) is attempt
