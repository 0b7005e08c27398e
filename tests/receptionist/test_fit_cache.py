"""The fitted-model cache: a loaded model is the model training returns, and a bad cache
only costs the training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from centralita.receptionist.nlu import intents
from centralita.receptionist.nlu.intents import fit_cached, fit_fused

TEXTS = ["quiero una cita", "cancela mi cita", "book me in", "cancel it please", "cita mañana"]
LABELS = ["book", "cancel", "book", "cancel", "book"]


def _vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(size=(len(TEXTS), 8))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CENTRALITA_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_cached_fit_is_the_trained_model(cache: Path) -> None:
    trained = fit_fused(_vectors(), TEXTS, LABELS)
    assert sorted(p.name.split("-")[1] for p in cache.glob("fit-*.npz")) == [
        "naive",
        "softmax",
    ]
    loaded = fit_fused(_vectors(), TEXTS, LABELS)
    assert loaded.labels == trained.labels
    np.testing.assert_array_equal(loaded.embedding.weights, trained.embedding.weights)
    np.testing.assert_array_equal(loaded.embedding.bias, trained.embedding.bias)
    assert loaded.lexical is not None and trained.lexical is not None
    np.testing.assert_array_equal(loaded.lexical.log_likelihood, trained.lexical.log_likelihood)


def test_other_data_or_settings_are_not_served_from_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit_fused(_vectors(), TEXTS, LABELS)
    fit_fused(_vectors() * 2, TEXTS, LABELS)  # other vectors: a second softmax
    assert len(list(cache.glob("fit-softmax-*.npz"))) == 2
    monkeypatch.setattr(intents, "_STEPS", 7)  # another setting: a third
    fit_fused(_vectors(), TEXTS, LABELS)
    assert len(list(cache.glob("fit-softmax-*.npz"))) == 3
    fit_fused(_vectors(), TEXTS, LABELS, alpha=0.5)  # another smoothing: a second naive Bayes
    assert len(list(cache.glob("fit-naive-bayes-*.npz"))) == 2


def test_a_corrupt_cache_file_is_retrained_and_replaced(cache: Path) -> None:
    calls: list[int] = []

    def fit() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"w": np.arange(3, dtype=np.float64)}

    first = fit_cached("probe", ["a"], fit)
    (path,) = cache.glob("fit-probe-*.npz")
    path.write_bytes(b"not a zip file")
    again = fit_cached("probe", ["a"], fit)
    np.testing.assert_array_equal(first["w"], again["w"])
    assert len(calls) == 2
    fit_cached("probe", ["a"], fit)
    assert len(calls) == 2  # the replaced file serves the third call


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CENTRALITA_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls: list[int] = []

    def fit() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"w": np.zeros(1)}

    fit_cached("probe", ["a"], fit)
    fit_cached("probe", ["a"], fit)
    assert len(calls) == 2
    assert not list(tmp_path.rglob("*.npz"))
