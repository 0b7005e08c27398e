"""Scale-out benchmark: ingest and authenticated API reads with 1 and 2 web processes.

    .venv/bin/python benchmarks/scaleout.py [--messages 1000000] [--conversations 100000]
                                            [--ingest 3000] [--reads 6000] [--no-docs]

On PostgreSQL + Redis, on one tenant seeded with ``--messages`` messages and
``--conversations`` conversations (the KPI benchmark's seed, benchmarks/kpi_dashboard.py):

1. **Baseline**: benchmarks/bare_asgi.py in 1 and 2 uvicorn processes, driven by the same
   client with the same requests: the ceiling of Python HTTP on this machine.
2. **Ingest**: signed simulator webhooks (concurrency 32) into 1 or 2 ``centralita serve
   --no-workers`` processes, with one ``centralita worker`` relaying and answering; msg/s,
   p50/p99, every message stored.
3. **Reads**: authenticated ``GET /api/v1/conversations/{id}``, ``GET /api/v1/contacts/{id}``
   and ``GET /api/v1/conversations?limit=20`` with a supervisor's API key, random ids from the
   seed (concurrency 32), against 1 or 2 web processes: reads/s, p50/p99, all 200.

The client spreads its connections over the processes' ports round-robin (what a reverse
proxy does). Also ingest on SQLite in one ``centralita serve`` (the one-process install).
Results go between the scaleout markers of docs/benchmarks.md (unless --no-docs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from ingest import HOST, Connection, build_requests, cpu_seconds, machine, wait_listening  # noqa: E402
from kpi_dashboard import _supervisor_key, seed  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    SECRET_KEY,
    centralita_command,
    create_database,
    drop_database,
    free_port,
    seed_tenant,
)

from centralita.channels.models import InboxRequest  # noqa: E402
from centralita.contacts.models import Contact  # noqa: E402
from centralita.conversations.models import Conversation, Message  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- scaleout:start -->", "<!-- scaleout:end -->"
CONCURRENCY = 32
Request = tuple[str, str, bytes, dict[str, str]]  # method, path, body, headers


class Client(Connection):
    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
        if method == "POST":
            return await self.post(path, body, headers)
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        head = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode())
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status, length = int(raw[9:12]), 0
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


@dataclass
class Result:
    name: str
    processes: int
    n: int
    ok: int
    seconds: float
    latencies: list[float]
    cpu_ms: float  # server CPU (all its processes) per request

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(ports: list[int], requests: list[Request]) -> tuple[int, float, list[float]]:
    pending = iter(requests)
    latencies: list[float] = []
    ok = 0

    async def worker(i: int) -> None:
        nonlocal ok
        conn = Client(ports[i % len(ports)])
        try:
            for method, path, body, headers in pending:
                t0 = time.perf_counter()
                try:
                    status = await conn.request(method, path, body, headers)
                except (OSError, asyncio.IncompleteReadError):
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - t0)
                ok += status == 200 or (method == "POST" and 200 <= status < 300)
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    return ok, time.perf_counter() - start, latencies


def measure(name: str, pids: list[int], ports: list[int], requests: list[Request]) -> Result:
    warm = requests[: max(50, len(requests) // 20)]
    asyncio.run(drive(ports, warm))
    rest = requests[len(warm) :]
    cpu = sum(cpu_seconds(p) for p in pids)
    ok, seconds, latencies = asyncio.run(drive(ports, rest))
    used = sum(cpu_seconds(p) for p in pids) - cpu
    return Result(name, len(ports), len(rest), ok, seconds, latencies, used / len(rest) * 1000)


@contextlib.contextmanager
def processes(commands: list[tuple[list[str], dict[str, str], int | None]]) -> Iterator[list[int]]:
    procs = []
    try:
        for command, env, port in commands:
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            procs.append(proc)
            if port is not None:
                wait_listening(port, proc, timeout=120)
        time.sleep(1.0)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _env(
    url: str, tmp: Path, port: int | None, redis: str | None, mode: str = "inline"
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    env.update(
        CENTRALITA_INGEST_MODE=mode,
        CENTRALITA_DATABASE_URL=url,
        CENTRALITA_DATA_DIR=str(tmp),
        CENTRALITA_SECRET_KEY=SECRET_KEY,
        CENTRALITA_ENVIRONMENT="test",
        CENTRALITA_LOG_LEVEL="WARNING",
        CENTRALITA_PUBLIC_BASE_URL="http://bench.test",
    )
    if port is not None:
        env["CENTRALITA_PORT"] = str(port)
    if redis:
        env["CENTRALITA_REDIS_URL"] = redis
    return env


def cluster(
    url: str, tmp: Path, webs: int, redis: str | None, worker: bool, mode: str = "inline"
) -> list[Any]:
    command = centralita_command()
    out: list[Any] = []
    for _ in range(webs):
        port = free_port()
        flags = ["--no-workers"] if worker else []
        out.append(([*command, "serve", *flags], _env(url, tmp, port, redis, mode), port))
    if worker:
        out.append(([*command, "worker"], _env(url, tmp, None, redis, mode), None))
    return out


async def sample_ids(url: str, tenant_id: str, n: int) -> tuple[list[str], list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            conversations = list(
                await conn.scalars(
                    select(Conversation.id)
                    .where(Conversation.tenant_id == tenant_id)
                    .order_by(func.random())
                    .limit(n)
                )
            )
            contacts = list(
                await conn.scalars(
                    select(Contact.id)
                    .where(Contact.tenant_id == tenant_id)
                    .order_by(func.random())
                    .limit(n)
                )
            )
    finally:
        await engine.dispose()
    return conversations, contacts


async def stored(url: str, prefix: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    select(func.count()).where(Message.provider_message_id.like(f"{prefix}-%"))
                )
                or 0
            )
    finally:
        await engine.dispose()


async def drain(url: str, prefix: str, patience: float = 600.0) -> tuple[float, int]:
    """Seconds until every message of this run is answered (``turn_taken_at``) and no reply
    is still queued, or ``patience`` runs out; and how many were left unanswered (a
    conversation handed to a person, or a spam verdict, gets no turn)."""
    engine = create_async_engine(url)
    started = time.monotonic()
    unanswered = 0
    try:
        while time.monotonic() - started < patience:
            async with engine.connect() as conn:
                unanswered = await conn.scalar(
                    select(func.count()).where(
                        Message.provider_message_id.like(f"{prefix}-%"),
                        Message.direction == "inbound",
                        Message.turn_taken_at.is_(None),
                    )
                )
                queued = await conn.scalar(
                    select(func.count()).where(Message.delivery_status == "queued")
                )
                waiting = await conn.scalar(select(func.count()).select_from(InboxRequest))
            if not unanswered and not queued and not waiting:
                break
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()
    return time.monotonic() - started, int(unanswered or 0)


def settle(url: str, prefix: str) -> str:
    """How many of the run's messages are stored once the load ends, and how long until all
    are stored and answered (the inbox stores them after the acknowledgement)."""
    at_end = asyncio.run(stored(url, prefix))
    seconds, left = asyncio.run(drain(url, prefix))
    total = asyncio.run(stored(url, prefix))
    done = (
        f"all answered {seconds:.0f} s after the load"
        if not left
        else f"{left} unanswered {seconds:.0f} s after the load"
    )
    return f"; {at_end} stored when the load ended, {total} in the end, {done}"


def reads(key: str, conversations: list[str], contacts: list[str], n: int) -> list[Request]:
    rng = random.Random(11)
    auth = {"Authorization": f"Bearer {key}"}
    out: list[Request] = []
    for _ in range(n):
        pick = rng.random()
        if pick < 0.4:
            out.append(("GET", f"/api/v1/conversations/{rng.choice(conversations)}", b"", auth))
        elif pick < 0.8:
            out.append(("GET", f"/api/v1/contacts/{rng.choice(contacts)}", b"", auth))
        else:
            out.append(("GET", "/api/v1/conversations?limit=20", b"", auth))
    return out


def posts(account_id: str, secret: str, n: int, prefix: str) -> list[Request]:
    built = build_requests(account_id, secret, n, prefix=prefix, repeat_share=0.3, seed=5)
    return [("POST", path, body, headers) for path, body, headers in built]


def baseline(requests: list[Request], n: int) -> Result:
    commands = []
    for _ in range(n):
        port = free_port()
        command = [sys.executable, str(ROOT / "benchmarks" / "bare_asgi.py"), "--port", str(port)]
        commands.append((command, dict(os.environ), port))
    with processes(commands) as pids:
        return measure(f"bare ASGI, {requests[0][0]}", pids, [c[2] for c in commands], requests)


def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    redis = os.environ.get("CENTRALITA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = redis.rsplit("/", 1)[0] + "/15"
    with tempfile.TemporaryDirectory(prefix="scaleout-") as raw:
        tmp = Path(raw)
        url = create_database("postgresql", tmp)
        try:
            tenant = seed_tenant(url, tmp)
            print("seeding…", flush=True)
            print(
                asyncio.run(seed(url, tenant.tenant_id, args.conversations, args.messages, 0.0111)),
                flush=True,
            )
            key = asyncio.run(_supervisor_key(url, tenant.tenant_id))
            conversations, contacts = asyncio.run(sample_ids(url, tenant.tenant_id, 2000))
            read_requests = reads(key, conversations, contacts, args.reads)
            for n in (1, 2):
                results.append(
                    baseline(posts(tenant.account_id, tenant.secret, args.ingest, f"base{n}"), n)
                )
                results.append(baseline(read_requests, n))
                for mode in args.modes:
                    prefix = f"pg{n}{mode}"
                    commands = cluster(url, tmp, n, redis, worker=True, mode=mode)
                    with processes(commands) as pids:
                        ports = [c[2] for c in commands if c[2] is not None]
                        web_pids = pids[: len(ports)]
                        ingest = measure(
                            f"ingest (PostgreSQL, {mode})",
                            web_pids,
                            ports,
                            posts(tenant.account_id, tenant.secret, args.ingest, prefix),
                        )
                        ingest.name += settle(url, prefix)
                        results.append(ingest)
                        if mode == args.modes[-1]:
                            results.append(
                                measure("API reads (PostgreSQL)", web_pids, ports, read_requests)
                            )
                    print(*(r.name for r in results[-2:]), sep="\n", flush=True)
        finally:
            drop_database(url)
        url = create_database("sqlite", tmp)
        try:
            tenant = seed_tenant(url, tmp)
            for mode in args.modes:
                commands = cluster(url, tmp, 1, None, worker=False, mode=mode)
                with processes(commands) as pids:
                    ports = [c[2] for c in commands if c[2] is not None]
                    prefix = f"lite{mode}"
                    r = measure(
                        f"ingest (SQLite, one process, {mode})",
                        pids,
                        ports,
                        posts(tenant.account_id, tenant.secret, args.ingest, prefix),
                    )
                    r.name += settle(url, prefix)
                    results.append(r)
                    print(results[-1].name, flush=True)
        finally:
            drop_database(url)
    return results


def render(results: list[Result]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Run on {when}; {machine()}; concurrency {CONCURRENCY}; server and "
        "client share the machine's two cores, and PostgreSQL and Redis run on it too.",
        "",
        "| what | web processes | requests | 2xx | req/s | p50 ms | p99 ms | server CPU ms/req |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.processes} | {r.n:,} | {r.ok:,} | {r.rate:,.0f} "
            f"| {r.pct(0.5):.1f} | {r.pct(0.99):.1f} | {r.cpu_ms:.2f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_docs(block: str) -> None:
    text = DOCS.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n## Scale-out: 1 and 2 web processes (benchmarks/scaleout.py)\n\n" + block + "\n"
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=6000)
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=("inline", "inbox"),
        default=["inline", "inbox"],
        help="ingest modes to measure (CENTRALITA_INGEST_MODE)",
    )
    args = parser.parse_args()
    block = render(run(args))
    print(block)
    if not args.no_docs:
        write_docs(block)


if __name__ == "__main__":
    main()
