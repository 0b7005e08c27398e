"""Surface-form evidence for the intent classifier: hashed n-grams and naive Bayes.

The sentence encoder sees meaning, but it blurs the words that decide a receptionist's
intent ("factura", "anular", "press 1", "put me through") and it does not know a typo
("fatura", "cansela") is the same word. Character n-grams do. This module turns a text into
hashed features (folded word unigrams and bigrams, and character 3- to 5-grams inside each
word) and fits a multinomial naive Bayes over them: no iterations, trained in milliseconds,
a few microseconds per text. ``EmbeddingIntentClassifier`` fuses its per-class scores with
the embedding model's log-probabilities (docs/nlu.md, "Fusion").

Pure: numpy and the standard library only; the hash is CRC-32, stable across processes
(Python's ``hash`` of a string is not).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from centralita.core.text import fold_words

Vectors = npt.NDArray[np.float64]

DIMENSIONS = 1 << 17
# Bump when ``feature_ids`` changes: fitted models cached on disk are keyed by it.
FEATURES_VERSION = "1"
_CHAR_SIZES = (3, 4, 5)


def _hash(piece: str) -> int:
    return zlib.crc32(piece.encode("utf-8")) & (DIMENSIONS - 1)


def feature_ids(text: str) -> list[int]:
    """The distinct hashed features of ``text``: words, word pairs and character n-grams of
    each word padded with boundaries ("<fact", "ura>"), case and accents folded."""
    words = fold_words(text).split()
    pieces: set[str] = set()
    for i, word in enumerate(words):
        pieces.add("w:" + word)
        if i:
            pieces.add("b:" + words[i - 1] + " " + word)
        padded = f"<{word}>"
        for size in _CHAR_SIZES:
            for start in range(len(padded) - size + 1):
                pieces.add("c:" + padded[start : start + size])
    return sorted({_hash(p) for p in pieces})


@dataclass(frozen=True)
class NaiveBayes:
    """Multinomial naive Bayes over binary hashed features."""

    labels: tuple[str, ...]
    log_likelihood: Vectors  # (classes, DIMENSIONS)

    def scores(self, texts: Sequence[str]) -> Vectors:
        """Per text and class, the mean log-likelihood of the text's features: comparable
        across texts of different lengths. Shape (len(texts), classes)."""
        rows = np.zeros((len(texts), len(self.labels)))
        for row, text in enumerate(texts):
            ids = feature_ids(text)
            if ids:
                rows[row] = self.log_likelihood[:, ids].mean(axis=1)
        return rows


def fit_naive_bayes(texts: Sequence[str], labels: Sequence[str], *, alpha: float) -> NaiveBayes:
    """Count each feature once per text, per class, with additive smoothing ``alpha``.

    Every class gets the same prior: the training file's class sizes say how much we wrote,
    not how often callers ask.
    """
    classes = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros((len(classes), DIMENSIONS))
    for text, label in zip(texts, labels, strict=True):
        counts[index[label], feature_ids(text)] += 1.0
    smoothed = counts + alpha
    log_likelihood: Vectors = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
    return NaiveBayes(classes, log_likelihood)


def centred(scores: Vectors) -> Vectors:
    """Scores minus each row's maximum: the best class at 0, the others below."""
    result: Vectors = scores - scores.max(axis=1, keepdims=True)
    return result
