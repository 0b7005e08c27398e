"""Crash harness: what goes in must come out, while a nemesis SIGKILLs the system.

    .venv/bin/python benchmarks/crash.py [--modes sqlite,pg,sqlite-inbox,pg-inbox]
                                         [--cycles 100] [--seed N] [--no-docs]

Two deployments, each on a throw-away database, bound to loopback only:

* ``sqlite``: one ``centralita serve`` process (workers inside), SQLite in WAL mode;
* ``pg``: PostgreSQL + Redis, two ``centralita serve --no-workers`` web processes and two
  ``centralita worker`` processes (outbox relay and subscribers); the harness runs its own
  Redis (append-only file, fsync always, as docs/deploy.md asks of a bus Redis).

Each with either ingest mode: inline (``sqlite``, ``pg``: the webhook stores the messages
before it answers) or accept-then-process (``sqlite-inbox``, ``pg-inbox``: the webhook
stores the raw request and workers store the messages, channels/inbox.py). In the inbox
modes, an acknowledged message still waiting in the inbox when the drain gives up counts as
delayed; one the inbox gave up on (dead) counts as lost.

The tenant is the demo clinic with a Twilio SMS number whose API is a local stand-in of
Twilio's Messages resource (tests/channels/fake_twilio.py). A load generator posts signed
Twilio SMS webhooks with unique ``MessageSid``s from many customers, each customer one message
at a time, retrying a message until it gets a 2xx (as a provider does), and records every
2xx. The nemesis SIGKILLs, at random moments under load, the server (``sqlite``) or one web
process, one worker, both workers, or Redis (``pg``), and restarts it a moment later; each
kill is one cycle. Then everything is restarted and drained, and the checker reports:

* lost: acknowledged with a 2xx but not stored, or stored but never answered by the
  receptionist (each turn commits a ``receptionist.turn`` event naming the message it
  answered); must be 0; a message whose ``message.received`` event is still waiting for a
  retry when the drain gives up is counted apart (delayed, not dropped);
* answered twice: two turns for one message; must be 0;
* duplicated: a provider message id stored twice; must be 0;
* order: customers whose stored messages are not in the order they were sent; must be 0;
* outbound: every reply queued is sent, and the stand-in saw each exactly once (a sid the
  stand-in issued that no stored reply holds is a second send); must be 0 duplicates,
  0 unsent.

Writes its figures between the crash markers of docs/benchmarks.md (unless --no-docs).
tests/chaos/test_crash_harness.py runs a few cycles of each mode in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from tests.channels.fake_twilio import FakeTwilio, fake_twilio  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    SECRET_KEY,
    centralita_command,
    create_database,
    drop_database,
    free_port,
)

from centralita.bootstrap import build_container  # noqa: E402
from centralita.channels.models import InboxRequest  # noqa: E402
from centralita.channels.twilio import signature  # noqa: E402
from centralita.config import Settings  # noqa: E402
from centralita.conversations.models import Conversation, Message  # noqa: E402
from centralita.events.models import OutboxEvent  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- crash:start -->", "<!-- crash:end -->"
SID = "AC" + "c0ffee00" * 4
TOKEN = "crash-harness-twilio-token-0001"
OUR_NUMBER = "+34910000099"
PUBLIC = "https://centralita.crash.test"  # every web process signs and checks this base URL
CUSTOMERS = 12
SEND_LEASE = 3.0  # seconds; the stand-in answers at once, so a short lease is safe here
DRAIN_PATIENCE = float(os.environ.get("CRASH_DRAIN_PATIENCE", "600"))


@dataclass
class Tally:
    acked: dict[str, int] = field(default_factory=dict)  # MessageSid -> customer
    sent_order: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    attempts: int = 0
    refused: int = 0  # connection refused, reset or 5xx: retried


@dataclass
class Report:
    mode: str
    cycles: int
    seconds: float
    acked: int
    attempts: int
    refused: int
    lost_unstored: int
    lost_unanswered: int
    delayed: int  # unanswered, its event still waiting for a retry when the drain ended
    answered_twice: int
    handed: int  # acknowledged messages of conversations a person owns (not the bot's to answer)
    duplicated: int
    out_of_order: int
    replies: int
    replies_unsent: int
    stand_in_sends: int
    send_duplicates: int
    kills: Counter[str]
    seed: int

    @property
    def clean(self) -> bool:
        return not (
            self.lost_unstored
            or self.lost_unanswered
            or self.delayed
            or self.answered_twice
            or self.duplicated
            or self.out_of_order
            or self.replies_unsent
            or self.send_duplicates
        )


class Proc:
    """A ``centralita`` subprocess (``serve`` or ``worker``) that can be SIGKILLed and restarted."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log: Path, port: int | None = None
    ) -> None:
        self.name, self.args, self.env, self.log_path, self.port = name, args, env, log, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_from = 0

    def start(self) -> None:
        # where this start's output begins: readiness is looked for after it, not in the tail
        # (a worker's reconnect tracebacks after a Redis kill can push "running" out of it)
        self.log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            if self.port is None:
                if b"running" in self.log_path.read_bytes()[self.log_from :]:
                    return
            else:
                with contextlib.suppress(httpx.HTTPError):
                    url = f"http://127.0.0.1:{self.port}/readyz"
                    if httpx.get(url, timeout=1).status_code == 200:
                        return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class RedisProc(Proc):
    """The harness's own Redis, persisting every write (AOF, fsync always)."""

    def __init__(self, directory: Path) -> None:
        port = free_port()
        args = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(directory),
        ]
        super().__init__("redis", args, dict(os.environ), directory / "redis.log", None)
        self.url = f"redis://127.0.0.1:{port}/0"
        self.redis_port = port

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ping = ["redis-cli", "-p", str(self.redis_port), "ping"]
            if subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise TimeoutError("redis not ready")


