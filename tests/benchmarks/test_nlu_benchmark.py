"""The NLU evaluation sets and the benchmark's metric code (benchmarks/nlu.py).

Fast: reads the JSONL files and the demo tenants, never runs the NLU engine.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from centralita.receptionist.nlu.result import INTENTS, URGENCIES

ROOT = Path(__file__).resolve().parents[2]
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_nlu", ROOT / "benchmarks" / "nlu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    for path in bench.EVAL_FILES.values():
        assert path.exists(), path
    return bench.load_eval()


def test_both_files_parse_and_are_large_enough(rows: list[dict[str, Any]]) -> None:
    for lang, path in bench.EVAL_FILES.items():
        lines = bench.load_eval([path])
        assert lines, path
        assert {r["lang"] for r in lines} == {lang}, path
    assert len(rows) >= 400


def test_ids_are_unique(rows: list[dict[str, Any]]) -> None:
    duplicates = [i for i, n in Counter(r["id"] for r in rows).items() if n > 1]
    assert not duplicates


def test_languages_are_balanced(rows: list[dict[str, Any]]) -> None:
    counts = Counter(r["lang"] for r in rows)
    for lang in ("es", "en"):
        assert 0.4 <= counts[lang] / len(rows) <= 0.6, counts


def test_labels_are_valid(rows: list[dict[str, Any]]) -> None:
    problems = []
    for r in rows:
        where = r["id"]
        if r["tenant"] not in ("hartley-law", "clinica-dental-sonrisa"):
            problems.append((where, "tenant", r["tenant"]))
            continue
        checks = {
            "intent": r["intent"] in INTENTS,
            "urgency": r["urgency"] in URGENCIES,
            "lang": r["lang"] in ("es", "en"),
            "style": r["style"] in bench.STYLES,
            "text": isinstance(r["text"], str),
            "spam": isinstance(r["spam"], bool),
            "spam intent": not r["spam"] or r["intent"] == "sales_spam",
            "phone": r["phone"] is None or bool(E164.match(r["phone"])),
            "email": r["email"] is None or (r["email"] == r["email"].lower() and "@" in r["email"]),
            "name": r["name"] is None or (isinstance(r["name"], str) and r["name"].strip()),
            "datetime": r["datetime"] is None or _aware_iso(r["datetime"]),
            "staff": r["staff"] is None or r["staff"] in bench.directory_names(r["tenant"]),
        }
        problems += [(where, key, r.get(key.split()[0])) for key, ok in checks.items() if not ok]
    assert not problems


def _aware_iso(value: str) -> bool:
    try:
        return dt.datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def test_english_file_meets_its_brief() -> None:
    en = bench.load_eval([bench.EVAL_FILES["en"]])
    intents = Counter(r["intent"] for r in en)
    assert all(intents[i] >= (20 if i == "other" else 28) for i in INTENTS), intents
    assert sum(r["urgency"] == "emergency" for r in en) >= 20
    assert sum(r["spam"] for r in en) >= 30
    for field, floor in {"phone": 35, "email": 25, "name": 35, "datetime": 45, "staff": 25}.items():
        assert sum(r[field] is not None for r in en) >= floor, field


def test_precision_recall_f1_on_a_hand_example() -> None:
    gold = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "a"]
    scores = bench.precision_recall_f1(gold, pred, ["a", "b", "c", "d"])
    assert scores["a"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2}
    )
    assert scores["b"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2, "predicted": 3}
    )
    assert scores["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0}
    assert scores["d"]["support"] == 0 and scores["d"]["f1"] == 0.0
    # "d" never occurs, so the macro average is over a, b and c
    assert bench.macro_f1(gold, pred, ["a", "b", "c", "d"]) == pytest.approx(1.3 / 3)
    assert bench.accuracy(gold, pred) == pytest.approx(0.6)
    assert bench.confusions(gold, pred) == [("a", "b", 1), ("c", "a", 1)]
    with pytest.raises(ValueError):
        bench.precision_recall_f1(["a"], [], ["a"])


def test_binary_spam_figures() -> None:
    gold = [bench.spam_label(v) for v in (True, True, True, False, False)]
    pred = [bench.spam_label(v) for v in (True, True, False, True, False)]
    spam = bench.precision_recall_f1(gold, pred, bench.SPAM_LABELS)["spam"]
    assert spam["precision"] == pytest.approx(2 / 3)
    assert spam["recall"] == pytest.approx(2 / 3)


def test_entity_accuracy_counts_only_lines_with_a_value() -> None:
    gold = ["Ana Pérez", None, "Tom", None, "JOHN"]
    pred = ["ana perez", None, None, "Grace", "John"]
    got = bench.entity_accuracy(gold, pred, bench.same_text)
    assert got == {
        "n": 4,
        "correct": 2,
        "accuracy": 0.5,
        "missed": 1,
        "spurious": 1,
        "wrong": 0,
    }
    assert bench.entity_accuracy([None], [None])["accuracy"] == 1.0
    assert bench.entity_accuracy(["+34600000000"], ["+34600000001"])["wrong"] == 1


def test_entity_comparisons() -> None:
    assert bench.same_instant("2026-11-24T17:00:00+00:00", "2026-11-24T18:00:00+01:00")
    assert not bench.same_instant("2026-11-24T17:00:00+00:00", "2026-11-24T17:00:00+01:00")
    assert not bench.same_instant("2026-11-24T17:00:00+00:00", "next tuesday")
    assert bench.same_email("Ana@Example.com", "ana@example.com")
    assert bench.same_text("Lucía García", "LUCIA GARCIA")
    assert not bench.same_exact("Dra. Lucía García Martín", "Lucía García")


def test_percentiles() -> None:
    got = bench.percentiles([float(i) for i in range(1, 101)])
    assert got["n"] == 100
    assert got["p50"] == pytest.approx(50.5)
    assert got["p99"] == pytest.approx(99.01)
    assert got["mean"] == pytest.approx(50.5)
    assert bench.percentiles([])["n"] == 0


def test_targets_are_marked() -> None:
    def prf(p: float, r: float) -> dict[str, float]:
        return {"precision": p, "recall": r}

    report = {
        "spam": {"per_class": {"spam": prf(1.0, 0.9)}},
        "urgency": {"per_class": {"emergency": prf(0.5, 0.95)}},
        "intent": {"macro_f1": 0.91},
        "entities": {"phone": {"accuracy": 1.0}, "email": {"accuracy": 0.96}},
        "latency": {"turn": {"n": 10, "p99": 12.0}},
    }
    met = {t["target"]: t["met"] for t in bench.targets(report)}
    assert met == {
        "spam precision": True,
        "spam recall": True,
        "emergency recall": False,
        "intent macro-F1": True,
        "phone extraction": True,
        "email extraction": False,
        "turn p99 (ms)": True,
    }


def test_oos_scores_follow_the_paper() -> None:
    import numpy as np

    gold = np.array([0, 1, 2, 9, 9])  # 9 = out of scope
    pred = np.array([0, 1, 1, 9, 0])
    rejected = np.array([False, True, False, True, False])
    in_scope, oos_recall = bench.oos_scores(pred, gold, rejected, gold == 9)
    assert in_scope == pytest.approx(1 / 3)  # only the first: right and not rejected
    assert oos_recall == pytest.approx(0.5)
