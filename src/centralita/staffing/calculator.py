"""One staffing question answered as plain data: the CLI's and the staffing page's calculator.

Pure: ``erlang`` only. Erlang C without a patience, Erlang A (callers abandon) with one.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from centralita.staffing import erlang


def plan(
    calls: float,
    interval: float,
    aht: float,
    target: float,
    threshold: float,
    shrinkage: float,
    patience: float | None,
    agents: int | None,
) -> dict[str, Any]:
    """The staffing answer: the fewest agents reaching ``target`` or, given ``agents``, how
    that staffing performs. Raises ``ValueError`` with a clear message for bad inputs and for
    Erlang C traffic at or above the agents."""
    result: dict[str, Any] = {
        "model": "erlang_a" if patience else "erlang_c",
        "calls": calls,
        "interval_seconds": interval,
        "aht_seconds": aht,
        "traffic_erlangs": erlang.offered_traffic(calls, interval, aht),
        "target": target,
        "threshold_seconds": threshold,
        "shrinkage": shrinkage,
        "patience_seconds": patience,
    }
    if agents is not None:  # evaluate a given staffing
        metrics: Any = (
            erlang.erlang_a_metrics(agents, calls, interval, aht, patience, threshold)
            if patience
            else erlang.erlang_c_metrics(agents, calls, interval, aht, threshold)
        )
        result.update(asdict(metrics))
        result["rostered"] = erlang.rostered_staff(agents, shrinkage)
        result["meets_target"] = metrics.service_level >= target
        return result
    found: Any = (
        erlang.agents_needed_erlang_a(
            calls, interval, aht, patience, target, threshold, shrinkage=shrinkage
        )
        if patience
        else erlang.agents_needed(calls, interval, aht, target, threshold, shrinkage=shrinkage)
    )
    result.update(asdict(found.metrics))
    result["rostered"] = found.rostered
    result["meets_target"] = True
    return result