def _env(
    url: str, data_dir: Path, port: int | None, redis_url: str | None, ingest: str = "inline"
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    env.update(
        CENTRALITA_INGEST_MODE=ingest,
        CENTRALITA_DATABASE_URL=url,
        CENTRALITA_DATA_DIR=str(data_dir),
        CENTRALITA_SECRET_KEY=SECRET_KEY,
        CENTRALITA_ENVIRONMENT="test",
        CENTRALITA_PUBLIC_BASE_URL=PUBLIC,
        CENTRALITA_RELAY_INTERVAL_SECONDS="0.2",
        CENTRALITA_SEND_LEASE_SECONDS=str(SEND_LEASE),
        CENTRALITA_LOG_LEVEL="WARNING",
    )
    if port is not None:
        env["CENTRALITA_PORT"] = str(port)
    if redis_url:
        env["CENTRALITA_REDIS_URL"] = redis_url
    return env


def seed(url: str, data_dir: Path, twilio: FakeTwilio) -> str:
    """The demo clinic with a Twilio SMS number on the stand-in; returns the account id."""
    from tests.receptionist.harness import demo_document

    from centralita.channels.models import ChannelAccount
    from centralita.tenants.config.apply import apply_document
    from centralita.tenants.config.schema import ChannelConfig

    async def main() -> str:
        settings = Settings(
            database_url=url,
            data_dir=data_dir,
            environment="test",
            secret_key=SECRET_KEY,  # type: ignore[arg-type]
            password_hash_cheap=True,
        )
        container = build_container(settings, run_workers=False, subscribe=False)
        await container.start()
        try:
            doc = demo_document("clinica-dental-sonrisa")
            doc.channels.append(
                ChannelConfig(
                    name="sms",
                    kind="sms",
                    provider="twilio",
                    address=OUR_NUMBER,
                    secret=TOKEN,
                    settings={
                        "account_sid": SID,
                        "api_base_url": twilio.url,
                        "rate_per_second": 1000,
                    },
                )
            )
            async with container.sessions() as session, session.begin():
                await apply_document(session, doc, actor="crash harness", environ={})
            async with container.sessions() as session:
                account = await session.scalar(
                    select(ChannelAccount).where(
                        ChannelAccount.provider == "twilio", ChannelAccount.kind == "sms"
                    )
                )
                assert account is not None
            await container.relay.drain()
            return account.id
        finally:
            await container.stop()

    return asyncio.run(main())


def _signed(account_id: str, sid: str, customer: int, text: str) -> tuple[bytes, dict[str, str]]:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": SID,
        "From": f"+3461{customer:07d}",
        "To": OUR_NUMBER,
        "Body": text,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    url = f"{PUBLIC}/hooks/{account_id}"
    sig = signature.compute(TOKEN, url, {k: [v] for k, v in params.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return urlencode(params).encode(), headers


async def load(
    ports: list[int], account_id: str, tally: Tally, stop: asyncio.Event, rng: random.Random
) -> None:
    """Customers writing one message at a time; each retried until it gets a 2xx."""
    limits = httpx.Limits(max_connections=CUSTOMERS, max_keepalive_connections=0)
    texts = ["hola", "¿a qué hora abrís?", "quiero pedir cita", "gracias", "¿dónde estáis?"]

    async def customer(c: int, client: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            sid = f"SM{c:04d}{n:06d}" + "0" * 20
            body, headers = _signed(account_id, sid, c, f"{rng.choice(texts)} ({n})")
            tally.sent_order[c].append(sid)
            pause = 0.05
            while True:  # the provider retries until it hears a 2xx
                port = rng.choice(ports)
                tally.attempts += 1
                try:
                    r = await client.post(
                        f"http://127.0.0.1:{port}/hooks/{account_id}", content=body, headers=headers
                    )
                    if r.is_success:
                        tally.acked[sid] = c
                        break
                    assert r.status_code >= 500, (r.status_code, r.text)  # never a 4xx
                except httpx.HTTPError:
                    pass
                tally.refused += 1
                if stop.is_set() and sid not in tally.acked:
                    # the run is over: the final round (all processes up) delivers it
                    tally.sent_order[c].pop()
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)  # a provider backs off too
            n += 1
            await asyncio.sleep(rng.uniform(0.5, 1.5))  # a person types; the system keeps up

    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await asyncio.gather(*(customer(c, client) for c in range(CUSTOMERS)))


@dataclass
class Cluster:
    mode: str
    url: str
    data_dir: Path
    webs: list[Proc]
    workers: list[Proc]
    redis: RedisProc | None

    @property
    def procs(self) -> list[Proc]:
        return [*([self.redis] if self.redis else []), *self.webs, *self.workers]

    @property
    def ports(self) -> list[int]:
        return [p.port for p in self.webs if p.port is not None]

    def start_all(self) -> None:
        for p in self.procs:
            if not p.alive:
                p.start()
        for p in self.procs:
            p.wait_ready()

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def split_mode(mode: str) -> tuple[str, str]:
    """``sqlite``, ``pg``, ``sqlite-inbox``, ``pg-inbox``: the deployment and the ingest mode."""
    base, _, ingest = mode.partition("-")
    if base not in ("sqlite", "pg") or ingest not in ("", "inbox"):
        raise ValueError(f"unknown mode {mode!r}")
    return base, ingest or "inline"


@contextlib.contextmanager
def cluster(mode: str, tmp: Path, twilio: FakeTwilio) -> Iterator[tuple[Cluster, str]]:
    base, ingest = split_mode(mode)
    url = create_database("sqlite" if base == "sqlite" else "postgresql", tmp)
    try:
        account_id = seed(url, tmp, twilio)
        redis = RedisProc(tmp) if base == "pg" else None
        redis_url = redis.url if redis else None
        command = centralita_command()
        webs, workers = [], []
        for i in range(1 if base == "sqlite" else 2):
            port = free_port()
            args = [*command, "serve", *([] if base == "sqlite" else ["--no-workers"])]
            env = _env(url, tmp, port, redis_url, ingest)
            webs.append(Proc(f"web{i}", args, env, tmp / f"web{i}.log", port))
        if base == "pg":
            for i in range(2):
                workers.append(
                    Proc(
                        f"worker{i}",
                        [*command, "worker"],
                        _env(url, tmp, None, redis_url, ingest),
                        tmp / f"worker{i}.log",
                    )
                )
        c = Cluster(base, url, tmp, webs, workers, redis)
        c.start_all()
        try:
            yield c, account_id
        finally:
            c.stop_all()
    finally:
        drop_database(url)


def victims(c: Cluster, rng: random.Random) -> tuple[str, list[Proc]]:
    """What the nemesis kills this cycle."""
    if c.mode == "sqlite":
        return "server", c.webs
    choice = rng.choice(["web", "web", "worker", "worker", "workers", "redis", "everything"])
    if choice == "web":
        return choice, [rng.choice(c.webs)]
    if choice == "worker":
        return choice, [rng.choice(c.workers)]
    if choice == "workers":
        return choice, list(c.workers)
    if choice == "redis":
        assert c.redis is not None
        return choice, [c.redis]
    return choice, c.procs


async def nemesis(c: Cluster, cycles: int, rng: random.Random, kills: Counter[str]) -> None:
    for _ in range(cycles):
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        what, procs = victims(c, rng)
        for p in procs:
            p.kill()
        kills[what] += 1
        await asyncio.sleep(rng.uniform(0, 0.5))
        for p in procs:  # Redis first: the others need it to start
            p.start()
        await asyncio.to_thread(lambda procs=procs: [p.wait_ready() for p in procs])


async def check(url: str, tally: Tally, twilio: FakeTwilio, patience: float) -> dict[str, int]:
    """Wait for the drain, then count what is missing or doubled."""
    engine = create_async_engine(url)
    deadline = time.monotonic() + patience
    try:
        while True:
            async with engine.connect() as conn:
                inbound = (
                    await conn.execute(
                        select(Message.provider_message_id, Message.id, Message.created_at).where(
                            Message.direction == "inbound"
                        )
                    )
                ).all()
                # a conversation handed to a person is answered by people, not the receptionist
                by_people = set(
                    await conn.scalars(
                        select(Message.provider_message_id)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .where(Message.direction == "inbound", Conversation.owner_type != "bot")
                    )
                )
                replies = (
                    await conn.execute(
                        select(Message.provider_message_id, Message.delivery_status).where(
                            Message.direction == "outbound"
                        )
                    )
                ).all()
                # every turn commits one receptionist.turn event with the message it answered
                # (the dialogue record keeps only the last 50 ids per conversation)
                turns = Counter(
                    payload.get("message_id")
                    for (payload,) in await conn.execute(
                        select(OutboxEvent.payload).where(OutboxEvent.name == "receptionist.turn")
                    )
                )
                waiting = {
                    payload.get("message_id")
                    for (payload,) in await conn.execute(
                        select(OutboxEvent.payload).where(
                            OutboxEvent.published_at.is_(None),
                            OutboxEvent.name == "message.received",
                        )
                    )
                }
                unpublished = len(
                    (
                        await conn.execute(
                            select(OutboxEvent.event_id).where(OutboxEvent.published_at.is_(None))
                        )
                    ).all()
                )
                # inbox mode: accepted webhooks not yet stored (pending) or given up (dead)
                inbox = {
                    state: [parse_qs(body.decode()).get("MessageSid", [""])[0] for body in bodies]
                    for state, bodies in _group(
                        await conn.execute(select(InboxRequest.state, InboxRequest.body))
                    ).items()
                }
            stored = Counter(pid for pid, _, _ in inbound)
            ids = {pid: mid for pid, mid, _ in inbound}
            pending = set(inbox.get("pending", ()))
            unstored = [s for s in tally.acked if s not in stored and s not in pending]
            still_in_inbox = [s for s in tally.acked if s not in stored and s in pending]
            unanswered = [
                s for s in tally.acked if s in ids and ids[s] not in turns and s not in by_people
            ]
            queued = [r for r in replies if r[1] == "queued"]
            settled = not unanswered and not queued and not unpublished and not still_in_inbox
            if settled or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    if unanswered and os.environ.get("CRASH_DEBUG"):
        await _explain(url, [ids[s] for s in unanswered[:5]])
    twice = [mid for mid, n in turns.items() if n > 1]
    if twice and os.environ.get("CRASH_DEBUG"):
        await _explain_twice(url, twice[:5])
    if os.environ.get("CRASH_DEBUG"):
        recorded_sids = {pid for pid, _ in replies if pid}
        with twilio.lock:
            extra = [m for m in twilio.sent if m["sid"] not in recorded_sids]
        for m in extra[:5]:
            print("SENT, NOT RECORDED", m["sid"], m["date_created"], m.get("To"), m.get("Body"),
                  file=sys.stderr)  # fmt: skip
    by_customer: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    for pid, _, created in inbound:
        if pid in tally.acked:
            by_customer[tally.acked[pid]].append((created, pid))
    out_of_order = 0
    for customer, rows in by_customer.items():
        stored_order = [pid for _, pid in sorted(rows)]
        sent = [s for s in tally.sent_order[customer] if s in tally.acked]
        out_of_order += stored_order != sent
    recorded = [pid for pid, status in replies if pid]
    with twilio.lock:
        issued = [m["sid"] for m in twilio.sent]
    return {
        "lost_unstored": len(unstored),
        "lost_unanswered": sum(1 for s in unanswered if ids[s] not in waiting),
        "delayed": sum(1 for s in unanswered if ids[s] in waiting) + len(still_in_inbox),
        "answered_twice": sum(n - 1 for n in turns.values() if n > 1),
        "handed": sum(1 for s in tally.acked if s in by_people),
        "duplicated": sum(n - 1 for n in stored.values() if n > 1),
        "out_of_order": out_of_order,
        "replies": len(replies),
        "replies_unsent": sum(1 for _, status in replies if status not in ("sent", "delivered")),
        "stand_in_sends": len(issued),
        # a sid no stored reply holds is a send the system lost track of and repeated
        "send_duplicates": len(set(issued) - set(recorded)) + (len(issued) - len(set(issued))),
        "unpublished": unpublished,
    }


def _group(rows: Any) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for state, body in rows:
        out[str(state)].append(bytes(body))
    return out


async def _explain_twice(url: str, message_ids: list[str]) -> None:
    """Print the turns of messages answered twice (CRASH_DEBUG=1)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            for mid in message_ids:
                row = (await conn.execute(select(Message).where(Message.id == mid))).first()
                print("ANSWERED TWICE", mid, row.body if row else None, row.created_at if row
                      else None, row.conversation_id if row else None, file=sys.stderr)  # fmt: skip
                turns = (
                    await conn.execute(
                        select(OutboxEvent.occurred_at, OutboxEvent.payload)
                        .where(OutboxEvent.name == "receptionist.turn")
                        .where(OutboxEvent.payload["message_id"].as_string() == mid)
                    )
                ).all()
                for at, payload in turns:
                    print("   turn", at, payload, file=sys.stderr)
                if row is not None:
                    later = (
                        await conn.execute(
                            select(Message.direction, Message.body, Message.created_at,
                                   Message.provider_message_id)
                            .where(Message.conversation_id == row.conversation_id)
                            .where(Message.created_at >= row.created_at)
                            .order_by(Message.created_at)
                            .limit(8)
                        )
                    ).all()  # fmt: skip
                    for item in later:
                        print("   ", item, file=sys.stderr)
    finally:
        await engine.dispose()


async def _explain(url: str, message_ids: list[str]) -> None:
    """Print what became of unanswered messages (CRASH_DEBUG=1)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            for mid in message_ids:
                row = (await conn.execute(select(Message).where(Message.id == mid))).first()
                conv = (
                    await conn.execute(
                        select(Conversation).where(Conversation.id == row.conversation_id)
                    )
                ).first()
                later = (
                    await conn.execute(
                        select(Message.direction, Message.body, Message.created_at)
                        .where(Message.conversation_id == row.conversation_id)
                        .order_by(Message.created_at)
                    )
                ).all()
                events = (
                    await conn.execute(
                        select(
                            OutboxEvent.name,
                            OutboxEvent.published_at,
                            OutboxEvent.attempts,
                            OutboxEvent.last_error,
                        ).where(OutboxEvent.payload["message_id"].as_string() == mid)
                    )
                ).all()
                print(
                    "UNANSWERED",
                    row.body,
                    row.created_at,
                    conv.owner_type,
                    conv.status,
                    file=sys.stderr,
                )
                for item in later:
                    print("   ", item, file=sys.stderr)
                for item in events:
                    print("   event", item, file=sys.stderr)
    finally:
        await engine.dispose()


def run_mode(mode: str, cycles: int, seed: int, tmp: Path) -> Report:
    rng = random.Random(seed)
    tally, kills = Tally(), Counter[str]()
    started = time.perf_counter()
    with fake_twilio(SID, TOKEN) as twilio, cluster(mode, tmp, twilio) as (c, account_id):

        async def main() -> dict[str, int]:
            stop = asyncio.Event()
            loader = asyncio.create_task(load(c.ports, account_id, tally, stop, rng))
            await nemesis(c, cycles, rng, kills)
            await asyncio.sleep(1.0)
            stop.set()
            await loader
            await asyncio.to_thread(c.start_all)  # anything still down comes back
            return await check(c.url, tally, twilio, DRAIN_PATIENCE)

        counts = asyncio.run(main())
    seconds = time.perf_counter() - started
    return Report(
        mode,
        cycles,
        seconds,
        len(tally.acked),
        tally.attempts,
        tally.refused,
        counts["lost_unstored"],
        counts["lost_unanswered"],
        counts["delayed"],
        counts["answered_twice"],
        counts["handed"],
        counts["duplicated"],
        counts["out_of_order"],
        counts["replies"],
        counts["replies_unsent"],
        counts["stand_in_sends"],
        counts["send_duplicates"],
        kills,
        seed,
    )


def render(reports: list[Report]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Run on {when}; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
        f"{CUSTOMERS} customers write one message at a time, each retried until a 2xx.",
        "",
        "| mode | kill cycles | kills by target | 2xx messages | posts (retried) "
        "| lost: not stored | lost: not answered | delayed | duplicated | answered twice "
        "| out of order | replies | unsent | stand-in sends | sent twice | seconds | seed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        targets = ", ".join(f"{k} {v}" for k, v in sorted(r.kills.items()))
        lines.append(
            f"| {r.mode} | {r.cycles} | {targets} | {r.acked:,} | {r.attempts:,} "
            f"({r.refused:,}) | {r.lost_unstored} | {r.lost_unanswered} | {r.delayed} "
            f"| {r.duplicated} | {r.answered_twice} | {r.out_of_order} | {r.replies:,} "
            f"| {r.replies_unsent} | {r.stand_in_sends:,} | {r.send_duplicates} "
            f"| {r.seconds:.0f} | {r.seed} |"
        )
    lines.append(END)
    return "\n".join(lines)


def merge(block: str, previous: str) -> str:
    """``block``, keeping the rows of ``previous`` for modes this run did not measure (so
    the modes can run one at a time), when both tables have the same columns."""
    new_lines, old_lines = block.splitlines(), previous.splitlines()
    header = next((line for line in new_lines if line.startswith("| mode |")), None)
    if header is None or header not in old_lines:
        return block
    ran = {line.split("|")[1].strip() for line in new_lines if line.startswith("| ")}
    kept = [
        line
        for line in old_lines
        if line.startswith("| ")
        and line != header
        and line.split("|")[1].strip() not in ran
        and not line.startswith("|---")
    ]
    notes = [line for line in old_lines if line.startswith("Run on ")]
    merged = [line for line in new_lines if line != END] + kept
    if kept and notes:
        merged.append("")
        merged.append("Rows of other modes kept from an earlier run: " + notes[0])
    return "\n".join([*merged, END])


def write_docs(block: str) -> None:
    text = DOCS.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        previous, tail = rest.split(END, 1)
        text = head + merge(block, START + previous + END) + tail
    else:
        text += (
            "\n## Crash harness (benchmarks/crash.py)\n\nSIGKILLs under load, then a "
            "drain and a checker: see the script's docstring for what is counted.\n\n"
            + block
            + "\n"
        )
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="sqlite,pg")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    if shutil.which("redis-server") is None and "pg" in args.modes:
        sys.exit("redis-server is needed for the pg mode")
    reports = []
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory(prefix=f"crash-{mode}-") as tmp:
            report = run_mode(mode, args.cycles, args.seed, Path(tmp))
        print(report, flush=True)
        reports.append(report)
    block = render(reports)
    print(block)
    if not args.no_docs:
        write_docs(block)
    sys.exit(0 if all(r.clean for r in reports) else 1)


if __name__ == "__main__":
    main()
