"""KPI dashboard benchmark: today's supervisor queries on a big database, and ingest beside them.

    .venv/bin/python benchmarks/kpi_dashboard.py [--messages 1000000] [--conversations 100000]
                                                 [--backends postgresql,sqlite] [--no-docs]

1. Seeds one tenant with ``--conversations`` conversations (one interaction each, a tenth of
   them with a second one), ``--messages`` messages spread over them, 50,000 contacts, 10
   queues, 50 agents with about 20 presence changes a day each, a survey answer for a fifth
   of the person-handled interactions,
   spread over the last 90 days, with a share of it today (``--today-shares``: an even
   spread, 1/90, then a busy day, 3 %; one database each). Rows go in through SQLAlchemy Core
   in batches.
2. Times each of today's dashboard reports (``analytics.service.today``, in total and grouped
   by queue, agent, channel and hour) 200 times: p50, p99 and max, against a baseline measured
   in the same run (``SELECT 1`` through the same engine: the floor of any query).
3. Ingest beside reporting: a real ``centralita serve`` process takes signed simulator messages
   (concurrency 8) three times: alone, while another process runs 90-day reports back to back
   on the same database, and while the same server answers 90-day reports on its own API (the
   one-process install). Reports the p99s and that every message was answered with a 2xx.

Writes the figures between the kpi markers of docs/benchmarks.md (unless --no-docs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import build_requests, drive, machine
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from tests.support.live_server import ServerProcess, create_database, drop_database, seed_tenant

from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.routing.models import PresenceLogEntry
from centralita.surveys.models import Survey
from centralita.tenants.models import Queue, StaffMember

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- kpi:start -->", "<!-- kpi:end -->"
LIVE_START, LIVE_END = "<!-- kpi-live:start -->", "<!-- kpi-live:end -->"
CHANNELS = ("whatsapp", "sms", "voice", "email", "webchat")
INTENTS = ("book_appointment", "opening_hours", "prices", "speak_to_person", "cancel", "other")
BATCH = 5_000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def _insert(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        await session.execute(insert(table), rows[i : i + BATCH])


async def seed(
    url: str, tenant_id: str, conversations: int, messages: int, today_share: float
) -> dict[str, Any]:
    """The tenant's history, bulk-inserted; returns what was written and how long it took."""
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    queues = [
        {"id": f"qu_b{q}", "tenant_id": tenant_id, "key": f"q{q}", "name": f"Queue {q}"}
        for q in range(10)
    ]
    agents = [
        {"id": f"st_b{a}", "tenant_id": tenant_id, "key": f"a{a}", "name": f"Agent {a}"}
        for a in range(50)
    ]
    n_contacts = min(50_000, conversations)
    contacts = [
        {
            "id": f"ct_b{c}",
            "tenant_id": tenant_id,
            "name": f"Contact {c}",
            "value": rng.randrange(0, 2000),
        }
        for c in range(n_contacts)
    ]
    # the presence log occupancy reads: each agent changes state about 20 times a working day
    presence: list[dict[str, Any]] = []
    states = ("available", "busy", "away", "available", "offline")
    for day in range(90, -1, -1):
        for a in range(50):
            for change in range(20):
                at = now - dt.timedelta(
                    days=day, hours=-8 - change * 0.5, minutes=rng.uniform(0, 20)
                )
                if at >= now:
                    break
                presence.append(
                    {
                        "tenant_id": tenant_id,
                        "agent_id": f"st_b{a}",
                        "presence": states[change % len(states)],
                        "previous": states[(change - 1) % len(states)],
                        "at": at,
                    }
                )
    async with sessions() as session, session.begin():
        await _insert(session, Queue.__table__, queues)
        await _insert(session, StaffMember.__table__, agents)
        await _insert(session, Contact.__table__, contacts)
        await _insert(session, PresenceLogEntry.__table__, presence)
    per_conversation = max(1, messages // conversations)
    written = {
        "conversations": 0,
        "interactions": 0,
        "messages": 0,
        "surveys": 0,
        "today": 0,
        "presence_changes": len(presence),
    }
    chunk = 2_000
    for base in range(0, conversations, chunk):
        convs: list[dict[str, Any]] = []
        inters: list[dict[str, Any]] = []
        msgs: list[dict[str, Any]] = []
        surveys: list[dict[str, Any]] = []
        for n in range(base, min(conversations, base + chunk)):
            today = rng.random() < today_share
            if today:
                midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
                span = max(60.0, (now - midnight).total_seconds() - 60)
                arrived = midnight + dt.timedelta(seconds=rng.uniform(0, span))
                written["today"] += 1
            else:
                arrived = now - dt.timedelta(days=rng.uniform(1, 90))
            channel = rng.choice(CHANNELS)
            contact = f"ct_b{rng.randrange(n_contacts)}"
            conv_id = f"cv_b{n}"
            bot_only = rng.random() < 0.4
            abandoned = not bot_only and rng.random() < 0.08
            convs.append(
                {
                    "id": conv_id,
                    "tenant_id": tenant_id,
                    "contact_id": contact,
                    "status": "closed",
                    "owner_type": "bot" if bot_only else "agent",
                    "last_channel": channel,
                    "intake": {"intent": rng.choice(INTENTS)},
                    "tags": [],
                    "last_message_at": arrived,
                    "closed_at": arrived,
                    "created_at": arrived,
                    "updated_at": arrived,
                }
            )
            for leg in range(2 if rng.random() < 0.1 else 1):
                start = arrived + dt.timedelta(minutes=30 * leg)
                wait = rng.expovariate(1 / 15)
                talk = rng.expovariate(1 / 180)
                agent = None if bot_only else f"st_b{rng.randrange(50)}"
                queued = None if bot_only else start + dt.timedelta(seconds=5)
                answered = None if bot_only or abandoned else queued + dt.timedelta(seconds=wait)
                ended = (answered or start) + dt.timedelta(seconds=talk)
                inter_id = f"in_b{n}_{leg}"
                inters.append(
                    {
                        "id": inter_id,
                        "tenant_id": tenant_id,
                        "conversation_id": conv_id,
                        "contact_id": contact,
                        "channel": channel,
                        "direction": "inbound",
                        "queue_id": None if bot_only else f"qu_b{rng.randrange(10)}",
                        "agent_id": None if abandoned else agent,
                        "arrived_at": start,
                        "queued_at": queued,
                        "offered_at": answered,
                        "answered_at": answered,
                        "ended_at": ended,
                        "abandoned_at": queued + dt.timedelta(seconds=wait) if abandoned else None,
                        "wrapup_started_at": None if answered is None else ended,
                        "wrapup_ended_at": None
                        if answered is None
                        else ended + dt.timedelta(seconds=20),
                        "hold_seconds": 0.0,
                        "handled_by_bot": bot_only,
                        "disposition": "abandoned" if abandoned else "resolved",
                    }
                )
                if agent and answered and rng.random() < 0.2:
                    surveys.append(
                        {
                            "id": f"sv_b{n}_{leg}",
                            "tenant_id": tenant_id,
                            "interaction_id": inter_id,
                            "conversation_id": conv_id,
                            "contact_id": contact,
                            "agent_id": agent,
                            "channel": channel,
                            "kind": "csat",
                            "status": "answered",
                            "sent_at": ended,
                            "expires_at": ended + dt.timedelta(hours=48),
                            "answered_at": ended + dt.timedelta(minutes=3),
                            "score": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
                        }
                    )
            for m in range(per_conversation):
                msgs.append(
                    {
                        "id": f"msg_b{n}_{m}",
                        "tenant_id": tenant_id,
                        "conversation_id": conv_id,
                        "interaction_id": f"in_b{n}_0",
                        "contact_id": contact,
                        "channel": channel,
                        "direction": "inbound" if m % 2 == 0 else "outbound",
                        "author_type": "contact"
                        if m % 2 == 0
                        else ("bot" if bot_only else "agent"),
                        "body": f"Mensaje {m} de la conversación {n}: quería pedir cita.",
                        "delivery_status": "received" if m % 2 == 0 else "delivered",
                        "meta": {},
                        "created_at": arrived + dt.timedelta(seconds=20 * m),
                    }
                )
        async with sessions() as session, session.begin():
            await _insert(session, Conversation.__table__, convs)
            await _insert(session, Interaction.__table__, inters)
            await _insert(session, Message.__table__, msgs)
            if surveys:
                await _insert(session, Survey.__table__, surveys)
        written["conversations"] += len(convs)
        written["interactions"] += len(inters)
        written["messages"] += len(msgs)
        written["surveys"] += len(surveys)
    async with engine.begin() as conn:  # committed: statistics are transactional
        await conn.execute(text("ANALYZE"))
    async with engine.connect() as conn:
        counted = await conn.scalar(select(func.count()).select_from(Message.__table__))
    await engine.dispose()
    written["messages_in_database"] = int(counted or 0)
    written["seconds"] = time.perf_counter() - started
    return written


async def time_dashboard(url: str, tenant_id: str, rounds: int) -> dict[str, Any]:
    """Today's reports through ``analytics.service``, each timed ``rounds`` times."""
    from centralita.analytics import service as analytics

    engine = create_async_engine(url, pool_size=5) if "postgresql" in url else None
    engine = engine or create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    results: dict[str, Any] = {}
    try:
        baseline: list[float] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
            baseline.append((time.perf_counter() - t0) * 1000)
        results["baseline"] = baseline
        # as `centralita serve` does before it serves: what is loaded by now is never garbage
        await _dashboard_once(sessions, tenant_id)
        gc.collect()
        gc.freeze()
        for group in (None, "queue", "agent", "channel", "hour"):
            samples: list[float] = []
            contacts = 0
            for _ in range(rounds):
                t0 = time.perf_counter()
                async with sessions() as session:
                    report = await analytics.today(
                        session, tenant_id=tenant_id, now=dt.datetime.now(dt.UTC), group_by=group
                    )
                samples.append((time.perf_counter() - t0) * 1000)
                contacts = report.total.count
            results[group or "total"] = samples
            results[f"{group or 'total'}_count"] = contacts
        t0 = time.perf_counter()
        async with sessions() as session:
            end = dt.datetime.now(dt.UTC)
            report = await analytics.report(
                session,
                tenant_id=tenant_id,
                start=end - dt.timedelta(days=90),
                end=end,
                group_by="day",
            )
        results["history_90d_ms"] = (time.perf_counter() - t0) * 1000
        results["history_90d_count"] = report.total.count
    finally:
        await engine.dispose()
    return results


async def time_watched(url: str, tenant_id: str, rounds: int, spacing: float) -> dict[str, Any]:
    """Today's reports as the API and the supervisor's page serve them (``analytics.live``):
    a request every ``spacing`` seconds, with the snapshot refreshed in the background every
    few seconds while they come; each request timed, and the snapshot's age when served."""
    from centralita.analytics.live import LiveReports

    engine = create_async_engine(url, pool_size=5) if "postgresql" in url else None
    engine = engine or create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    reports = LiveReports(sessions, lambda: dt.datetime.now(dt.UTC))
    results: dict[str, Any] = {"refresh_s": reports.refresh.total_seconds()}
    try:
        for group in (None, "queue", "agent"):
            await reports.today(tenant_id, group)  # the first request computes
        gc.collect()
        gc.freeze()
        for group in (None, "queue", "agent"):
            samples: list[float] = []
            ages: list[float] = []
            before = reports.computations
            for _ in range(rounds):
                await asyncio.sleep(spacing)
                t0 = time.perf_counter()
                report = await reports.today(tenant_id, group)
                samples.append((time.perf_counter() - t0) * 1000)
                ages.append((dt.datetime.now(dt.UTC) - report.end).total_seconds())
            results[group or "total"] = samples
            results[f"{group or 'total'}_refreshes"] = reports.computations - before
            results[f"{group or 'total'}_max_age"] = max(ages)
    finally:
        await reports.close()
        await engine.dispose()
    return results


def render_watched(results: list[dict[str, Any]], when: str, where: str) -> str:
    lines = [
        f"Run {when} on {where}.",
        "",
        "| database | today's report | requests | p50 ms | p99 ms | max ms "
        "| background refreshes | oldest figures served (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        w = r["watched"]
        day = "even spread" if r["share"] < 0.02 else "busy day"
        for key in ("total", "queue", "agent"):
            v = w[key]
            lines.append(
                f"| {r['backend']}, {day} ({r['seed']['today']:,} conversations today) "
                f"| {'in total' if key == 'total' else 'by ' + key} | {len(v)} "
                f"| {statistics.median(v):.2f} | {_pct(v, 0.99):.2f} | {max(v):.1f} "
                f"| {w[key + '_refreshes']} | {w[key + '_max_age']:.1f} |"
            )
    return "\n".join(lines)


def run_watched(backend: str, share: float, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    url = create_database(backend, tmp)
    try:
        tenant = seed_tenant(url, tmp)
        seeded = asyncio.run(seed(url, tenant.tenant_id, args.conversations, args.messages, share))
        print(f"{backend}: seeded {seeded}", flush=True)
        watched = asyncio.run(time_watched(url, tenant.tenant_id, args.watched_rounds, 0.025))
        return {"backend": backend, "share": share, "seed": seeded, "watched": watched}
    finally:
        drop_database(url)


def write_block(start: str, end: str, title: str, block: str) -> None:
    text_ = DOCS.read_text(encoding="utf-8")
    if start not in text_:
        text_ += f"\n{title}\n\n{start}\n{end}\n"
    head, rest = text_.split(start, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(f"{head}{start}\n{block}\n{end}{tail}", encoding="utf-8")


async def _dashboard_once(sessions: Any, tenant_id: str) -> None:
    from centralita.analytics import service as analytics

    async with sessions() as session:
        await analytics.today(session, tenant_id=tenant_id, now=dt.datetime.now(dt.UTC))


def _report_loop(url: str, tenant_id: str, stop: Any, done: Any) -> None:
    """Another process: 90-day reports back to back until told to stop."""
    from centralita.analytics import service as analytics

    async def main() -> int:
        engine = create_async_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        count = 0
        try:
            while not stop.is_set():
                end = dt.datetime.now(dt.UTC)
                async with sessions() as session:
                    await analytics.report(
                        session,
                        tenant_id=tenant_id,
                        start=end - dt.timedelta(days=90),
                        end=end,
                        group_by="agent",
                    )
                count += 1
        finally:
            await engine.dispose()
        return count

    done.put(asyncio.run(main()))


def _api_report_loop(port: int, key: str, stop: Any, done: Any) -> None:
    """Another process: 90-day reports back to back through the ingesting server's own API."""
    import httpx

    count, statuses = 0, set()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        while not stop.is_set():
            start = (dt.date.today() - dt.timedelta(days=90)).isoformat()
            response = client.get(
                "/api/v1/kpis",
                params={"start": start, "group_by": "agent"},
                headers={"Authorization": f"Bearer {key}"},
            )
            statuses.add(response.status_code)
            count += 1
    done.put((count, sorted(statuses)))


async def _supervisor_key(url: str, tenant_id: str) -> str:
    from centralita.access import service as access_service

    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            issued = await access_service.create_api_key(
                session, tenant_id=tenant_id, name="bench", role="supervisor"
            )
    finally:
        await engine.dispose()
    return issued.secret


SCENARIOS = ("alone", "beside_reports", "beside_api_reports")


def ingest_beside_reports(url: str, tmp: Path, tenant: Any, n: int) -> dict[str, Any]:
    """Ingest alone; beside reports in another process; beside reports served by the same
    server process that ingests (the one-process install)."""
    key = asyncio.run(_supervisor_key(url, tenant.tenant_id))
    server = ServerProcess(url, tmp, relay_interval=1.0).wait_ready()
    out: dict[str, Any] = {}
    try:
        for number, label in enumerate(SCENARIOS):
            requests = build_requests(
                tenant.account_id,
                tenant.secret,
                n,
                prefix=f"kpi-{label}",
                repeat_share=0.3,
                seed=3 + number,
            )
            ctx = multiprocessing.get_context("spawn")
            stop, done = ctx.Event(), ctx.Queue()
            proc = None
            if label == "beside_reports":
                proc = ctx.Process(target=_report_loop, args=(url, tenant.tenant_id, stop, done))
            elif label == "beside_api_reports":
                proc = ctx.Process(target=_api_report_loop, args=(server.port, key, stop, done))
            if proc is not None:
                proc.start()
                time.sleep(3.0)  # the reports are running before the first message
            try:
                load = asyncio.run(drive(server.port, requests, 8))
            finally:
                if proc is not None:
                    stop.set()
                    out[f"{label}_run"] = done.get(timeout=600)
                    proc.join()
            out[label] = {
                "ok": load.ok,
                "sent": load.sent,
                "seconds": load.seconds,
                "p50_ms": _pct(load.latencies, 0.5) * 1000,
                "p99_ms": _pct(load.latencies, 0.99) * 1000,
                "max_ms": max(load.latencies) * 1000,
                "per_second": load.ok / load.seconds,
            }
    finally:
        server.stop()
    return out


def run_backend(
    backend: str, share: float, ingest: bool, args: argparse.Namespace
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    url = create_database(backend, tmp)
    try:
        tenant = seed_tenant(url, tmp)
        seeded = asyncio.run(seed(url, tenant.tenant_id, args.conversations, args.messages, share))
        print(f"{backend}: seeded {seeded}", flush=True)
        dash = asyncio.run(time_dashboard(url, tenant.tenant_id, args.rounds))
        beside = ingest_beside_reports(url, tmp, tenant, args.ingest) if ingest else None
        return {
            "backend": backend,
            "share": share,
            "seed": seeded,
            "dashboard": dash,
            "ingest": beside,
        }
    finally:
        drop_database(url)


def render(results: list[dict[str, Any]], when: str, where: str) -> str:
    lines = [f"Run {when} on {where}.", ""]
    for r in results:
        s, d, i = r["seed"], r["dashboard"], r["ingest"]
        base = d["baseline"]
        day = "an even spread" if r["share"] < 0.02 else f"a busy day: {r['share']:.0%} of it today"
        lines += [
            f"**{r['backend']}, {day}**: {s['messages_in_database']:,} messages, "
            f"{s['conversations']:,} conversations, {s['interactions']:,} interactions, "
            f"{s['surveys']:,} survey answers, {s['presence_changes']:,} presence changes "
            f"({s['today']:,} conversations today), seeded in "
            f"{s['seconds']:.0f} s.",
            "",
            "| today's report | contacts | p50 ms | p99 ms | max ms | p99 / SELECT 1 p99 |",
            "|---|---|---|---|---|---|",
        ]
        for key in ("total", "queue", "agent", "channel", "hour"):
            v = d[key]
            lines.append(
                f"| {'in total' if key == 'total' else 'by ' + key} | {d[key + '_count']:,} "
                f"| {statistics.median(v):.1f} | {_pct(v, 0.99):.1f} | {max(v):.1f} "
                f"| {_pct(v, 0.99) / _pct(base, 0.99):.0f}× |"
            )
        lines += [
            f"| baseline `SELECT 1` | | {statistics.median(base):.2f} | {_pct(base, 0.99):.2f} "
            f"| {max(base):.2f} | 1× |",
            "",
            f"A 90-day report by day ({d['history_90d_count']:,} interactions): "
            f"{d['history_90d_ms']:.0f} ms.",
            "",
        ]
        if i is None:
            lines.append("")
            continue
        lines += [
            "| ingest (simulator, concurrency 8) | 2xx | msg/s | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|",
        ]
        names = {
            "alone": "alone",
            "beside_reports": "beside 90-day reports in another process "
            f"({i.get('beside_reports_run', 0)} run)",
            "beside_api_reports": "beside 90-day reports served by the same server process "
            f"({i.get('beside_api_reports_run', (0, []))[0]} run)",
        }
        for label in SCENARIOS:
            v = i[label]
            lines.append(
                f"| {names[label]} | {v['ok']}/{v['sent']} | {v['per_second']:.0f} "
                f"| {v['p50_ms']:.0f} | {v['p99_ms']:.0f} | {v['max_ms']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_docs(block: str) -> None:
    text_ = DOCS.read_text(encoding="utf-8")
    if START not in text_:
        text_ += (
            "\n## KPI dashboard on a seeded database (benchmarks/kpi_dashboard.py)\n\n"
            f"{START}\n{END}\n"
        )
    head, rest = text_.split(START, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=400)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--today-shares",
        default="0.0111,0.03",
        help="the share of the history that arrived today, one database each: an even spread "
        "over 90 days, then a busy day",
    )
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--watched",
        action="store_true",
        help="only the served path: requests every 25 ms to analytics.live's snapshots",
    )
    parser.add_argument("--watched-rounds", type=int, default=400)
    args = parser.parse_args()
    shares = [float(x) for x in args.today_shares.split(",") if x]
    if args.watched:
        found = [
            run_watched(backend, share, args)
            for backend in args.backends.split(",")
            if backend
            for share in shares
        ]
        block = render_watched(found, dt.date.today().isoformat(), machine())
        print(block)
        if not args.no_docs:
            write_block(
                LIVE_START,
                LIVE_END,
                "### Today's dashboard as served (snapshots, `--watched`)",
                block,
            )
        return
    results = [
        run_backend(backend, share, n == 0, args)
        for backend in args.backends.split(",")
        if backend
        for n, share in enumerate(shares)
    ]
    block = render(results, dt.date.today().isoformat(), machine())
    print(block)
    if not args.no_docs:
        write_docs(block)


if __name__ == "__main__":
    main()
