"""Urgency rules: every realistic emergency is caught; questions and claims are not."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.urgency import urgency

EMERGENCIES_ES = [
    "tengo una urgencia",
    "es una urgencia me sangra mucho la boca",
    "me sangra musho",
    "no para de sangrar desde que me sacaron la muela",
    "no puedo respirar bien",
    "tengo la cara hinchada",
    "se me ha hinchado la cara y tengo fiebre",
    "mi hijo ha tenido un accidente y se le ha roto un diente",
    "me han detenido",
    "a mi hijo lo han detenido esta noche",
    "estoy en comisaría necesito un abogado",
    "necesito una orden de alejamiento",
    "mi pareja me pega",
    "sufro violencia de género",
    "tengo un dolor insoportable de muelas",
    "me duele muchísimo no aguanto el dolor",
    "ME HAN DETENIDO Y NECESITO UN ABOGADO YA",
    "tengo un flemón enorme",
    "la policía está en mi casa",
    "Hola buenas es una emergencia",
    "me sale mucha sangre de la boca",
    "tengo el moflete hinchadísimo",
    "no puedo dormir del dolor",
    "mi hijo se ha dado un golpe en la boca",
    "se le ha saltado un diente al niño",
    "me an detenido",  # speech-to-text drops the h
    "a mi marido lo han llevado detenido",
    "mi ex no me devuelve a los niños",
]
EMERGENCIES_EN = [
    "this is an emergency",
    "I'm bleeding a lot after the extraction",
    "my gums are bleeding and it won't stop",
    "I can't breathe properly",
    "cant breathe my face is swollen",
    "my face has swollen up overnight",
    "I've been in an accident and knocked out a tooth",
    "my husband has been arrested",
    "I'm at the police station",
    "the police are at my door",
    "I need a restraining order",
    "my partner is violent and I'm scared",
    "I'm in severe pain",
    "the pain is unbearable",
    "my son was detained this morning",
    "I was assaulted last night",
    "im in agony please help",
    "there is so much blood",
    "I cant sleep because of the pain",
    "my sons tooth got knocked out",
    "he fell and hit his mouth on the table",
    "my brother is being held at the police station",
    "my partner hits me",
    "my landlord locked me out",
]


@pytest.mark.parametrize("text", EMERGENCIES_ES)
def test_spanish_emergencies(text: str) -> None:
    assert urgency(text, "es", intent="appointment_book", sentiment=-0.3) == "emergency"


@pytest.mark.parametrize("text", EMERGENCIES_EN)
def test_english_emergencies(text: str) -> None:
    assert urgency(text, "en", intent="message_for_staff", sentiment=-0.3) == "emergency"


@pytest.mark.parametrize("text", ["me han detenido", "my face is swollen"])
def test_emergency_even_when_misread_as_spam_or_info(text: str) -> None:
    for intent in ("sales_spam", "info", "other"):
        assert urgency(text, "es", intent=intent, sentiment=0.0) == "emergency"


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # questions about the service are not emergencies
        ("¿Atendéis urgencias los sábados?", "info", "high"),
        ("Do you do emergency appointments?", "info", "high"),
        # a past accident to claim for, mild bleeding when brushing
        (
            "tuve un accidente de tráfico hace dos años y quiero reclamar",
            "appointment_book",
            "normal",
        ),
        ("I had an accident at work last year, can I claim compensation?", "info", "low"),
        ("me sangran las encías al cepillarme", "appointment_book", "high"),
        ("my gums bleed a little when I brush", "appointment_book", "high"),
        ("I need a police check certificate for a job", "info", "low"),
        ("tengo miedo al dentista, ¿me podéis sedar?", "info", "low"),
        ("my daughter lost a baby tooth, is that normal?", "info", "low"),
        # high
        ("Es urgente, necesito cita", "appointment_book", "high"),
        ("quiero cita hoy mismo", "appointment_book", "high"),
        ("me duele una muela", "appointment_book", "high"),
        ("necesito una cita cuanto antes", "appointment_book", "high"),
        ("I need to see someone asap", "appointment_book", "high"),
        ("as soon as possible please", "appointment_book", "high"),
        ("I have a deadline tomorrow for the tribunal claim", "message_for_staff", "high"),
        ("my tooth hurts", "appointment_book", "high"),
        ("me han despedido y quiero saber qué hacer", "appointment_book", "high"),
        # low: information, yes / no, spam
        ("¿A qué hora abrís?", "info", "low"),
        ("¿El implante duele?", "info", "low"),
        ("How much is a cleaning?", "info", "low"),
        ("sí", "other", "low"),
        ("vale, perfecto", "other", "low"),
        ("no, gracias", "other", "low"),
        ("Le llamo para ofrecerle una tarifa de luz", "sales_spam", "low"),
        # normal
        ("quiero pedir cita", "appointment_book", "normal"),
        ("I'd like to leave a message for Mr Webb", "message_for_staff", "normal"),
        ("hola", "other", "normal"),
    ],
)
def test_table(text: str, intent: str, expected: str) -> None:
    assert urgency(text, "es", intent=intent, sentiment=0.0) == expected


def test_angry_complaint_is_high_and_mild_one_normal() -> None:
    text = "Quiero poner una queja por el trato"
    assert urgency(text, "es", intent="complaint", sentiment=-0.7) == "high"
    assert urgency(text, "es", intent="complaint", sentiment=-0.2) == "normal"


@pytest.mark.parametrize("text", ["", "   ", "🙂", "x" * 10_000, "urgencia " * 2000])
def test_odd_input(text: str) -> None:
    assert urgency(text, "es", intent="other", sentiment=0.0) in {
        "low",
        "normal",
        "high",
        "emergency",
    }


def test_words_inside_other_words_do_not_count() -> None:
    # "policy" is not "police", "sangría" is a drink, "accidentally" is not an accident
    for text in ("what is your cancellation policy", "una sangría por favor"):
        assert urgency(text, "es", intent="info", sentiment=0.0) == "low"


def test_the_emergency_model_is_a_backstop_for_unseen_phrasings() -> None:
    """The learned model (emergency.py) catches an emergency the rules have no phrase for, and
    the pipeline does not let it overrule a defused or routine turn."""
    from datetime import UTC, datetime

    from centralita.receptionist.nlu.emergency import default_model
    from centralita.receptionist.nlu.pipeline import default_engine
    from centralita.receptionist.nlu.result import NluContext

    unseen = (
        "my little boy fell off the trampoline and one of his front teeth is hanging by a thread"
    )
    routine = "Could I book a check-up and a clean next month?"
    model = default_model()
    assert model.probability(unseen) > model.probability(routine)
    context = NluContext(now=datetime(2026, 11, 20, 10, tzinfo=UTC), default_language="en")
    assert default_engine().analyse(routine, context).urgency != "emergency"
    price = "How much is an emergency appointment? Just asking for the future."
    assert default_engine().analyse(price, context).urgency != "emergency"
