"""Ingest benchmark: signed provider webhooks into `centralita serve`, against bare ASGI.

    .venv/bin/python benchmarks/ingest.py [--messages N] [--concurrency C]
                                          [--backends sqlite,postgresql]
                                          [--channels simulator,sms,voice,whatsapp,email,webchat]
                                          [--no-docs]

Every channel is driven in its provider's own wire format with its signature checked
(X-Simulator-Signature, X-Twilio-Signature, X-Hub-Signature-256, the mail hook's
X-Centralita-Signature, the web chat visitor's X-Webchat-Token), built by the drivers of the
channel contract suite (tests/channels/contract.py). Voice answers inside the webhook, so its
figure includes a whole receptionist turn (NLU, dialogue, TwiML); the other channels answer
through the outbox after the 2xx. Replies go to local stand-ins of the provider APIs.

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

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from tests.channels.contract import (  # noqa: E402
    Driver,
    EmailDriver,
    TwilioSmsDriver,
    TwilioVoiceDriver,
    WebChatDriver,
    WhatsAppDriver,
    smtp_stand_in,
)
from tests.channels.fake_graph import fake_graph  # noqa: E402
from tests.channels.fake_twilio import fake_twilio  # noqa: E402
from tests.simulator_client import simulator_request  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    ServerProcess,
    create_database,
    drop_database,
    free_port,
    pinned,
    seed_tenant,
)

from centralita.channels.models import ChannelAccount  # noqa: E402
from centralita.conversations.models import Message  # noqa: E402
from centralita.core.ids import new_id  # noqa: E402
from centralita.events.models import OutboxEvent  # noqa: E402

SERVER_CPUS = "0"
CLIENT_CPU = 1
DOCS = ROOT / "docs" / "benchmarks.md"
TARGETS = {"sqlite": 300, "postgresql": 1000}
HOST = "127.0.0.1"
CHANNELS = ("simulator", "sms", "voice", "whatsapp", "email", "webchat")
# What the served process believes its public URL is: Twilio signs the URL it called.
PUBLIC_BASE = "https://bench.centralita.example"

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


@dataclass
class Load:
    sent: int
    ok: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]  # HTTP status (0: the connection failed) -> count

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


def channel_driver(channel: str) -> Driver:
    driver: Driver
    if channel == "sms":
        driver = TwilioSmsDriver()
    elif channel == "voice":
        driver = TwilioVoiceDriver()
    elif channel == "whatsapp":
        driver = WhatsAppDriver()
    elif channel == "email":
        driver = EmailDriver()
    elif channel == "webchat":
        driver = WebChatDriver()
    else:
        raise ValueError(f"no driver for channel {channel}")
    driver.public = PUBLIC_BASE
    return driver


def customer_address(channel: str, digits: str) -> str:
    """The customer's address in the channel's own form."""
    if channel == "whatsapp":
        return digits
    if channel == "email":
        return f"c{digits}@customer.example"
    if channel == "webchat":
        return f"wv_benchvisitor{digits}"
    return "+" + digits


def build_channel_requests(
    channel: str, account_id: str, tenant_id: str, n: int, *, prefix: str, repeat_share: float,
    seed: int,
) -> list[Request]:  # fmt: skip
    """As ``build_requests``, in the channel's provider wire format, signed."""
    if channel == "simulator":
        raise ValueError("use build_requests")
    driver = channel_driver(channel)
    driver.bind(account_id, tenant_id)  # web chat tokens name the tenant
    rng = random.Random(seed)
    out = []
    for i in range(n):
        regular = rng.random() < repeat_share
        digits = f"3469{rng.randrange(50):07d}" if regular else f"3461{i:07d}"
        driver.customer = customer_address(channel, digits)
        wire = driver.inbound(account_id, f"{prefix}-{i}", f"Hola, quería pedir cita ({i})")
        out.append((f"/hooks/{account_id}{wire.suffix}", wire.body, wire.headers))
    return out


