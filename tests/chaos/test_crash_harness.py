"""The crash harness's short form: a few SIGKILL cycles of each mode, checked like the full run.

benchmarks/crash.py runs ≥ 100 cycles per mode and writes docs/benchmarks.md; here each mode
gets a handful, so that CI proves the harness and the promises still hold: nothing that got a
2xx is lost, nothing is stored twice, each customer's messages keep their order, and every
reply reaches the provider stand-in exactly once.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import BACKENDS, PG_HOST, need_service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CYCLES = int(os.environ.get("CRASH_CYCLES", "4"))


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_harness", ROOT / "benchmarks" / "crash.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MODES = [
    m
    for m, backend in (
        ("sqlite", "sqlite"),
        ("pg", "postgresql"),
        ("sqlite-inbox", "sqlite"),
        ("pg-inbox", "postgresql"),
    )
    if backend in BACKENDS
]


@pytest.mark.parametrize("mode", MODES)
def test_a_few_kill_cycles_lose_and_repeat_nothing(mode: str, tmp_path: Path) -> None:
    if mode.startswith("pg"):
        need_service("PostgreSQL", PG_HOST, 5432)
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is needed for the PostgreSQL + Redis mode")
    crash = _harness()
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1 << 30)))
    report = crash.run_mode(mode, CYCLES, seed, tmp_path)

    assert sum(report.kills.values()) == CYCLES
    assert report.acked > 0 and report.refused > 0, "the kills should land under load"
    assert report.lost_unstored == 0, report
    assert report.lost_unanswered == 0 and report.delayed == 0, report
    assert report.answered_twice == 0, report
    assert report.duplicated == 0, report
    assert report.out_of_order == 0, report
    # a turn may answer with no text (a spam verdict, a hand-off): replies can be fewer
    assert report.replies > 0 and report.replies_unsent == 0, report
    assert report.stand_in_sends == report.replies and report.send_duplicates == 0, report
