"""Live desktop sockets at scale: thousands of agents connected, events fanned out.

    .venv/bin/python benchmarks/desk_sockets.py [--sockets 5000] [--tenants 50] [--events 200]
                                                [--backend sqlite] [--no-docs]

Seeds ``--tenants`` tenants with ``--sockets / --tenants`` agents each (a user, a staff member
and a web session per agent), starts `centralita serve` as a real process (workers on: the
relay publishes, the hub fans out), and opens one ``/desk/ws`` socket per agent from this
process. Then a supervisor API key changes agents' presence through the API, one request at a
time, round-robin over the tenants: every such event goes to every socket of its tenant
(presence is visible to the whole team). Measured: time to open all sockets, the latency
from sending the request to each socket receiving the event (p50/p99 over all deliveries),
deliveries per second, and the server's resident memory with all sockets open.

Baseline, in the same run: the same requests with no socket open (what the API costs alone),
so the gap is what live fan-out adds.

Writes the figures between the desk-sockets markers of docs/benchmarks.md (unless --no-docs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from ingest import machine
from websockets.asyncio.client import connect
from websockets.typing import Origin

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- sockets:start -->", "<!-- sockets:end -->"


@dataclass
class Seeded:
    tenants: list[str]
    keys: dict[str, str]  # tenant -> supervisor API key
    agents: dict[str, list[str]]  # tenant -> staff ids
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (tenant, session token)


def seed(url: str, data_dir: Path, tenants: int, per_tenant: int) -> Seeded:
    from sqlalchemy import insert
    from tests.support.live_server import SECRET_KEY

    from centralita.access import service as access_service
    from centralita.access.models import User
    from centralita.bootstrap import build_container
    from centralita.config import Settings
    from centralita.core.clock import utcnow
    from centralita.core.ids import new_id
    from centralita.tenants import service as tenants_service
    from centralita.tenants.models import Queue, StaffMember

    async def main() -> Seeded:
        container = build_container(
            Settings(database_url=url, data_dir=data_dir, environment="test",
                     secret_key=SECRET_KEY, password_hash_cheap=True),  # type: ignore[arg-type]
            run_workers=False, subscribe=False,
        )  # fmt: skip
        out = Seeded([], {}, {})
        now = utcnow()
        for t in range(tenants):
            async with container.sessions() as session, session.begin():
                tenant = await tenants_service.create_tenant(
                    session, slug=f"bench-{t}", name=f"Bench {t}", timezone="Europe/Madrid",
                    locale="es", country="ES",
                )  # fmt: skip
                key = await access_service.create_api_key(
                    session, tenant_id=tenant.id, name="bench", role="supervisor"
                )
                session.add(Queue(id=new_id("que"), tenant_id=tenant.id, key="q", name="Q"))
                users, staff = [], []
                for a in range(per_tenant):
                    user_id, staff_id = new_id("usr"), new_id("stf")
                    users.append({"id": user_id, "tenant_id": tenant.id, "role": "agent",
                                  "email": f"a{a}@bench-{t}.example", "name": f"Agent {a}",
                                  "password_hash": None, "disabled": False,
                                  "created_at": now, "updated_at": now})  # fmt: skip
                    staff.append({"id": staff_id, "tenant_id": tenant.id, "key": f"a{a}",
                                  "position": a, "name": f"Agent {a}", "aliases": [],
                                  "skills": {}, "user_id": user_id, "user_role": "agent",
                                  "created_at": now, "updated_at": now})  # fmt: skip
                await session.execute(insert(User), users)
                await session.execute(insert(StaffMember), staff)
                for row in users:
                    user = await session.get(User, row["id"])
                    assert user is not None
                    issued = await access_service.start_session(
                        session, user=user, absolute=timedelta(hours=12)
                    )
                    out.tokens.append((tenant.id, issued.token))
            out.tenants.append(tenant.id)
            out.keys[tenant.id] = key.secret
            out.agents[tenant.id] = [s["id"] for s in staff]
        await container.engine.dispose()
        return out

    return asyncio.run(main())


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def run_load(base: str, seeded: Seeded, events: int, with_sockets: bool,
                   server_pid: int, presences: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    ws_base = base.replace("http://", "ws://")
    received: dict[str, list[float]] = {}  # "tenant|agent|presence" -> receive times
    sockets = []
    opened = 0.0
    by_tenant: dict[str, int] = {}
    if with_sockets:
        started = time.perf_counter()
        sem = asyncio.Semaphore(200)

        async def open_one(tenant: str, token: str) -> Any:
            async with sem:
                ws = await connect(f"{ws_base}/desk/ws", origin=Origin(base), open_timeout=60,
                                   additional_headers={"Cookie": f"centralita_session={token}"},
                                   max_queue=None)  # fmt: skip
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello", hello
                return tenant, ws

        sockets = await asyncio.gather(*(open_one(t, tok) for t, tok in seeded.tokens))
        opened = time.perf_counter() - started
        for tenant, _ in sockets:
            by_tenant[tenant] = by_tenant.get(tenant, 0) + 1

    async def reader(tenant: str, ws: Any) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("name") == "agent.presence_changed":
                    p = frame["payload"]
                    key = f"{tenant}|{p['agent_id']}|{p['presence']}"
                    received.setdefault(key, []).append(time.perf_counter())
        except Exception:
            return

    readers = [asyncio.create_task(reader(t, ws)) for t, ws in sockets]
    rss = rss_mib(server_pid)
    sent: dict[str, float] = {}
    request_ms: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        for n in range(events):
            tenant = seeded.tenants[n % len(seeded.tenants)]
            agents = seeded.agents[tenant]
            agent = agents[(n // len(seeded.tenants)) % len(agents)]
            rounds = n // (len(seeded.tenants) * len(agents))
            presence = presences[rounds % len(presences)]
            key = f"{tenant}|{agent}|{presence}"
            t0 = time.perf_counter()
            sent[key] = t0
            auth = {"Authorization": f"Bearer {seeded.keys[tenant]}"}
            r = await api.put(f"/api/v1/routing/agents/{agent}/presence",
                              json={"presence": presence}, headers=auth)  # fmt: skip
            request_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.02)
    expected = sum(by_tenant.get(k.split("|")[0], 0) for k in sent)
    deadline = time.monotonic() + 60
    while with_sockets and time.monotonic() < deadline:
        if sum(len(received.get(k, [])) for k in sent) >= expected:
            break
        await asyncio.sleep(0.2)
    latencies = sorted((t - sent[k]) * 1000 for k, times in received.items() if k in sent
                       for t in times)  # fmt: skip
    for task in readers:
        task.cancel()
    for _, ws in sockets:
        await ws.close()
    request_ms.sort()

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

    return {
        "sockets": len(sockets), "open_seconds": opened, "events": events,
        "deliveries_expected": expected, "deliveries": len(latencies),
        "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "request_p50_ms": pct(request_ms, 0.5), "request_p99_ms": pct(request_ms, 0.99),
        "request_mean_ms": statistics.fmean(request_ms), "server_rss_mib": rss,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    from tests.support.live_server import ServerProcess, create_database, drop_database

    data_dir = Path(tempfile.mkdtemp())
    url = create_database(args.backend, data_dir)
    try:
        print(f"seeding {args.sockets} agents in {args.tenants} tenants ...", flush=True)
        seeded = seed(url, data_dir, args.tenants, args.sockets // args.tenants)
        server = ServerProcess(url, data_dir, relay_interval=0.05).wait_ready()
        try:
            print("baseline (no sockets) ...", flush=True)
            base = asyncio.run(run_load(server.base_url, seeded, args.events, False,
                                        server.proc.pid, ("busy",)))  # fmt: skip
            print(json.dumps(base), flush=True)
            print(f"{args.sockets} sockets ...", flush=True)
            live = asyncio.run(run_load(server.base_url, seeded, args.events, True,
                                        server.proc.pid, ("available", "away")))  # fmt: skip
            print(json.dumps(live), flush=True)
        finally:
            server.stop()
    finally:
        drop_database(url)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"Run {when} on {machine()}, {args.backend}, one `centralita serve` process.\n\n"
        "| sockets | tenants | opened in (s) | events | deliveries | delivery p50 ms "
        "| delivery p99 ms | API p50 ms with sockets | API p50 ms without (baseline) "
        "| server RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {live['sockets']:,} | {args.tenants} | {live['open_seconds']:.1f} | {live['events']} "
        f"| {live['deliveries']:,}/{live['deliveries_expected']:,} | {live['p50_ms']:.0f} "
        f"| {live['p99_ms']:.0f} | {live['request_p50_ms']:.1f} | {base['request_p50_ms']:.1f} "
        f"| {live['server_rss_mib']:.0f} |"
    )
    print(block)
    if not args.no_docs:
        text = DOCS.read_text() if DOCS.exists() else ""
        if START in text and END in text:
            text = (
                text.split(START, 1)[0] + START + "\n" + block + "\n" + END + text.split(END, 1)[1]
            )
        else:
            heading = "\n## Desktop sockets (benchmarks/desk_sockets.py)\n\n"
            text += heading + START + "\n" + block + "\n" + END + "\n"
        DOCS.write_text(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