def seed_accounts(url: str, tenant_id: str, stand_ins: dict[str, str]) -> dict[str, str]:
    """One channel account per provider channel for the tenant; returns channel -> id."""

    async def main() -> dict[str, str]:
        engine = create_async_engine(url)
        ids: dict[str, str] = {}
        try:
            async with engine.begin() as conn:
                for channel, stand_in_url in stand_ins.items():
                    config = channel_driver(channel).account(stand_in_url)
                    ids[channel] = new_id("chn")
                    await conn.execute(
                        insert(ChannelAccount).values(
                            id=ids[channel], tenant_id=tenant_id, name=f"bench-{channel}",
                            kind=config.kind, provider=config.provider, address=config.address,
                            secret=config.secret or "", settings=config.settings, enabled=True,
                            created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
                        )
                    )  # fmt: skip
        finally:
            await engine.dispose()
        return ids

    return asyncio.run(main())


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
    statuses: dict[int, int] = {}
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
                    statuses[0] = statuses.get(0, 0) + 1
                    continue
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(time.perf_counter() - t0)
                ok += 200 <= status < 300
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(len(requests), ok, time.perf_counter() - start, latencies, statuses)


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


async def count_and_drain(
    url: str, account_id: str, patience: float = 300, *, inbound_only: bool = False
) -> tuple[int, float]:
    """Messages stored for the account, and seconds until the outbox was fully relayed.

    ``patience=0`` only counts (a server without workers never drains the outbox).
    """
    engine = create_async_engine(url)
    start = time.monotonic()
    try:
        async with engine.connect() as conn:
            query = (
                select(func.count())
                .select_from(Message)
                .where(Message.channel_account_id == account_id)
            )
            if inbound_only:  # voice stores the receptionist's spoken answers with the turn
                query = query.where(Message.direction == "inbound")
            stored = await conn.scalar(query)
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
    channel: str
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


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> list[Row]:
    url = create_database(backend, tmp)
    channels = [c for c in args.channels.split(",") if c]
    rows: list[Row] = []
    sms, wa = TwilioSmsDriver(), WhatsAppDriver()
    try:
        with (
            fake_twilio(sms.sid, sms.token) as twilio,
            fake_graph(wa.number_id, wa.token) as graph,
            smtp_stand_in() as smtp,
        ):
            stand_ins = {
                "sms": twilio.url, "voice": twilio.url, "whatsapp": graph.url,
                "email": smtp.url, "webchat": "",
            }  # fmt: skip
            stand_ins = {c: u for c, u in stand_ins.items() if c in channels}
            warm_tenant = seed_tenant(url, tmp)
            tenant = seed_tenant(url, tmp)
            warm_ids = seed_accounts(url, warm_tenant.tenant_id, stand_ins)
            ids = seed_accounts(url, tenant.tenant_id, stand_ins)
            warm_ids["simulator"], ids["simulator"] = warm_tenant.account_id, tenant.account_id
            server = ServerProcess(
                url, tmp, cpus=SERVER_CPUS, relay_interval=1.0, workers=not args.no_workers,
                extra_env={"CENTRALITA_PUBLIC_BASE_URL": PUBLIC_BASE, wa.token_env: wa.token},
            ).wait_ready()  # fmt: skip
            try:
                for channel in channels:
                    rows.append(
                        run_channel(backend, channel, args, server, url,
                                    (warm_tenant.tenant_id, warm_tenant.secret, warm_ids[channel]),
                                    (tenant.tenant_id, tenant.secret, ids[channel]))
                    )  # fmt: skip
            finally:
                server.stop()
    finally:
        drop_database(url)
    return rows


