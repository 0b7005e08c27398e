"""Routing benchmarks: the simulator against simpy, the engine at scale, the SQL store.

    .venv/bin/python benchmarks/routing.py [--quick] [--no-docs] [--backends sqlite,postgresql]

1. Simulator: one run of 1,000,000 calls of the textbook scenario (100 calls per 30 min,
   AHT 180 s, 14 agents) through the real engine, against a plain simpy M/M/c model of the
   same system in the same run (the baseline: no routing logic, just a FIFO resource).
2. Erlang C validation: 30 replications of 100,000 calls, on every core.
3. The engine at scale: 7,500 agents, 5,000 queues, about 50,000 live conversations, Poisson
   arrivals at 500/s (simulated time), offers accepted after 2 s; the wall-clock time of
   each ``decide`` call (p50, p99, max) and the events per second one core sustains.
4. The SQL store per backend: one tenant (50 agents, 10 queues), conversations enqueued,
   accepted and completed one transaction per event through ``routing.service``; latency
   per transaction against a baseline transaction that only locks and bumps the tenant's
   routing row (the floor of any design that serialises a tenant's routing).

Writes the figures between the routing markers of docs/benchmarks.md (unless --no-docs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import machine

from centralita.cli.simulate import formula, replicate
from centralita.routing.engine import RoutingState, decide, next_deadline
from centralita.routing.model import (
    Accept,
    AgentConfig,
    Assigned,
    Complete,
    Enqueue,
    Offered,
    Presence,
    QueueConfig,
    SetPresence,
    Tick,
    UpsertAgent,
    UpsertQueue,
)
from centralita.routing.simulate import Scenario, run, summarize

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- routing:start -->", "<!-- routing:end -->"
TEXTBOOK = Scenario(calls=100, interval=1800, aht=180, agents=14, threshold=20)


# ---- 1. simulator against simpy ---------------------------------------------------------------


def simpy_mmc(scenario: Scenario, n: int, seed: int) -> tuple[float, float, float]:
    """The same M/M/c in plain simpy: (seconds, service level, ASA)."""
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=scenario.agents)
    rate, mean = scenario.calls / scenario.interval, scenario.aht
    waits: list[float] = []

    def call(env: simpy.Environment) -> Any:
        arrived = env.now
        with agents.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(1.0 / mean))

    def source(env: simpy.Environment) -> Any:
        for _ in range(n):
            yield env.timeout(rng.expovariate(rate))
            env.process(call(env))

    started = time.perf_counter()
    env.process(source(env))
    env.run()
    seconds = time.perf_counter() - started
    within = sum(1 for w in waits if w <= scenario.threshold) / len(waits)
    return seconds, within, sum(waits) / len(waits)


def bench_simulator(n: int) -> dict[str, Any]:
    scenario = Scenario(**{**TEXTBOOK.__dict__, "n_calls": n})
    started = time.perf_counter()
    result = run(scenario)
    ours = time.perf_counter() - started
    base, base_sl, base_asa = simpy_mmc(scenario, n, seed=1)
    return {
        "calls": n, "seconds": ours, "calls_per_second": n / ours,
        "service_level": result.service_level, "asa": result.asa,
        "engine_calls": result.engine_calls,
        "simpy_seconds": base, "simpy_service_level": base_sl, "simpy_asa": base_asa,
        "ratio": ours / base,
    }  # fmt: skip


def bench_validation(runs: int, n: int) -> dict[str, Any]:
    scenario = Scenario(**{**TEXTBOOK.__dict__, "n_calls": n})
    started = time.perf_counter()
    summary = summarize(replicate(scenario, runs, os.cpu_count() or 1))
    expected = formula(scenario)
    assert expected is not None
    return {
        "runs": runs, "calls": summary.calls, "seconds": time.perf_counter() - started,
        "service_level": summary.service_level, "service_level_ci": summary.service_level_ci,
        "asa": summary.asa, "asa_ci": summary.asa_ci, "p_wait": summary.p_wait,
        "formula_service_level": expected["service_level"], "formula_asa": expected["asa"],
        "formula_p_wait": expected["p_wait"],
    }  # fmt: skip


# ---- 3. the engine at scale --------------------------------------------------------------------


def bench_engine(agents: int, queues: int, live: int, rate: float, measured: int,
                 seed: int = 3) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(seed)
    skills = max(1, queues // 2)
    state = RoutingState()
    for q in range(queues):
        config = QueueConfig(f"q{q}", skills=(f"s{q % skills}",), offer_timeout=30.0)
        state, _ = decide(state, UpsertQueue(config), 0.0)
    for a in range(agents):
        held = {f"s{a % skills}": 3, f"s{(a * 7 + 13) % skills}": 2}
        capacity = {"voice": 1, "webchat": 6, "email": 8}
        state, _ = decide(state, UpsertAgent(AgentConfig(f"a{a}", skills=held,
                                                         capacity=capacity)), 0.0)  # fmt: skip
        state, _ = decide(state, SetPresence(f"a{a}", Presence.AVAILABLE), 0.0)
    channels = ["voice"] * 1 + ["webchat"] * 13 + ["email"] * 6  # a call blocks the rest
    mean_handle = max(1.0, live / rate - 2.0)  # Little: live = rate x time in system

    events: list[tuple[float, int, int, str]] = []
    seq = 0
    samples: list[int] = []
    counted = 0
    in_system = 0
    peak_live = 0
    arrivals = 0
    now = 0.0
    tick_at: float | None = None
    timed_total = 0.0
    timed_events = 0

    def push(at: float, kind: int, ref: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, ref))

    push(rng.expovariate(rate), 0, "c0")
    warm = False
    while events and counted < measured:
        now, _, kind, ref = heapq.heappop(events)
        if kind == 0:
            arrivals += 1
            event: Any = Enqueue(ref, f"q{rng.randrange(queues)}", rng.choice(channels))
            in_system += 1
            push(now + rng.expovariate(rate), 0, f"c{arrivals}")
        elif kind == 1:
            item, agent = ref.split("|")
            event = Accept(item, agent)
        elif kind == 2:
            event = Complete(ref, wrapup=False)
            in_system -= 1
        else:
            tick_at = None
            event = Tick()
        t0 = time.perf_counter_ns()
        state, out = decide(state, event, now)
        spent = time.perf_counter_ns() - t0
        peak_live = max(peak_live, len(state.items))
        if not warm and len(state.items) >= live * 0.98:
            warm = True
        if warm:
            samples.append(spent)
            counted += 1
            timed_total += spent
            timed_events += 1
        for d in out:
            if type(d) is Offered:
                push(now + 2.0, 1, f"{d.item_id}|{d.agent_id}")
            elif type(d) is Assigned:
                push(now + rng.expovariate(1.0 / mean_handle), 2, d.item_id)
        deadline = next_deadline(state)
        if deadline is not None and deadline != tick_at:
            tick_at = deadline
            push(max(deadline, now), 3, "")
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] / 1000.0

    waiting = sum(1 for i in state.items.values() if i.status == "waiting")
    return {
        "agents": agents, "queues": queues, "target_live": live, "rate": rate,
        "live_at_end": len(state.items), "waiting_at_end": waiting, "peak_live": peak_live,
        "measured_events": len(samples), "simulated_seconds": now,
        "p50_us": pct(0.5), "p99_us": pct(0.99), "max_us": samples[-1] / 1000.0,
        "mean_us": statistics.fmean(samples) / 1000.0,
        "events_per_second": timed_events / (timed_total / 1e9),
        "events_per_arrival": 3,
    }  # fmt: skip


# ---- 4. the SQL store --------------------------------------------------------------------------


async def _bench_sql(backend: str, url: str, conversations: int) -> dict[str, Any]:
    from sqlalchemy import select, update
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from centralita.core.clock import utcnow
    from centralita.db.engine import make_engine
    from centralita.routing import service
    from centralita.routing.models import RoutingStateRow
    from centralita.routing.store import SqlRoutingStore
    from centralita.tenants.models import Tenant

    engine = make_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    tenant_id = "ten_bench"
    try:
        async with sessions() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug="bench", name="Bench"))
        store = SqlRoutingStore()
        setup: list[Any] = [UpsertQueue(QueueConfig(f"q{q}")) for q in range(10)]
        for a in range(50):
            setup.append(UpsertAgent(AgentConfig(f"a{a}", capacity={"webchat": 3})))
            setup.append(SetPresence(f"a{a}", Presence.AVAILABLE))
        async with sessions() as session, session.begin():
            await service.apply_many(session, store, tenant_id, setup, utcnow())
        latencies: list[float] = []
        offered: dict[str, str] = {}
        rng = random.Random(5)
        open_: list[str] = []
        started = time.perf_counter()
        for n in range(conversations):
            steps: list[Any] = [Enqueue(f"c{n}", f"q{rng.randrange(10)}", "webchat")]
            for step in steps:
                t0 = time.perf_counter()
                async with sessions() as session, session.begin():
                    applied = await service.apply(session, store, tenant_id, step, utcnow())
                latencies.append(time.perf_counter() - t0)
                for d in applied.decisions:
                    if isinstance(d, Offered):
                        offered[d.item_id] = d.agent_id
                        steps.append(Accept(d.item_id, d.agent_id))
                    elif isinstance(d, Assigned):
                        open_.append(d.item_id)
                if len(open_) > 60:
                    steps.append(Complete(open_.pop(0)))
        elapsed = time.perf_counter() - started
        baseline: list[float] = []
        for _ in range(len(latencies)):
            t0 = time.perf_counter()
            async with sessions() as session, session.begin():
                query = select(RoutingStateRow.seq).where(RoutingStateRow.tenant_id == tenant_id)
                if backend != "sqlite":
                    query = query.with_for_update()
                seq = await session.scalar(query)
                await session.execute(update(RoutingStateRow)
                                      .where(RoutingStateRow.tenant_id == tenant_id)
                                      .values(seq=seq))  # fmt: skip
            baseline.append(time.perf_counter() - t0)
    finally:
        await engine.dispose()
    latencies.sort()
    baseline.sort()

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] * 1000.0

    return {
        "backend": backend, "events": len(latencies), "conversations": conversations,
        "events_per_second": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
        "baseline_p50_ms": pct(baseline, 0.5), "baseline_p99_ms": pct(baseline, 0.99),
        "ratio_p50": pct(latencies, 0.5) / pct(baseline, 0.5),
    }  # fmt: skip


def bench_sql(backend: str, conversations: int) -> dict[str, Any]:
    from tests.support.live_server import create_database, drop_database

    url = create_database(backend, Path(tempfile.mkdtemp()))
    try:
        return asyncio.run(_bench_sql(backend, url, conversations))
    finally:
        drop_database(url)


# ---- report ------------------------------------------------------------------------------------


def render(results: dict[str, Any], when: str, where: str) -> str:
    s, v, e = results["simulator"], results["validation"], results["engine"]
    lines = [
        f"Run {when} on {where}.", "",
        "**Simulator** (`centralita simulate`, the real engine in the loop):", "",
        "| calls | seconds | calls/s | SL(20 s) | ASA (s) | simpy M/M/c seconds | ratio |",
        "|---|---|---|---|---|---|---|",
        f"| {s['calls']:,} | {s['seconds']:.1f} | {s['calls_per_second']:,.0f} "
        f"| {s['service_level']:.4f} | {s['asa']:.2f} | {s['simpy_seconds']:.1f} "
        f"| {s['ratio']:.2f}× |", "",
        f"**Erlang C validation**: {v['runs']} replications, {v['calls']:,} calls in "
        f"{v['seconds']:.0f} s on every core. Service level {v['service_level']:.4f} "
        f"± {v['service_level_ci']:.4f} (Erlang C {v['formula_service_level']:.4f}), ASA "
        f"{v['asa']:.2f} ± {v['asa_ci']:.2f} s (Erlang C {v['formula_asa']:.2f} s), P(wait) "
        f"{v['p_wait']:.4f} (Erlang C {v['formula_p_wait']:.4f}).", "",
        f"**Engine at scale** (pure `decide`, one core): {e['agents']:,} agents, "
        f"{e['queues']:,} queues, {e['live_at_end']:,} live conversations at the end "
        f"({e['waiting_at_end']:,} waiting), Poisson arrivals at {e['rate']:.0f}/s, "
        f"{e['measured_events']:,} events measured after warm-up:", "",
        "| p50 µs | p99 µs | max µs | events/s on one core | arrivals/s that is (3 events each) |",
        "|---|---|---|---|---|",
        f"| {e['p50_us']:.1f} | {e['p99_us']:.1f} | {e['max_us']:.0f} "
        f"| {e['events_per_second']:,.0f} | {e['events_per_second'] / 3:,.0f} |", "",
        "**SQL store** (one tenant, 50 agents, 10 queues; one transaction per event through "
        "`routing.service`, projections and outbox included; baseline: a transaction that "
        "only locks and bumps the tenant's routing row):", "",
        "| backend | events | events/s | p50 ms | p99 ms | baseline p50 ms | baseline p99 ms "
        "| p50 ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results["sql"]:
        lines.append(
            f"| {r['backend']} | {r['events']:,} | {r['events_per_second']:,.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['baseline_p50_ms']:.2f} "
            f"| {r['baseline_p99_ms']:.2f} | {r['ratio_p50']:.1f}× |"
        )
    return "\n".join(lines)


def write_docs(block: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    if START in text and END in text:
        text = text.split(START, 1)[0] + START + "\n" + block + "\n" + END + text.split(END, 1)[1]
    else:
        text += (
            "\n## Routing (benchmarks/routing.py)\n\n" + START + "\n" + block + "\n" + END + "\n"
        )
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, Any] = {}
    print("simulator ...", flush=True)
    results["simulator"] = bench_simulator(20_000 if quick else 1_000_000)
    print(json.dumps(results["simulator"]), flush=True)
    print("validation ...", flush=True)
    results["validation"] = bench_validation(3 if quick else 30, 10_000 if quick else 100_000)
    print(json.dumps(results["validation"]), flush=True)
    print("engine at scale ...", flush=True)
    results["engine"] = (
        bench_engine(750, 500, 5000, 50, 20_000) if quick
        else bench_engine(7500, 5000, 50_000, 500, 200_000)
    )  # fmt: skip
    print(json.dumps(results["engine"]), flush=True)
    results["sql"] = []
    for backend in [b for b in args.backends.split(",") if b]:
        print(f"sql store on {backend} ...", flush=True)
        row = bench_sql(backend, 100 if quick else 1000)
        results["sql"].append(row)
        print(json.dumps(row), flush=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = render(results, when, machine())
    print(block)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not args.no_docs and not quick:
        write_docs(block)


if __name__ == "__main__":
    main()
