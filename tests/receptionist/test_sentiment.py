"""Sentiment in [-1, 1]: VADER for English, our lexicon for Spanish, emoji in both."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.sentiment import sentiment


@pytest.mark.parametrize(
    "text",
    [
        "Es una vergüenza cómo me trató la recepcionista",
        "Fatal servicio, no pienso volver",
        "estoy harto de esperar",
        "La doctora fue muy borde conmigo",
        "Me parece fatal que no me informaran de nada",
        "no me gusta nada",
        "poco amable la verdad",
        "me habéis atendido fatal 😡",
        "el trato es bueno pero el precio es carísimo",
        "Llevo una hora esperando y nadie me atiende",
    ],
)
def test_spanish_negative(text: str) -> None:
    assert sentiment(text, "es") < -0.2


@pytest.mark.parametrize(
    "text",
    [
        "Muchas gracias, muy amable",
        "Genial, perfecto, hasta mañana",
        "Me encanta la clínica 😍",
        "buenísimo el trato",
        "no está mal",
        "sin problema",
        "estoy muy contenta con el resultado",
    ],
)
def test_spanish_positive(text: str) -> None:
    assert sentiment(text, "es") > 0.2


@pytest.mark.parametrize(
    "text",
    [
        "Quiero pedir cita",
        "Buenos días",
        "buenas tardes, quería pedir hora por la tarde",
        "¿A qué hora abrís?",
        "mi teléfono es 612 345 678",
        "",
        "   ",
    ],
)
def test_spanish_neutral(text: str) -> None:
    assert sentiment(text, "es") == 0.0


def test_negation_flips() -> None:
    assert sentiment("estoy satisfecho", "es") > 0
    assert sentiment("no estoy satisfecho", "es") < 0
    assert sentiment("nunca me han tratado bien", "es") < 0


def test_intensifiers_caps_and_exclamations_strengthen() -> None:
    plain = sentiment("estoy enfadado", "es")
    assert sentiment("estoy muy enfadado", "es") < plain
    assert sentiment("estoy ENFADADO", "es") < plain
    assert sentiment("estoy enfadado!!!", "es") < plain
    assert sentiment("es súper amable", "es") > sentiment("es amable", "es")


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Terrible service, nobody called me back", -1),
        ("Thank you so much, you were brilliant", 1),
        ("I want to book a cleaning", 0),
        ("thanks 👍", 1),
        ("Terrible service 👎", -1),
    ],
)
def test_english(text: str, sign: int) -> None:
    score = sentiment(text, "en")
    if sign == 0:
        assert abs(score) < 0.2
    else:
        assert score * sign > 0.3


@pytest.mark.parametrize(("text", "positive"), [("👍", True), ("😡😡", False), ("🙂🙂", True)])
def test_emoji_only(text: str, positive: bool) -> None:
    for language in ("es", "en"):
        score = sentiment(text, language)  # type: ignore[arg-type]
        assert (score > 0.2) if positive else (score < -0.2)


@pytest.mark.parametrize("text", ["x" * 10_000, "!!!" * 3000, "no " * 3000, "😡" * 3000])
def test_bounded_on_odd_input(text: str) -> None:
    for language in ("es", "en"):
        assert -1.0 <= sentiment(text, language) <= 1.0  # type: ignore[arg-type]
