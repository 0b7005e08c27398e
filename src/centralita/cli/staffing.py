"""``centralita staffing``: how many agents a load needs (Erlang C, or Erlang A with patience)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

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
    """The staffing answer as plain data; raises ``ValueError`` with a clear message."""
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


@click.command()
@click.option("--calls", type=float, required=True, help="Calls (contacts) per interval.")
@click.option("--interval", type=float, default=1800.0, show_default=True, help="Seconds.")
@click.option("--aht", type=float, required=True, help="Average handle time, seconds.")
@click.option(
    "--target",
    type=float,
    default=0.8,
    show_default=True,
    help="Service-level target: the share answered within --threshold.",
)
@click.option("--threshold", type=float, default=20.0, show_default=True, help="Seconds.")
@click.option(
    "--shrinkage",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of rostered time not on the phones (breaks, training, absence).",
)
@click.option(
    "--patience",
    type=float,
    default=None,
    help="Mean patience in seconds: Erlang A (callers abandon) instead of Erlang C.",
)
@click.option(
    "--agents",
    type=int,
    default=None,
    help="Evaluate this many agents instead of searching for the fewest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def staffing(
    calls: float,
    interval: float,
    aht: float,
    target: float,
    threshold: float,
    shrinkage: float,
    patience: float | None,
    agents: int | None,
    as_json: bool,
) -> None:
    """The agents needed for a load and a service-level target, with P(wait), service level,
    ASA and occupancy (and abandonment with --patience).

    Example: `centralita staffing --calls 100 --interval 1800 --aht 180 --target 0.8
    --threshold 20 --shrinkage 0.3` says 14 agents on the phones, 20 rostered.
    """
    try:
        result = plan(calls, interval, aht, target, threshold, shrinkage, patience, agents)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    model = "Erlang A" if patience else "Erlang C"
    click.echo(
        f"{model}: {result['traffic_erlangs']:.2f} Erlangs; {result['agents']} agents on the "
        f"phones, {result['rostered']} rostered with {shrinkage:.0%} shrinkage"
        + ("" if result["meets_target"] else " (does NOT meet the target)")
    )
    click.echo(f"  P(wait)        {result['p_wait']:.4f}")
    click.echo(
        f"  service level  {result['service_level']:.4f} within {threshold:g} s "
        f"(target {target:.0%})"
    )
    click.echo(f"  ASA            {result['asa_seconds']:.2f} s")
    click.echo(f"  occupancy      {result['occupancy']:.4f}")
    if patience:
        click.echo(f"  abandonment    {result['p_abandon']:.4f}")