def run_channel(
    backend: str, channel: str, args: argparse.Namespace, server: ServerProcess, url: str,
    warm: tuple[str, str, str], measured: tuple[str, str, str],
) -> Row:  # fmt: skip
    """``warm`` and ``measured``: a tenant id, its simulator secret and the channel's account."""
    (warm_tenant, warm_secret, warm_account), (tenant, secret, account) = warm, measured
    n, seed = args.messages, 1
    if channel == "simulator":
        warmup = build_requests(
            warm_account, warm_secret, min(200, n), prefix="warm",
            repeat_share=args.repeat_share, seed=seed,
        )  # fmt: skip
        requests = build_requests(
            account, secret, n, prefix="bench", repeat_share=args.repeat_share, seed=seed + 1
        )
    else:
        warmup = build_channel_requests(
            channel, warm_account, warm_tenant, min(200, n), prefix="warm",
            repeat_share=args.repeat_share, seed=seed,
        )  # fmt: skip
        requests = build_channel_requests(
            channel, account, tenant, n, prefix="bench", repeat_share=args.repeat_share,
            seed=seed + 1,
        )  # fmt: skip
    print(f"[{backend}/{channel}] baseline (bare ASGI) ...", flush=True)
    baseline, baseline_cpu = run_baseline(requests, args.concurrency, warmup)
    print(f"[{backend}/{channel}] centralita serve ...", flush=True)
    wait = 0 if args.no_workers else 300
    asyncio.run(drive(server.port, warmup, args.concurrency))
    asyncio.run(count_and_drain(url, warm_account, wait))
    cpu = cpu_seconds(server.proc.pid)
    load = asyncio.run(drive(server.port, requests, args.concurrency))
    stored, drain = asyncio.run(count_and_drain(url, account, wait, inbound_only=True))
    cpu = (cpu_seconds(server.proc.pid) - cpu) / n
    if load.ok < load.sent:
        print(f"[{backend}/{channel}] statuses {load.statuses}; the server's log ends:\n"
              f"{server.log()[-3000:]}", flush=True)  # fmt: skip
    return Row(backend, channel, n, args.concurrency, load, baseline, stored, drain, cpu,
               baseline_cpu)  # fmt: skip


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
        f"| {when} | {where} | {row.backend} | {row.channel} | {row.messages} | {row.concurrency} "
        f"| {row.load.rate:.0f} | {row.load.percentile(0.5):.0f} "
        f"| {row.load.percentile(0.99):.0f} | {row.baseline.rate:.0f} "
        f"| {row.ratio:.1%} | {row.cpu_per_message * 1000:.1f} "
        f"| {row.stored}/{row.messages} | {row.drain_seconds:.1f} |"
    )


# Rows with a channel column; the single-channel rows of earlier runs stay in their own table.
START, END = "<!-- channels:start -->", "<!-- channels:end -->"
HEADER = (
    "| date | machine | backend | channel | N | concurrency | msg/s | p50 ms | p99 ms "
    "| baseline req/s | ratio | server CPU ms/msg | stored | outbox drained after (s) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def write_docs(lines: list[str]) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    previous: list[str] = []
    if START in text and END in text:
        block = text.split(START, 1)[1].split(END, 1)[0]
        previous = [ln for ln in block.strip().splitlines()[2:] if ln.startswith("|")]
        text = text.split(START, 1)[0] + START + "\n{table}\n" + END + text.split(END, 1)[1]
    else:
        text += "\n## Ingest per channel\n\n" + START + "\n{table}\n" + END + "\n"
    table = "\n".join([HEADER, *previous, *lines])
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.replace("{table}", table, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--channels", default=",".join(CHANNELS))
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
            for row in run_backend(backend, args, Path(tmp)):
                target = TARGETS.get(backend) if row.channel == "simulator" else None
                print(
                    f"[{backend}/{row.channel}] {row.load.rate:.0f} msg/s (target {target}), "
                    f"p50 {row.load.percentile(0.5):.1f} ms, "
                    f"p99 {row.load.percentile(0.99):.1f} ms, "
                    f"{row.load.sent - row.load.ok} errors; baseline {row.baseline.rate:.0f} "
                    f"req/s (ratio {row.ratio:.1%}); stored {row.stored}/{row.messages}; "
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
