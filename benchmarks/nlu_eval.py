"""Intent classifier on the held-out utterances: accuracy, macro-F1, recall, confusions, speed.

    .venv/bin/python benchmarks/nlu_eval.py [--tune]

Trains EmbeddingIntentClassifier on the training files (data/intents.yaml and
data/intents_more_*.yaml) and scores data/intents_test.yaml, per language. ``--tune`` first
runs 5-fold cross-validation on the training files alone and prints accuracy for the lexical
fusion's smoothing and weight (LEXICAL_ALPHA, LEXICAL_WEIGHT) and against the confidence
threshold, which is how those constants were chosen; the test file plays no part in it. Copy
the printed figures into docs/nlu.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from centralita.receptionist.nlu.intents import (
    INTENTS,
    LEXICAL_ALPHA,
    LEXICAL_WEIGHT,
    TEST_FILE,
    EmbeddingIntentClassifier,
    FusedModel,
    decide,
    encode_sentences,
    fit_softmax,
    flatten,
    load_examples,
)
from centralita.receptionist.nlu.lexical import fit_naive_bayes

_FOLDS = 5
_THRESHOLDS = [round(0.05 * i, 2) for i in range(13)]
_ALPHAS = (0.05, 0.2, 1.0)
_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


def tune() -> None:
    texts, intents, _ = flatten(load_examples())
    vectors = encode_sentences(texts)
    fold = np.random.default_rng(0).permutation(len(texts)) % _FOLDS
    print(f"{_FOLDS}-fold cross-validation on the training files ({len(texts)} utterances)")
    hits = {(a, w): 0 for a in _ALPHAS for w in _WEIGHTS}
    rows: list[tuple[str, list[float]]] = []
    model = None
    for k in range(_FOLDS):
        train = fold != k
        labels = [i for i, t in zip(intents, train, strict=True) if t]
        embedding = fit_softmax(vectors[train], labels)
        held = np.flatnonzero(~train)
        held_texts = [texts[i] for i in held]
        for alpha in _ALPHAS:
            lexical = fit_naive_bayes(
                [x for x, t in zip(texts, train, strict=True) if t], labels, alpha=alpha
            )
            for weight in _WEIGHTS:
                fused = FusedModel(embedding, lexical, weight)
                probabilities = fused.probabilities(vectors[held], held_texts)
                for index, row in zip(held, probabilities, strict=True):
                    hits[alpha, weight] += fused.labels[int(np.argmax(row))] == intents[index]
                    if alpha == LEXICAL_ALPHA and weight == LEXICAL_WEIGHT:
                        rows.append((intents[index], row.tolist()))
                        model = fused
    assert model is not None
    for alpha in _ALPHAS:
        cells = "  ".join(f"w={w:g}: {hits[alpha, w] / len(texts):.3f}" for w in _WEIGHTS)
        print(f"  alpha {alpha:g}: {cells}")
    (best_alpha, best_weight), best_hits = max(hits.items(), key=lambda kv: kv[1])
    print(
        f"best alpha {best_alpha:g}, weight {best_weight:g} (CV accuracy "
        f"{best_hits / len(texts):.3f}); using alpha {LEXICAL_ALPHA:g}, weight "
        f"{LEXICAL_WEIGHT:g}\nthreshold curve at those settings:"
    )
    best = (0.0, 0.0)
    for threshold in _THRESHOLDS:
        hits = sum(decide(model, p, threshold=threshold).intent == want for want, p in rows)
        accuracy = hits / len(rows)
        print(f"  threshold {threshold:.2f}: accuracy {accuracy:.3f}")
        best = max(best, (accuracy, threshold))  # ties go to the higher threshold
    print(f"best threshold {best[1]:.2f} (CV accuracy {best[0]:.3f})\n")


_EMERGENCY_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def tune_emergency() -> None:
    """5-fold CV of the emergency model on data/emergency.yaml: recall and precision of the
    "emergency" class against the threshold (how EMERGENCY_THRESHOLD was chosen)."""
    from centralita.receptionist.nlu import emergency

    texts, labels = emergency.load_examples()
    vectors = encode_sentences(texts)
    fold = np.random.default_rng(0).permutation(len(texts)) % _FOLDS
    chance = np.zeros(len(texts))
    for k in range(_FOLDS):
        train = fold != k
        model = emergency.EmergencyModel(
            emergency.fit(
                [t for t, keep in zip(texts, train, strict=True) if keep],
                [y for y, keep in zip(labels, train, strict=True) if keep],
                vectors[train],
            )
        )
        for index in np.flatnonzero(~train):
            chance[index] = model.probability(texts[index], vector=vectors[index])
    truth = np.array([y == "emergency" for y in labels])
    print(
        f"emergency model, {_FOLDS}-fold CV on {len(texts)} lines ({int(truth.sum())} emergencies)"
    )
    for threshold in _EMERGENCY_THRESHOLDS:
        said = chance >= threshold
        hits = int((said & truth).sum())
        precision = hits / max(1, int(said.sum()))
        print(
            f"  threshold {threshold:.1f}: recall {hits / int(truth.sum()):.3f}  "
            f"precision {precision:.3f}"
        )
    print(f"using {emergency.EMERGENCY_THRESHOLD}\n")


def _f1(want: list[str], got: list[str], intent: str) -> float:
    tp = sum(w == g == intent for w, g in zip(want, got, strict=True))
    predicted, actual = got.count(intent), want.count(intent)
    if tp == 0:
        return 0.0
    precision, recall = tp / predicted, tp / actual
    return 2 * precision * recall / (precision + recall)


def evaluate() -> None:
    classifier = EmbeddingIntentClassifier()
    texts, want, languages = flatten(load_examples(TEST_FILE))
    started = time.perf_counter()
    classifier.classify_many(["warm-up"])
    print(f"first call (load encoder + train): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    pairs = zip(texts, languages, strict=True)
    got = [classifier.classify(t, language=lang).intent for t, lang in pairs]
    per_utterance = (time.perf_counter() - started) / len(texts) * 1000
    print(
        f"{datetime.now(UTC):%Y-%m-%d} on {platform.node()} ({platform.machine()}, "
        f"{platform.processor() or 'cpu?'}, Python {platform.python_version()})"
    )
    print(f"threshold {classifier.threshold}; {per_utterance:.1f} ms per utterance, one at a time")
    for language in ("es", "en"):
        keep = [i for i, lang in enumerate(languages) if lang == language]
        w, g = [want[i] for i in keep], [got[i] for i in keep]
        accuracy = sum(a == b for a, b in zip(w, g, strict=True)) / len(w)
        macro_f1 = sum(_f1(w, g, intent) for intent in INTENTS) / len(INTENTS)
        print(f"\n[{language}] n={len(w)} accuracy {accuracy:.3f}  macro-F1 {macro_f1:.3f}")
        for intent in INTENTS:
            n = w.count(intent)
            hits = sum(a == b == intent for a, b in zip(w, g, strict=True))
            print(f"  {intent:<22} recall {hits}/{n} = {hits / n:.2f}")
        confusions = Counter((a, b) for a, b in zip(w, g, strict=True) if a != b)
        print("  confusions (true -> predicted):")
        for (a, b), count in confusions.most_common():
            print(f"    {count} x {a} -> {b}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="cross-validate the threshold")
    if parser.parse_args().tune:
        tune()
        tune_emergency()
    evaluate()


if __name__ == "__main__":
    main()
