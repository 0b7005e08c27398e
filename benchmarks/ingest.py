"""Ingest benchmark: signed simulator messages into `centralita serve`, against bare ASGI.

    .venv/bin/python benchmarks/ingest.py [--messages N] [--concurrency C]
                                          [--backends sqlite,postgresql] [--no-docs]

For each backend it makes a throw-away database, seeds a tenant with a simulator account,
starts `centralita serve` (workers on, as in production) pinned to CPU 0 with taskset, and
drives it from this process pinned to CPU 1. The baseline is benchmarks/bare_asgi.py, served
by the same uvicorn settings on the same CPU, driven by the same client with the same bodies.
After each run it checks that the database holds exactly N messages and waits until the
outbox relay has published every event. Results are appended to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support and tests.simulator_client

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from tests.simulator_client import simulator_request  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    ServerProcess,
    create_database,
    drop_database,
    free_port,
    pinned,
    seed_tenant,
)

from centralita.conversations.models import Message  # noqa: E402
from centralita.events.models import OutboxEvent  # noqa: E402

SERVER_CPUS = "0"
CLIENT_CPU = 1
DOCS = ROOT / "docs" / "benchmarks.md"
TARGETS = {"sqlite": 300, "postgresql": 1000}
HOST = "127.0.0.1"

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


@dataclass
class Load:
    sent: int
    ok: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def build_requests(
    account_id: str, secret: str, n: int, *, prefix: str, repeat_share: float, seed: int
) -> list[Request]:
    """N messages with unique ids: mostly new customers, ``repeat_share`` from 50 regulars."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        regular = rng.random() < repeat_share
        value = f"3469{rng.randrange(50):07d}" if regular else f"3461{i:07d}"
        body, headers = simulator_request(
            secret, text=f"Hola, quería pedir cita ({i})", value=value, msg_id=f"{prefix}-{i}"
        )
        out.append((f"/hooks/{account_id}", body, headers))
    return out


class Connection:
    """A minimal keep-alive HTTP/1.1 client: far cheaper per request than a full client, so
    the load generator's single core is not what the benchmark measures."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length, close = 0, False
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def drive(port: int, requests: list[Request], concurrency: int) -> Load:
    """``concurrency`` keep-alive connections, each posting its next message when answered."""
    pending = iter(requests)
    latencies: list[float] = []
    ok = 0

    async def worker() -> None:
        nonlocal ok
        conn = Connection(port)
        try:
            for path, body, headers in pending:
                t0 = time.perf_counter()
                try:
                    status = await conn.post(path, body, headers)
                except (OSError, asyncio.IncompleteReadError):
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - t0)
                ok += 200 <= status < 300
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(len(requests), ok, time.perf_counter() - start, latencies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("baseline server exited")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("baseline server did not start")


def run_baseline(
    requests: list[Request], concurrency: int, warmup: list[Request]
) -> tuple[Load, float]:
    """The bare ASGI endpoint's load result and its CPU seconds per request."""
    port = free_port()
    command = [sys.executable, str(ROOT / "benchmarks" / "bare_asgi.py"), "--port", str(port)]
    proc = subprocess.Popen(pinned(command, SERVER_CPUS))
    try:
        wait_listening(port, proc)
        asyncio.run(drive(port, warmup, concurrency))
        cpu = cpu_seconds(proc.pid)
        load = asyncio.run(drive(port, requests, concurrency))
        return load, (cpu_seconds(proc.pid) - cpu) / len(requests)
    finally:
        proc.terminate()
        proc.wait()


async def count_and_drain(url: str, account_id: str, patience: float = 300) -> tuple[int, float]:
    """Messages stored for the account, and seconds until the outbox was fully relayed.

    ``patience=0`` only counts (a server without workers never drains the outbox).
    """
    engine = create_async_engine(url)
    start = time.monotonic()
    try:
        async with engine.connect() as conn:
            stored = await conn.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.channel_account_id == account_id)
            )
        while time.monotonic() - start < patience:
            async with engine.connect() as conn:
                left = await conn.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                )
            if not left:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return int(stored or 0), time.monotonic() - start


