"""``centralita staffing``: how many agents a load needs (Erlang C, or Erlang A with patience),
and ``centralita staffing forecast``: next week's contacts and agents from a tenant's history."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from centralita.bootstrap import build_container
from centralita.cli.context import settings_from
from centralita.core.clock import utcnow
from centralita.core.errors import DomainError
from centralita.staffing import service as staffing_service
from centralita.staffing.calculator import plan
from centralita.tenants import service as tenants_service


@click.group(invoke_without_command=True)
@click.option("--calls", type=float, default=None, help="Calls (contacts) per interval.")
@click.option("--interval", type=float, default=1800.0, show_default=True, help="Seconds.")
@click.option("--aht", type=float, default=None, help="Average handle time, seconds.")
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
@click.pass_context
def staffing(
    ctx: click.Context,
    calls: float | None,
    interval: float,
    aht: float | None,
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

    `centralita staffing forecast --tenant SLUG` forecasts next week from the tenant's history.
    """
    if ctx.invoked_subcommand is not None:
        return
    for name, value in (("--calls", calls), ("--aht", aht)):
        if value is None:
            raise click.UsageError(
                f"Missing option '{name}' (or use a sub-command: centralita staffing forecast)"
            )
    assert calls is not None and aht is not None
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


def _forecast_data(plan: staffing_service.StaffingPlan, slug: str) -> dict[str, Any]:
    accuracy = plan.forecast.accuracy
    return {
        "tenant": slug,
        "week_start": plan.forecast.start.isoformat(),
        "slot_minutes": plan.forecast.slot_minutes,
        "history_start": plan.history_start.isoformat(),
        "history_end": plan.history_end.isoformat(),
        "weeks_used": plan.forecast.weeks_used,
        "method": "weighted mean of the same weekday and slot (latest week weighs most)",
        "aht_seconds": plan.aht_seconds,
        "aht_measured": plan.aht_measured,
        "target": plan.target,
        "threshold_seconds": plan.threshold_seconds,
        "shrinkage": plan.shrinkage,
        "patience_seconds": plan.patience_seconds,
        "total_contacts": plan.forecast.total,
        "accuracy": asdict(accuracy) if accuracy else None,
        "intervals": [
            {
                "start": i.slot.start.isoformat(),
                "contacts": i.slot.calls,
                "naive": i.slot.naive,
                "agents": i.agents,
                "rostered": i.rostered,
                "service_level": i.service_level,
                "occupancy": i.occupancy,
            }
            for i in plan.intervals
        ],
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _print_plan(data: dict[str, Any]) -> None:
    accuracy = data["accuracy"]
    click.echo(
        f"{data['tenant']}: week of {data['week_start'][:10]}, "
        f"{data['total_contacts']:.1f} contacts forecast from {data['weeks_used']} week(s) "
        f"of history"
    )
    source = "measured" if data["aht_measured"] else "default, no handled contacts"
    click.echo(
        f"  AHT {data['aht_seconds']:.0f} s ({source}); target {data['target']:.0%} within "
        f"{data['threshold_seconds']:g} s"
    )
    if accuracy:
        click.echo(
            f"  last week held out: WAPE {_percent(accuracy['wape'])} "
            f"(naive same-slot-last-week {_percent(accuracy['naive_wape'])})"
        )
    busy = [i for i in data["intervals"] if i["contacts"] > 0]
    if not busy:
        click.echo("  no contacts in the history: nobody is needed")
        return
    click.echo(f"  {'interval':<22}{'contacts':>9}{'agents':>8}{'rostered':>10}{'SL':>8}")
    for i in busy:
        start = datetime.fromisoformat(i["start"])
        click.echo(
            f"  {start:%a %Y-%m-%d %H:%M}  {i['contacts']:>9.1f}{i['agents']:>8}"
            f"{i['rostered']:>10}{_percent(i['service_level']):>8}"
        )


async def _plan(
    ctx: click.Context, slug: str, weeks: int, target: float | None, threshold: float | None,
    shrinkage: float, patience: float | None,
) -> dict[str, Any]:  # fmt: skip
    container = build_container(settings_from(ctx), run_workers=False)
    try:
        async with container.sessions() as session:
            tenant = await tenants_service.get_by_slug(session, slug=slug)
            plan = await staffing_service.plan_next_week(
                session,
                tenant_id=tenant.id,
                now=utcnow(),
                weeks=weeks,
                target=target,
                threshold_seconds=threshold,
                shrinkage=shrinkage,
                patience_seconds=patience,
            )
        return _forecast_data(plan, slug)
    finally:
        await container.engine.dispose()


@staffing.command("forecast")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option(
    "--weeks", type=click.IntRange(1, 52), default=4, show_default=True, help="Weeks of history."
)
@click.option("--target", type=float, default=None, help="Service-level target (tenant's).")
@click.option("--threshold", type=float, default=None, help="Seconds (default: tenant's).")
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="Share off-phone.")
@click.option("--patience", type=float, default=None, help="Mean patience, seconds: Erlang A.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def forecast_command(
    ctx: click.Context,
    slug: str,
    weeks: int,
    target: float | None,
    threshold: float | None,
    shrinkage: float,
    patience: float | None,
    as_json: bool,
) -> None:
    """Forecast next week's contacts per 30-minute interval, and the agents each needs.

    The forecast is the weighted mean of the same weekday and half hour over the last --weeks
    weeks (the latest weighs most), from the contacts that reached a person; the latest week
    is also held out to report the error against a naive same-slot-last-week forecast. AHT
    comes from the same history. Agents per interval are Erlang C (Erlang A with --patience).
    """
    try:
        data = asyncio.run(_plan(ctx, slug, weeks, target, threshold, shrinkage, patience))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_plan(data)
