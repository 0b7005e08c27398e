"""Intent classification: held-out accuracy per language, spam recall, table cases, data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from centralita.core.text import fold_words
from centralita.receptionist.nlu.intents import (
    INTENTS,
    TEST_FILE,
    TRAINING_FILE,
    EmbeddingIntentClassifier,
    default_classifier,
    flatten,
    load_examples,
    training_files,
)
from centralita.receptionist.nlu.language import LANGUAGES, Language

# Measured on 2026-11-22 by benchmarks/nlu_eval.py (see docs/nlu.md): es 0.897, en 0.921
# (0.770 / 0.849 before the second batch of training data and the lexical fusion). The floors
# sit a few points below so a data edit that costs accuracy fails loudly.
ACCURACY_FLOOR: dict[Language, float] = {"es": 0.86, "en": 0.88}


@pytest.fixture(scope="module")
def classifier() -> EmbeddingIntentClassifier:
    return default_classifier()


@pytest.fixture(scope="module")
def held_out(classifier: EmbeddingIntentClassifier) -> list[tuple[str, str, Language, str]]:
    texts, want, languages = flatten(load_examples(TEST_FILE))
    got = [r.intent for r in classifier.classify_many(texts)]
    return list(zip(texts, want, languages, got, strict=True))


@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_accuracy(
    held_out: list[tuple[str, str, Language, str]], language: Language
) -> None:
    rows = [r for r in held_out if r[2] == language]
    wrong = [(text, want, got) for text, want, _, got in rows if want != got]
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= ACCURACY_FLOOR[language], (accuracy, wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sales_spam_recall(
    held_out: list[tuple[str, str, Language, str]], language: Language
) -> None:
    spam = [
        (text, got)
        for text, want, lang, got in held_out
        if want == "sales_spam" and lang == language
    ]
    recall = sum(got == "sales_spam" for _, got in spam) / len(spam)
    # The classifier alone; the spam scorer (spam.py) decides spam in the pipeline and is held
    # to more in test_spam.py. 7/9 in Spanish since the 2026-11-22 data: sellers who ask for
    # the person in charge read as "leave a message" to it.
    assert recall >= 0.75, spam


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("Hola, quiero pedir cita para una limpieza", "es", "book_appointment"),
        ("I need to cancel my appointment tomorrow", "en", "cancel_appointment"),
        ("¿A qué hora abrís el sábado?", "es", "information_hours"),
        ("What's your address?", "en", "information_address"),
        ("¿Cuánto cuesta un implante?", "es", "information_prices"),
        ("Do you accept Aetna insurance?", "en", "information_insurance"),
        ("Le llamo para ofrecerle una tarifa de luz más barata", "es", "sales_spam"),
        ("We can rank your website first on Google", "en", "sales_spam"),
        ("Me habéis cobrado dos veces la misma visita", "es", "billing"),
        ("hola", "es", "other"),
    ],
)
def test_table(
    classifier: EmbeddingIntentClassifier, text: str, language: Language, intent: str
) -> None:
    result = classifier.classify(text, language=language)
    assert result.intent == intent, result.ranking[:3]


@pytest.mark.parametrize("text", ["asdkjh qwe zzz", "xkcd plorf", "", "..."])
def test_gibberish_is_other(classifier: EmbeddingIntentClassifier, text: str) -> None:
    assert classifier.classify(text, language="es").intent == "other"


def test_low_confidence_falls_back_to_other(classifier: EmbeddingIntentClassifier) -> None:
    strict = EmbeddingIntentClassifier(threshold=1.01)
    strict._model = classifier._fitted()  # reuse the trained model; only the threshold differs
    result = strict.classify("Quiero pedir cita", language="es")
    assert result.intent == "other"
    assert result.ranking[0][0] == "book_appointment"
    assert result.confidence == result.ranking[0][1]


def test_ranking_is_a_distribution(classifier: EmbeddingIntentClassifier) -> None:
    result = classifier.classify("Do you do implants?", language="en")
    assert {intent for intent, _ in result.ranking} == set(INTENTS)
    assert sum(p for _, p in result.ranking) == pytest.approx(1.0)
    assert [p for _, p in result.ranking] == sorted((p for _, p in result.ranking), reverse=True)


@pytest.mark.parametrize("name", [TRAINING_FILE, TEST_FILE])
def test_data_covers_every_intent_in_both_languages(name: str) -> None:
    examples = load_examples(name)
    assert set(examples) == set(INTENTS)
    minimum = 20 if name == TRAINING_FILE else 8
    for intent, by_language in examples.items():
        for language in LANGUAGES:
            assert len(by_language[language]) >= minimum, (name, intent, language)


def test_no_held_out_line_is_in_the_training_files() -> None:
    """Neither the classifier's test file nor the benchmark's evaluation files (folded: case,
    accents and punctuation ignored) repeat a line of any training file, the emergency
    model's included."""
    from centralita.receptionist.nlu import emergency

    training = {fold_words(t) for t in flatten(load_examples())[0]}
    training |= {fold_words(t) for t in emergency.load_examples()[0]}
    held_out = list(flatten(load_examples(TEST_FILE))[0])
    benchmark_files = sorted((Path(__file__).parents[2] / "benchmarks" / "data").glob("*.jsonl"))
    assert len(benchmark_files) >= 2
    for path in benchmark_files:
        held_out += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    assert not [t for t in held_out if fold_words(t) in training]


def test_every_training_file_is_loaded() -> None:
    names = training_files()
    assert names[0] == TRAINING_FILE and TEST_FILE not in names
    assert {
        "intents_more_es.yaml",
        "intents_more_en.yaml",
        "intents_contrast_es.yaml",
        "intents_contrast_en.yaml",
    } <= set(names)
    merged = flatten(load_examples())[0]
    assert len(merged) == sum(len(flatten(load_examples(name))[0]) for name in names)