@dataclass
class Row:
    backend: str
    messages: int
    concurrency: int
    load: Load
    baseline: Load
    stored: int
    drain_seconds: float
    cpu_per_message: float  # server process CPU seconds, until the outbox was drained
    baseline_cpu_per_request: float

    @property
    def ratio(self) -> float:
        return self.load.rate / self.baseline.rate


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> Row:
    url = create_database(backend, tmp)
    try:
        warm_tenant = seed_tenant(url, tmp)
        tenant = seed_tenant(url, tmp)
        n = args.messages
        seed = 1
        warmup = build_requests(
            warm_tenant.account_id, warm_tenant.secret, min(200, n), prefix="warm",
            repeat_share=args.repeat_share, seed=seed,
        )  # fmt: skip
        requests = build_requests(
            tenant.account_id, tenant.secret, n, prefix="bench",
            repeat_share=args.repeat_share, seed=seed + 1,
        )  # fmt: skip
        print(f"[{backend}] baseline (bare ASGI) ...", flush=True)
        baseline, baseline_cpu = run_baseline(requests, args.concurrency, warmup)
        print(f"[{backend}] centralita serve ...", flush=True)
        server = ServerProcess(
            url, tmp, cpus=SERVER_CPUS, relay_interval=1.0, workers=not args.no_workers
        ).wait_ready()
        try:
            asyncio.run(drive(server.port, warmup, args.concurrency))
            wait = 0 if args.no_workers else 300
            asyncio.run(count_and_drain(url, warm_tenant.account_id, wait))
            cpu = cpu_seconds(server.proc.pid)
            load = asyncio.run(drive(server.port, requests, args.concurrency))
            stored, drain = asyncio.run(count_and_drain(url, tenant.account_id, wait))
            cpu = (cpu_seconds(server.proc.pid) - cpu) / n
        finally:
            server.stop()
        return Row(backend, n, args.concurrency, load, baseline, stored, drain, cpu, baseline_cpu)
    finally:
        drop_database(url)


def machine() -> str:
    cpu = "unknown CPU"
    mem = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    os_name = platform.platform(terse=True)
    try:
        info = platform.freedesktop_os_release()
        os_name = info.get("PRETTY_NAME", os_name)
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.1f} GiB, "
        f"Python {platform.python_version()}, {os_name}"
    )


def table_row(row: Row, when: str, where: str) -> str:
    return (
        f"| {when} | {where} | {row.backend} | {row.messages} | {row.concurrency} "
        f"| {row.load.rate:.0f} | {row.load.percentile(0.5):.0f} "
        f"| {row.load.percentile(0.99):.0f} | {row.baseline.rate:.0f} "
        f"| {row.ratio:.1%} | {row.cpu_per_message * 1000:.1f} "
        f"| {row.stored}/{row.messages} | {row.drain_seconds:.1f} |"
    )


START, END = "<!-- results:start -->", "<!-- results:end -->"
HEADER = (
    "| date | machine | backend | N | concurrency | msg/s | p50 ms | p99 ms "
    "| baseline req/s | ratio | server CPU ms/msg | stored | outbox drained after (s) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def write_docs(lines: list[str]) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    previous: list[str] = []
    if START in text and END in text:
        block = text.split(START, 1)[1].split(END, 1)[0]
        previous = [ln for ln in block.strip().splitlines()[2:] if ln.startswith("|")]
        text = text.split(START, 1)[0] + START + "\n{table}\n" + END + text.split(END, 1)[1]
    else:
        text = "# Benchmarks\n\n## Ingest\n\n" + START + "\n{table}\n" + END + "\n"
    table = "\n".join([HEADER, *previous, *lines])
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.replace("{table}", table, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat-share", type=float, default=0.2)
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--no-workers", action="store_true", help="serve without the relay (to measure its cost)"
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) > CLIENT_CPU and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {CLIENT_CPU})
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    where = machine()
    lines, failed = [], False
    with tempfile.TemporaryDirectory(prefix="centralita-bench-") as tmp:
        for backend in [b for b in args.backends.split(",") if b]:
            row = run_backend(backend, args, Path(tmp))
            target = TARGETS.get(backend)
            print(
                f"[{backend}] {row.load.rate:.0f} msg/s (target {target}), "
                f"p50 {row.load.percentile(0.5):.1f} ms, p99 {row.load.percentile(0.99):.1f} ms, "
                f"{row.load.sent - row.load.ok} errors; baseline {row.baseline.rate:.0f} req/s "
                f"(ratio {row.ratio:.1%}); stored {row.stored}/{row.messages}; "
                f"outbox drained {row.drain_seconds:.1f} s after the load; server CPU "
                f"{row.cpu_per_message * 1000:.2f} ms/msg (baseline "
                f"{row.baseline_cpu_per_request * 1000:.3f} ms/req)",
                flush=True,
            )
            failed |= row.stored != row.messages or row.load.ok != row.messages
            lines.append(table_row(row, when, where))
    if not args.no_docs:
        write_docs(lines)
    if failed:
        sys.exit("FAILED: messages were lost or rejected")


if __name__ == "__main__":
    main()
