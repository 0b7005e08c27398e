"""Asking for a person, saying yes, saying no: in chat and speech style, both languages."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.cues import affirm, deny, wants_human


@pytest.mark.parametrize(
    "text",
    [
        "quiero hablar con una persona",
        "Quiero hablar con un humano",
        "pásame con alguien",
        "me pasas con alguien de la clínica",
        "operadora",
        "Operador por favor",
        "hablar con recepción",
        "quiero hablar con recepcion",
        "hablar con una presona por favor",  # typo
        "quiero hablar con un umano",  # speech-to-text drops the h
        "no quiero hablar con una máquina",
        "un humano por favor",
        "¿Me pone con alguien del despacho?",
        "agent please",
        "AGENT!!!",
        "real person",
        "representative",
        "can I speak to someone",
        "I want to speak to a human",
        "put me through to reception please",
        "talk to a real human",
        "let me talk to somebody",
        "i need to speak with an operator",
        "get me a human",
        "speak to a representitive",  # typo
    ],
)
def test_wants_human(text: str) -> None:
    assert wants_human(text, "es")
    assert wants_human(text, "en")  # the cue does not depend on the detected language


@pytest.mark.parametrize(
    "text",
    [
        "quiero pedir cita para una persona mayor",
        "Quiero hablar con la doctora García",  # a staff mention, not "a person"
        "somos dos personas",
        "hola",
        "I'd like to book an appointment",
        "Is this a robot?",
        "the person at reception was rude",
        "",
        "🙂",
    ],
)
def test_does_not_want_human(text: str) -> None:
    assert not wants_human(text, "es")


AFFIRMATIONS = [
    "sí",
    "Si",
    "sii",
    "vale",
    "ok",
    "OK!",
    "perfecto",
    "de acuerdo",
    "claro",
    "pues sí",
    "vale, gracias",
    "sí por favor",
    "Sí, el martes me viene bien",
    "me viene bien",
    "no hay problema",
    "yes",
    "yeah",
    "yep",
    "sure",
    "that works",
    "that works for me",
    "correct",
    "yes please",
    "sounds good",
    "Okay",
    "👍",
]
DENIALS = [
    "no",
    "No.",
    "nope",
    "ninguna",
    "ninguno",
    "none",
    "none of those",
    "no me viene bien",
    "no, mejor otro día",
    "no gracias",
    "Ninguna de las dos me va bien",
    "vale pero no me viene bien",
    "no thanks",
    "No, thank you",
    "that doesn't work for me",
    "neither",
    "nah",
]


@pytest.mark.parametrize("text", AFFIRMATIONS)
def test_affirm(text: str) -> None:
    assert affirm(text, "es")
    assert not deny(text, "es")


@pytest.mark.parametrize("text", DENIALS)
def test_deny(text: str) -> None:
    assert deny(text, "es")
    assert not affirm(text, "es")


@pytest.mark.parametrize(
    "text",
    [
        "no sé",
        "no lo sé",
        "I don't know",
        "not sure",
        "quiero pedir cita",
        "hola",
        "gracias",
        "ok so I want to book an appointment for tomorrow at five with the hygienist please",
        "",
        "   ",
        "🙂" * 50,
        "sí " * 5000,
    ],
)
def test_neither(text: str) -> None:
    assert not affirm(text, "es")
    assert not deny(text, "es")
