"""``centralita simulate``: the contact center with the real ACD engine, against Erlang C/A."""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

import click

from centralita.routing.model import Strategy
from centralita.routing.predictive import Arm, lift
from centralita.routing.simulate import Result, Scenario, Summary, run, summarize

SL_BOUND = 0.01  # the simulated service level within ±1 percentage point of the formula
ASA_BOUND = 0.05  # the simulated ASA within ±5% of the formula


def replicate(scenario: Scenario, runs: int, workers: int = 1) -> list[Result]:
    """``runs`` replications with seeds ``seed``, ``seed+1``, ... on ``workers`` processes."""
    scenarios = [replace(scenario, seed=scenario.seed + i) for i in range(runs)]
    if workers <= 1 or runs == 1:
        return [run(s) for s in scenarios]
    with ProcessPoolExecutor(max_workers=min(workers, runs)) as pool:
        return list(pool.map(run, scenarios))


def formula(scenario: Scenario) -> dict[str, float] | None:
    """The closed-form figures for the scenario: Erlang C, or Erlang A with patience."""
    from centralita.staffing import erlang

    if scenario.wrapup or scenario.answer_delay:
        return None  # not M/M/c any more: the formulas do not model wrap-up or ringing
    if scenario.patience is None:
        c = erlang.erlang_c_metrics(
            scenario.agents, scenario.calls, scenario.interval, scenario.aht, scenario.threshold
        )
        return {"p_wait": c.p_wait, "service_level": c.service_level, "asa": c.asa_seconds,
                "occupancy": c.occupancy, "abandonment": 0.0}  # fmt: skip
    a = erlang.erlang_a_metrics(
        scenario.agents, scenario.calls, scenario.interval, scenario.aht, scenario.patience,
        scenario.threshold,
    )  # fmt: skip
    return {"p_wait": a.p_wait, "service_level": a.service_level, "asa": a.asa_seconds,
            "occupancy": a.occupancy, "abandonment": a.p_abandon}  # fmt: skip


def check(summary: Summary, expected: dict[str, float]) -> dict[str, Any]:
    """Whether the simulation reproduces the formula within the published bounds."""
    sl_diff = summary.service_level - expected["service_level"]
    asa_rel = (summary.asa - expected["asa"]) / expected["asa"] if expected["asa"] else 0.0
    return {
        "service_level_diff": sl_diff,
        "service_level_ok": abs(sl_diff) <= SL_BOUND,
        "asa_relative_diff": asa_rel,
        "asa_ok": abs(asa_rel) <= ASA_BOUND,
    }


