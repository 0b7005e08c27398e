"""The Redis bus across OS processes, fed by the real outbox relay from a real transaction.

Each subscriber is a separate ``python -m tests.events.redis_subscriber`` process; it records
what it handled in a Redis list, which the test reads back.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import redis.asyncio as aioredis

from centralita.events import outbox
from centralita.events.bus import RedisStreamBus
from centralita.events.envelope import Envelope, Event
from centralita.events.relay import OutboxRelay
from tests.events.conftest import Outbox, things

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, kw_only=True)
class Hung(Event):
    """The subscriber started with ``--hang-on test.hang`` never finishes handling this."""

    name: ClassVar[str] = "test.hang"


class Stream:
    """One uniquely named stream per test, its subscriber processes and their records."""

    def __init__(self, url: str, redis: aioredis.Redis) -> None:
        self.url = url
        self.redis = redis
        self.name = f"centralita:test:{uuid.uuid4().hex}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def key(self, suffix: str) -> str:
        return f"{self.name}:{suffix}"

    async def start_subscriber(
        self, group: str, record: str, *extra: str
    ) -> subprocess.Popen[bytes]:
        ready = self.key(f"ready:{uuid.uuid4().hex}")
        # Popen returns at once; the waiting below is on Redis, asynchronously.
        proc = subprocess.Popen(  # noqa: ASYNC220
            [
                sys.executable, "-m", "tests.events.redis_subscriber",
                "--url", self.url, "--stream", self.name, "--group", group,
                "--record", self.key(record), "--ready", ready, *extra,
            ],
            cwd=ROOT,
        )  # fmt: skip
        self.procs.append(proc)
        deadline = time.monotonic() + 20
        while not await self.redis.exists(ready):
            assert proc.poll() is None, f"subscriber exited with {proc.returncode}"
            assert time.monotonic() < deadline, "subscriber did not start"
            await asyncio.sleep(0.02)
        return proc

    async def records(self, record: str) -> list[dict[str, str]]:
        return [json.loads(r) for r in await self.redis.lrange(self.key(record), 0, -1)]

    async def wait_for(self, total: int, *records: str, patience: float = 15) -> None:
        """Wait until the lists hold ``total`` entries, then a little longer for extras."""
        deadline = time.monotonic() + patience
        while sum([len(await self.records(r)) for r in records]) < total:
            assert time.monotonic() < deadline, f"timed out waiting for {total} events"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # duplicates, if any, would arrive now

    async def pending(self, group: str) -> int:
        return int((await self.redis.xpending(self.name, group))["pending"])

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
async def stream(redis_url: str) -> AsyncIterator[Stream]:
    redis = aioredis.from_url(redis_url)
    s = Stream(redis_url, redis)
    try:
        yield s
    finally:
        s.stop()
        keys = [k async for k in redis.scan_iter(match=s.name + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def relay_through_redis(box: Outbox, stream: Stream) -> None:
    """What a `serve` process does: the relay publishes committed rows to the Redis stream."""
    bus = RedisStreamBus(stream.url, stream=stream.name)
    await bus.start()
    try:
        await OutboxRelay(box.sessions, bus, batch_size=50).drain()
    finally:
        await bus.stop()


async def test_a_subscriber_in_another_process_gets_each_committed_event_once(
    box: Outbox, stream: Stream
) -> None:
    await stream.start_subscriber("g1", "seen")
    committed: list[str] = []
    for batch in range(5):
        committed += await box.commit(*things(10, start=10 * batch))
    with pytest.raises(RuntimeError):
        async with box.sessions() as session, session.begin():
            rolled_back = [outbox.record(session, e).event_id for e in things(3, start=100)]
            raise RuntimeError("business rule failed")

    await relay_through_redis(box, stream)
    await stream.wait_for(50, "seen")

    seen = [r["event_id"] for r in await stream.records("seen")]
    assert Counter(seen) == Counter(committed)  # each exactly once ...
    assert seen == committed  # ... and, with one consumer, in commit order
    assert not set(rolled_back) & set(seen)
    assert await stream.pending("g1") == 0  # all acknowledged


async def test_one_group_shares_the_events_and_each_group_gets_all(
    box: Outbox, stream: Stream
) -> None:
    a = await stream.start_subscriber("workers", "a", "--delay", "0.003")
    b = await stream.start_subscriber("workers", "b", "--delay", "0.003")
    await stream.start_subscriber("audit", "audit")
    committed: list[str] = []
    for batch in range(4):
        committed += await box.commit(*things(50, start=50 * batch))

    await relay_through_redis(box, stream)
    await stream.wait_for(200, "a", "b")
    await stream.wait_for(200, "audit")

    in_a = [r["event_id"] for r in await stream.records("a")]
    in_b = [r["event_id"] for r in await stream.records("b")]
    assert Counter(in_a + in_b) == Counter(committed)  # shared, no duplicates
    assert in_a and in_b, "both processes of the group should have taken a share"
    assert {r["consumer"] for r in await stream.records("a")} == {f"workers:{a.pid}"}
    assert {r["consumer"] for r in await stream.records("b")} == {f"workers:{b.pid}"}
    audit = [r["event_id"] for r in await stream.records("audit")]
    assert Counter(audit) == Counter(committed)  # the other group got every event once
    assert await stream.pending("workers") == 0 and await stream.pending("audit") == 0


async def test_entries_of_a_killed_subscriber_are_taken_over_by_its_group(
    box: Outbox, stream: Stream
) -> None:
    doomed = await stream.start_subscriber("g1", "seen", "--hang-on", Hung.name)
    committed = await box.commit(*things(5))
    # One event its handler never finishes: the process dies holding it (and what follows).
    [hung] = await box.commit(Hung(tenant_id="tn_test"))
    committed += [hung, *await box.commit(*things(5, start=5))]

    await relay_through_redis(box, stream)
    deadline = time.monotonic() + 10
    while await stream.pending("g1") == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    doomed.kill()  # SIGKILL: no acknowledgement, no clean-up
    doomed.wait()
    before = {r["event_id"] for r in await stream.records("seen")}
    assert hung not in before

    await stream.start_subscriber("g1", "seen", "--claim-idle-ms", "200")
    await stream.wait_for(len(committed), "seen")
    seen = [r["event_id"] for r in await stream.records("seen")]
    assert Counter(seen) == Counter(committed)
    assert await stream.pending("g1") == 0


async def test_a_running_subscriber_claims_a_dead_peers_entries(
    box: Outbox, stream: Stream, redis_url: str
) -> None:
    """No restart needed: live members of the group keep sweeping for stale entries."""
    alive: list[str] = []
    release = asyncio.Event()

    async def stuck(envelope: Envelope) -> None:
        await release.wait()  # never set: this consumer "dies" holding its entries

    async def handle(envelope: Envelope) -> None:
        alive.append(envelope.event_id)

    dead = RedisStreamBus(redis_url, stream=stream.name, block_ms=50, claim_idle_ms=1000)
    dead.subscribe("g1", {"*"}, stuck)
    await dead.start()
    committed = await box.commit(*things(5))
    await relay_through_redis(box, stream)
    deadline = time.monotonic() + 10
    while await stream.pending("g1") == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    # The survivor starts while the stuck entry is fresh (its start-up claim skips it), so only
    # the periodic sweep can recover it; the entries nobody read yet it reads as new.
    survivor = RedisStreamBus(redis_url, stream=stream.name, block_ms=50, claim_idle_ms=1000)
    survivor.subscribe("g1", {"*"}, handle)
    await survivor.start()
    try:
        for task in dead._tasks:  # the process dies: its consumers stop without acking
            task.cancel()
        deadline = time.monotonic() + 10
        while len(alive) < 5:
            assert time.monotonic() < deadline, alive
            await asyncio.sleep(0.02)
    finally:
        await survivor.stop()
        await dead.stop()
    assert sorted(alive) == sorted(committed)
    assert await stream.pending("g1") == 0


async def test_a_realtime_group_acknowledges_once_per_batch_and_others_once_per_entry(
    stream: Stream, redis_url: str
) -> None:
    """Per-process (``realtime:``) groups save a round trip per event; every other group
    still acknowledges each entry as soon as it is handled (the test above says why)."""
    bus = RedisStreamBus(redis_url, stream=stream.name, block_ms=50)
    acks: Counter[str] = Counter()
    xack = bus._redis.xack

    async def counting_xack(name: str, group: str, *ids: bytes) -> int:
        acks[group] += 1  # one per round trip, whatever the number of ids
        return await xack(name, group, *ids)

    bus._redis.xack = counting_xack  # type: ignore[method-assign]  # a spy, not a fake
    first_held = asyncio.Event()
    release = asyncio.Event()
    seen: dict[str, list[str]] = {"realtime:test": [], "workers": []}

    async def realtime(envelope: Envelope) -> None:
        if not seen["realtime:test"]:
            first_held.set()
            await release.wait()  # holds the group while the rest is published: one batch
        seen["realtime:test"].append(envelope.event_id)

    async def workers(envelope: Envelope) -> None:
        seen["workers"].append(envelope.event_id)

    bus.subscribe("realtime:test", {"*"}, realtime)
    bus.subscribe("workers", {"*"}, workers)
    await bus.start()
    try:
        envelopes = [
            Envelope(f"ev_{i}", "test.thing_happened", 1, "tn_test", "2026-01-01T00:00:00Z")
            for i in range(20)
        ]
        await bus.publish(envelopes[0])
        await asyncio.wait_for(first_held.wait(), 10)
        for envelope in envelopes[1:]:
            await bus.publish(envelope)
        release.set()
        deadline = time.monotonic() + 10
        while min(len(ids) for ids in seen.values()) < 20:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.02)
        assert await stream.pending("realtime:test") == 0
        assert await stream.pending("workers") == 0
    finally:
        await bus.stop()
    expected = [e.event_id for e in envelopes]
    assert seen == {"realtime:test": expected, "workers": expected}
    assert acks["workers"] == 20
    assert acks["realtime:test"] == 2  # the held first entry, then the other 19 at once


def test_a_web_process_on_redis_leaves_the_worker_groups_to_the_workers(
    tmp_path: Path, redis_url: str
) -> None:
    """`serve --no-workers` on the Redis bus consumes only its own fan-out group: the
    receptionist, deliveries and the rest run in `centralita worker` processes. With the
    in-process bus (tests, one process) the same container keeps every handler."""
    from centralita.bootstrap import build_container
    from centralita.config import Settings
    from centralita.events.bus import InProcessBus
    from centralita.events.subscriptions import SUBSCRIPTIONS

    settings = Settings(
        data_dir=tmp_path, redis_url=redis_url, secret_key="k" * 32, environment="test"
    )
    workers = {group for group, _, _ in SUBSCRIPTIONS}

    web = build_container(settings, run_workers=False)
    assert isinstance(web.bus, RedisStreamBus)
    groups = {sub.group for sub in web.bus._subs}
    assert groups == {web.hub.group} and not groups & workers

    worker = build_container(settings, run_workers=True)
    assert {sub.group for sub in worker.bus._subs} == workers | {worker.hub.group}

    local = build_container(settings, bus=InProcessBus(), run_workers=False)
    assert workers <= {sub.group for sub in local.bus._subs}


async def test_the_stream_is_trimmed_only_below_what_every_durable_group_has_handled(
    stream: Stream,
) -> None:
    """No fixed length drops entries a lagging group has not handled: trimming stops at the
    oldest entry a durable group has pending or unread. Per-process fan-out groups (which
    die with their process) hold nothing back."""
    r = stream.redis
    ids = [await r.xadd(stream.name, {"e": str(i)}) for i in range(10)]
    for group in ("a", "b", "realtime:gone"):
        await r.xgroup_create(stream.name, group, id="0")
    got = await r.xreadgroup("a", "c1", {stream.name: ">"}, count=10)
    await r.xack(stream.name, "a", *[entry_id for entry_id, _ in got[0][1]])
    got = await r.xreadgroup("b", "c1", {stream.name: ">"}, count=6)  # 6 read, 4 acknowledged
    await r.xack(stream.name, "b", *[entry_id for entry_id, _ in got[0][1]][:4])

    bus = RedisStreamBus(stream.url, stream=stream.name)
    try:
        assert await bus.trim_consumed() == 4
        remaining = [entry_id for entry_id, _ in await r.xrange(stream.name)]
        assert remaining == ids[4:]  # b's two pending entries and its four unread ones stay

        got = await r.xreadgroup("b", "c1", {stream.name: ">"}, count=10)
        await r.xack(stream.name, "b", *ids[4:])
        assert await bus.trim_consumed() == 6
        assert await r.xlen(stream.name) == 0  # "realtime:gone" never read a thing
    finally:
        await bus._redis.aclose()
