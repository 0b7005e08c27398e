"""Spam scoring: rules, the embedding model, agent feedback, and never a genuine customer."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.intents import (
    TEST_FILE,
    EmbeddingIntentClassifier,
    default_classifier,
    flatten,
    load_examples,
)
from centralita.receptionist.nlu.result import SpamExample
from centralita.receptionist.nlu.spam import (
    SPAM_THRESHOLD,
    SpamScorer,
    default_scorer,
    load_sms,
    rule_hit,
)


@pytest.fixture(scope="module")
def scorer() -> SpamScorer:
    return default_scorer()


@pytest.fixture(scope="module")
def classifier() -> EmbeddingIntentClassifier:
    return default_classifier()


def score(
    scorer: SpamScorer,
    classifier: EmbeddingIntentClassifier,
    text: str,
    feedback: tuple[SpamExample, ...] = (),
) -> float:
    ranking = classifier.classify(text, language="es").ranking
    return scorer.score(text, "es", intent_ranking=ranking, feedback=feedback)


SPAM = [
    "Enhorabuena, ha ganado un premio, llame ahora",
    "le interesa aparecer en los primeros resultados de google",
    "Le ofrecemos posicionamiento web para su clínica",
    "¿Quiere cambiar de compañía de luz? Le ahorramos un 20%",
    "mensaje grabado su número ha sido elegido pulse 1 para hablar con un agente",
    "soy asesora de una empresa de telefonía tiene un minuto para una oferta",
    "hola es usted el dueño del negocio le quiero ofrecer un servicio de limpieza de oficinas",
    "quería hablar con la persona que lleva las compras de material de la clínica",
    "Congratulations, you've won a free cruise, press 1",
    "we noticed your practice isnt ranking on google we can fix that",
    "this is an automated call about your vehicle warranty",
    "hi im calling on behalf of a marketing agency that helps law firms get more clients",
    "can i speak to the person who handles your office supplies",
    "we offer solar panels for businesses with zero upfront cost",
]
# Genuine callers written to look like spam: offers, discounts, companies, lotteries, surveys.
GENUINE = [
    "me habéis cobrado la limpieza dos veces en la tarjeta",
    "quiero una factura a nombre de mi empresa",
    "tenéis alguna oferta en blanqueamiento",
    "hacéis descuento a familias numerosas",
    "mi empresa me paga el seguro dental, ¿trabajáis con él?",
    "le llamo de la empresa de mi marido para cambiar su cita",
    "he visto vuestra página en google y quería información",
    "me llamaron de vuestra parte para una encuesta de satisfacción",
    "Quiero poner una queja, la recepcionista fue muy borde",
    "La minuta es más alta de lo que presupuestasteis",
    "i saw your website on google and wanted some information",
    "i just won the lottery and want to make a will",
    "i'm a supplier for your clinic and need to talk about an unpaid invoice",
    "do you have any offers on whitening",
    "my employer pays for my dental plan, do you accept it?",
    "You charged me twice for the same visit, I want a refund",
    "I want to complain about the bill",
    "your website says you're open saturday is that right",
]


@pytest.mark.parametrize("text", SPAM)
def test_spam(scorer: SpamScorer, classifier: EmbeddingIntentClassifier, text: str) -> None:
    assert score(scorer, classifier, text) >= SPAM_THRESHOLD


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_customers_are_not_spam(
    scorer: SpamScorer, classifier: EmbeddingIntentClassifier, text: str
) -> None:
    assert score(scorer, classifier, text) < SPAM_THRESHOLD


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("has ganado un iPhone", True),
        ("servicio de SEO para su web", True),
        ("posicionamiento web", True),
        ("cambiar de compañía de luz", True),
        ("pulse 1 para hablar con un operador", True),
        ("press 1 to claim your prize", True),
        ("he ganado el juicio", False),
        ("mi factura de la luz la paga mi casero", False),
        ("¿tenéis ofertas?", False),
    ],
)
def test_rules(text: str, hit: bool) -> None:
    assert rule_hit(text) is hit


def test_feedback_marks_similar_messages_as_spam(
    scorer: SpamScorer, classifier: EmbeddingIntentClassifier
) -> None:
    text = "Hola, soy Pedro de Dentalia, os llamo por el pedido de guantes de este mes"
    marked = "Buenas, soy Pedro de Dentalia, os llamo por el pedido de guantes de esta semana"
    assert score(scorer, classifier, text) < SPAM_THRESHOLD
    feedback = (SpamExample(marked, is_spam=True),)
    assert score(scorer, classifier, text, feedback) >= SPAM_THRESHOLD
    # an unrelated message is not affected
    assert score(scorer, classifier, "¿Cuál es vuestro horario?", feedback) < SPAM_THRESHOLD


def test_feedback_marks_similar_messages_as_not_spam(
    scorer: SpamScorer, classifier: EmbeddingIntentClassifier
) -> None:
    text = "Le llamamos para ofrecerle una tarifa de luz más barata"
    marked = "Les llamamos para ofrecerles una tarifa de luz más barata"
    assert score(scorer, classifier, text) >= SPAM_THRESHOLD
    feedback = (SpamExample(marked, is_spam=False),)
    assert score(scorer, classifier, text, feedback) < SPAM_THRESHOLD


def test_nearer_feedback_wins(scorer: SpamScorer, classifier: EmbeddingIntentClassifier) -> None:
    text = "Le llamamos para ofrecerle una tarifa de luz más barata"
    feedback = (
        SpamExample(text, is_spam=False),  # identical
        SpamExample("Les llamamos para ofrecerles una tarifa de luz más barata", is_spam=True),
    )
    assert score(scorer, classifier, text, feedback) < SPAM_THRESHOLD


def test_held_out_spam_precision(scorer: SpamScorer, classifier: EmbeddingIntentClassifier) -> None:
    texts, intents, _ = flatten(load_examples(TEST_FILE))
    results = classifier.classify_many(texts)
    flagged = [
        (text, intent)
        for text, intent, result in zip(texts, intents, results, strict=True)
        if scorer.score(text, "es", intent_ranking=result.ranking) >= SPAM_THRESHOLD
    ]
    false_alarms = [pair for pair in flagged if pair[1] != "sales_spam"]
    assert not false_alarms
    assert len(flagged) >= 14  # of 18; measured 15 (docs/nlu.md)


@pytest.mark.parametrize("text", ["", "   ", "🙂", "x" * 10_000])
def test_odd_input(scorer: SpamScorer, text: str) -> None:
    assert 0.0 <= scorer.score(text, "es") <= 1.0


def test_empty_text_is_never_spam(scorer: SpamScorer) -> None:
    assert scorer.score("", "es") == 0.0


def test_sms_collection_is_shipped() -> None:
    messages = load_sms()
    assert len(messages) == 5574
    assert sum(spam for _, spam in messages) == 747