@click.command()
@click.option(
    "--calls", type=float, default=100.0, show_default=True, help="Arrivals per interval (Poisson)."
)
@click.option("--interval", type=float, default=1800.0, show_default=True, help="Seconds.")
@click.option(
    "--aht",
    type=float,
    default=180.0,
    show_default=True,
    help="Mean handle time in seconds (exponential).",
)
@click.option("--agents", type=int, default=14, show_default=True)
@click.option(
    "--threshold",
    type=float,
    default=20.0,
    show_default=True,
    help="Service-level threshold in seconds.",
)
@click.option(
    "--n-calls",
    "n_calls",
    type=int,
    default=100_000,
    show_default=True,
    help="Calls per replication.",
)
@click.option("--runs", type=int, default=1, show_default=True, help="Replications.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--patience",
    type=float,
    default=None,
    help="Mean patience in seconds (callers abandon); compared with Erlang A.",
)
@click.option("--wrapup", type=float, default=0.0, help="Wrap-up seconds after each call.")
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.LONGEST_IDLE.value,
    show_default=True,
)
@click.option(
    "--answer-delay",
    "answer_delay",
    type=float,
    default=None,
    help="Agents accept offers after this many seconds (default: auto-answer).",
)
@click.option(
    "--intents",
    type=int,
    default=0,
    show_default=True,
    help="Calls carry one of N intents; agents resolve each with their own odds.",
)
@click.option(
    "--predictive",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Predictive routing for this share of calls (an A/B test); needs --intents.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Processes for the replications (default: the CPU count).",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Compare with Erlang C/A; exit 1 outside ±1 pp service level or ±5% ASA.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def simulate(calls: float, interval: float, aht: float, agents: int, threshold: float,
             n_calls: int, runs: int, seed: int, patience: float | None, wrapup: float,
             strategy: str, answer_delay: float | None, intents: int,
             predictive: float | None, workers: int | None, validate: bool,
             as_json: bool) -> None:  # fmt: skip
    """Simulate a contact center through the real routing engine.

    The default scenario is the textbook one: 100 calls per 30 minutes, AHT 180 s, 14 agents,
    80% within 20 s. `centralita simulate --runs 30 --validate` runs 30 replications of 100,000
    calls and checks them against Erlang C.
    """
    if runs < 1:
        raise click.BadParameter("must be at least 1", param_hint="--runs")
    if predictive is not None and intents < 1:
        raise click.UsageError("--predictive needs --intents (calls must carry an intent)")
    try:
        scenario = Scenario(
            calls=calls, interval=interval, aht=aht, agents=agents, threshold=threshold,
            n_calls=n_calls, seed=seed, patience=patience, wrapup=wrapup,
            strategy=Strategy(strategy), answer_delay=answer_delay, intents=intents,
            predictive=predictive,
        )  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    started = time.perf_counter()
    results = replicate(scenario, runs, workers or os.cpu_count() or 1)
    elapsed = time.perf_counter() - started
    summary = summarize(results)
    expected = formula(scenario)
    report: dict[str, Any] = {
        "scenario": {
            "calls": calls,
            "interval": interval,
            "aht": aht,
            "agents": agents,
            "threshold": threshold,
            "n_calls": n_calls,
            "runs": runs,
            "seed": seed,
            "patience": patience,
            "wrapup": wrapup,
            "strategy": strategy,
            "traffic_erlangs": scenario.traffic,
        },
        "simulated": summary.as_dict(),
        "seconds": elapsed,
        "calls_per_second": summary.calls / elapsed if elapsed else None,
    }
    if expected is not None:
        report["formula"] = expected
        report["check"] = check(summary, expected)
    if intents:
        arms: dict[str, list[int]] = {}
        for result in results:
            for arm, (n, ok) in result.arms.items():
                counts = arms.setdefault(arm, [0, 0])
                counts[0] += n
                counts[1] += ok
        report["resolution"] = {arm: {"calls": n, "resolved": ok, "rate": ok / n if n else None}
                                for arm, (n, ok) in sorted(arms.items())}  # fmt: skip
        if predictive is not None:
            treatment, control = arms.get("predictive", [0, 0]), arms.get("control", [0, 0])
            report["predictive_lift"] = lift(Arm(*treatment), Arm(*control)).as_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    if validate:
        if expected is None:
            raise click.UsageError("--validate needs a plain M/M/c(+M) scenario: no wrap-up or "
                                   "answer delay")  # fmt: skip
        verdict = report["check"]
        if not (verdict["service_level_ok"] and verdict["asa_ok"]):
            sys.exit(1)


def _print(report: dict[str, Any]) -> None:
    sim, sc = report["simulated"], report["scenario"]
    click.echo(
        f"{sim['calls']:,} calls in {sc['runs']} run(s), {sc['traffic_erlangs']:.2f} Erlangs on "
        f"{sc['agents']} agents, {report['seconds']:.1f} s ({report['calls_per_second']:,.0f} "
        "calls/s)"
    )
    rows = [("service level", "service_level", "{:.4f}"), ("ASA (s)", "asa", "{:.2f}"),
            ("P(wait)", "p_wait", "{:.4f}"), ("abandonment", "abandonment", "{:.4f}"),
            ("occupancy", "occupancy", "{:.4f}")]  # fmt: skip
    expected = report.get("formula")
    click.echo(f"{'':14} {'simulated':>12} {'formula':>10}")
    for label, key, fmt in rows:
        theirs = fmt.format(expected[key]) if expected else "-"
        click.echo(f"{label:14} {fmt.format(sim[key]):>12} {theirs:>10}")
    click.echo(f"95% CI: service level ±{sim['service_level_ci']:.4f}, ASA ±{sim['asa_ci']:.2f} s")
    if "predictive_lift" in report:
        found = report["predictive_lift"]
        if found["lift"] is not None:
            click.echo(
                f"Predictive routing: resolved {found['treatment_rate']:.1%} of "
                f"{found['treatment_conversations']:,} calls against {found['control_rate']:.1%} "
                f"of {found['control_conversations']:,} in the control arm: lift "
                f"{found['lift']:+.1%} (95% CI {found['low']:+.1%} to {found['high']:+.1%})"
            )
    if "check" in report:
        ok = report["check"]["service_level_ok"] and report["check"]["asa_ok"]
        click.echo(
            f"Erlang check: service level {report['check']['service_level_diff']:+.4f}, ASA "
            f"{report['check']['asa_relative_diff']:+.2%}: {'within' if ok else 'OUTSIDE'} "
            "±1 pp / ±5%"
        )
