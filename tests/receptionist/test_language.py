"""Language detection: accuracy on labelled utterances, and the short-reply rules."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.language import detect_language
from tests.receptionist.language_cases import EN, ES


def test_accuracy_on_receptionist_utterances() -> None:
    cases = [(t, "es") for t in ES] + [(t, "en") for t in EN]
    # No history and the "wrong" default for half the set: the text alone must decide.
    wrong = [
        (text, want)
        for text, want in cases
        if detect_language(text, default="en" if want == "es" else "es").language != want
    ]
    accuracy = 1 - len(wrong) / len(cases)
    assert accuracy >= 0.95, (accuracy, wrong)


@pytest.mark.parametrize(
    ("text", "history", "default", "expected", "reason"),
    [
        ("hola", [], "en", "es", "keywords"),  # the n-gram model says English
        ("vale", [], "en", "es", "keywords"),
        ("no", ["en"], "es", "en", "history"),  # "no" is both: the conversation decides
        ("no", ["es", "en", "es"], "en", "es", "history"),
        ("ok", [], "en", "en", "default"),
        ("ok", [], "es", "es", "default"),
        ("", ["en"], "es", "en", "history"),
        ("12345", [], "es", "es", "default"),
        ("sí", ["en"], "en", "es", "keywords"),
        ("thanks", ["es"], "es", "en", "keywords"),
        ("quiero una cita para el martes por la tarde", ["en"], "en", "es", "model"),
        ("I would like to book a cleaning next week", ["es"], "es", "en", "model"),
    ],
)
def test_short_replies_and_history(
    text: str, history: list[str], default: str, expected: str, reason: str
) -> None:
    guess = detect_language(text, history=history, default=default)  # type: ignore[arg-type]
    assert (guess.language, guess.reason) == (expected, reason)
    assert 0.0 <= guess.confidence <= 1.0
