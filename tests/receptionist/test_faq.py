"""FAQ retrieval on the demo tenants: accuracy, refusals, verbatim answers, language fallback."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from centralita.demo import demo_tenant_text
from centralita.receptionist.faq import (
    DEFAULT_THRESHOLD,
    FaqIndex,
    FaqItem,
    items_from_document,
)
from centralita.receptionist.nlu.intents import Vectors
from centralita.tenants.config.loader import load_tenant_document
from centralita.tenants.config.schema import TenantDocument
from tests.receptionist.faq_cases import ANSWERABLE, DENTAL, LAW, UNANSWERABLE, Lang

# Measured on 2026-11-22 with faq_cases.py (which also chose DEFAULT_THRESHOLD = 0.53, so these
# are optimistic; see docs/nlu.md, "FAQ retrieval"):
#   top-1 accuracy, no threshold:        dental es 16/18 0.89, en 12/16 0.75;
#                                        law    es 15/16 0.94, en 14/17 0.82
#   answered correctly at the threshold: dental es 0.78, en 0.69; law es 0.62, en 0.53
#   unanswerable refused at threshold:   dental es 10/10, en 9/10; law es 9/10, en 9/10
# The floors sit about one question below, so a change that costs accuracy fails loudly.
TOP1_FLOOR: dict[tuple[str, Lang], float] = {
    (DENTAL, "es"): 0.83,
    (DENTAL, "en"): 0.68,
    (LAW, "es"): 0.87,
    (LAW, "en"): 0.76,
}
ANSWERED_FLOOR: dict[tuple[str, Lang], float] = {
    (DENTAL, "es"): 0.72,
    (DENTAL, "en"): 0.62,
    (LAW, "es"): 0.56,
    (LAW, "en"): 0.47,
}
REFUSAL_FLOOR = 0.8
CELLS = sorted(TOP1_FLOOR)


def _document(slug: str) -> TenantDocument:
    return load_tenant_document(demo_tenant_text(slug), filename=f"{slug}.yaml")


@pytest.fixture(scope="module")
def indexes() -> dict[str, FaqIndex]:
    return {slug: FaqIndex.build(items_from_document(_document(slug))) for slug in ANSWERABLE}


def _cases(slug: str, language: Lang) -> list[tuple[str, tuple[str, ...]]]:
    return [(q, keys) for lang, q, keys in ANSWERABLE[slug] if lang == language]


@pytest.mark.parametrize(("slug", "language"), CELLS)
def test_top1_accuracy(indexes: dict[str, FaqIndex], slug: str, language: Lang) -> None:
    cases = _cases(slug, language)
    found = indexes[slug].best([q for q, _ in cases])
    wrong = [
        (q, keys, hit[0].key if hit else None)
        for (q, keys), hit in zip(cases, found, strict=True)
        if hit is None or hit[0].key not in keys
    ]
    accuracy = 1 - len(wrong) / len(cases)
    assert accuracy >= TOP1_FLOOR[(slug, language)], wrong


@pytest.mark.parametrize(("slug", "language"), CELLS)
def test_answered_correctly_at_default_threshold(
    indexes: dict[str, FaqIndex], slug: str, language: Lang
) -> None:
    cases = _cases(slug, language)
    answers = indexes[slug].answer_many([q for q, _ in cases], language=language)
    right = sum(
        1 for (_, keys), a in zip(cases, answers, strict=True) if a is not None and a.key in keys
    )
    assert right / len(cases) >= ANSWERED_FLOOR[(slug, language)]


@pytest.mark.parametrize(("slug", "language"), CELLS)
def test_refuses_unanswerable(indexes: dict[str, FaqIndex], slug: str, language: Lang) -> None:
    questions = [q for lang, q in UNANSWERABLE[slug] if lang == language]
    answers = indexes[slug].answer_many(questions, language=language)
    answered = [(q, a.key, round(a.score, 3)) for q, a in zip(questions, answers, strict=True) if a]
    assert 1 - len(answered) / len(questions) >= REFUSAL_FLOOR, answered


def test_cases_use_known_keys() -> None:
    for slug, cases in ANSWERABLE.items():
        keys = {item.key for item in items_from_document(_document(slug))}
        assert len(keys) == len(items_from_document(_document(slug))), "keys must not collide"
        for _, question, expected in cases:
            assert set(expected) <= keys, question
        assert len({q for _, q, _ in cases} & {q for _, q in UNANSWERABLE[slug]}) == 0


@pytest.mark.parametrize("slug", sorted(ANSWERABLE))
def test_answers_are_the_documents_words(indexes: dict[str, FaqIndex], slug: str) -> None:
    doc = _document(slug)
    faq = {entry.key: entry for entry in doc.faq}
    services = {service.key: service for service in doc.services}
    for language, question, _ in ANSWERABLE[slug]:
        answer = indexes[slug].answer(question, language=language, threshold=0.0)
        assert answer is not None
        if answer.source == "faq":
            assert answer.text == faq[answer.key].answer.text(language)
        else:
            service = services[answer.key]
            assert answer.text.startswith(service.name.text(language))
            if service.description is not None:
                assert service.description.text(language) in answer.text
            if service.duration_minutes is not None:
                assert str(service.duration_minutes) in answer.text


def test_service_answer_states_price_and_duration() -> None:
    items = {i.key: i for i in items_from_document(_document(DENTAL))}
    assert items["empaste"].answer_es == (
        "Empaste. Obturación con composite del color del diente. Precio: desde 55 €. "
        "Duración: 30 minutos."
    )
    assert items["empaste"].answer_en == (
        "Filling. Tooth-coloured composite filling. Price: from 55 €. Duration: 30 minutes."
    )
    law = {i.key: i for i in items_from_document(_document(LAW))}
    assert law["remortgage"].answer_en == "Remortgage. Price: from £650."
    assert law["employment-dispute"].answer_en == (
        "Employment disputes. Unfair dismissal, discrimination and employment tribunal claims. "
        "Duration: 60 minutes."
    )
    # the law firm wrote nothing in Spanish, so there is no Spanish answer to give
    assert law["remortgage"].answer_es is None


def test_language_fallback(indexes: dict[str, FaqIndex]) -> None:
    # English-only document, Spanish caller: the English answer
    answer = indexes[LAW].answer("¿Trabajan con asistencia jurídica gratuita?", language="es")
    assert answer is not None
    assert answer.key == "legal-aid"
    assert answer.text.startswith("No, we don't hold a legal aid contract.")
    # and the other way round, with an item that only has a Spanish answer
    item = FaqItem("aparcamiento", ("¿Hay aparcamiento?",), "Sí, en la calle.", None, "faq")
    index = FaqIndex.build([item])
    answer = index.answer("Is there parking?", language="en", threshold=0.0)
    assert answer is not None
    assert answer.text == "Sí, en la calle."
    same = index.answer("¿Hay aparcamiento?", language="es")
    assert same is not None
    assert (same.key, same.text, same.source) == ("aparcamiento", "Sí, en la calle.", "faq")
    assert same.score == pytest.approx(1.0)


def _no_encoder(texts: Sequence[str]) -> Vectors:
    raise AssertionError("an empty index must not call the encoder")


def test_empty_faq_answers_nothing() -> None:
    text = "version: 1\ntenant: {slug: vacia, name: Vacía, timezone: Europe/Madrid}\n"
    items = items_from_document(load_tenant_document(text))
    assert items == []
    index = FaqIndex.build(items, encode=_no_encoder)
    assert index.answer("¿Cuál es su horario?", language="es", threshold=0.0) is None
    assert index.answer_many([], language="en") == []


def test_default_threshold_is_what_the_docs_say() -> None:
    assert DEFAULT_THRESHOLD == 0.53
