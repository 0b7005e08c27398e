"""The outbox relay: at least once, in order, retried with backoff, and safe after a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from centralita.db.engine import make_engine, make_sessionmaker
from centralita.events import outbox
from centralita.events.bus import InProcessBus
from centralita.events.envelope import Envelope
from centralita.events.relay import MAX_BACKOFF, OutboxRelay, backoff
from tests.events.conftest import Outbox, ThingHappened, things
from tests.events.fakes import DyingBus, FlakyBus, ProcessKilled, RecordingBus


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 1), (1, 2), (2, 4), (5, 32), (9, 512), (10, 600), (20, 600), (500, 600)],
)
def test_backoff_doubles_up_to_ten_minutes(attempts: int, seconds: int) -> None:
    assert backoff(attempts) == timedelta(seconds=seconds)
    assert backoff(attempts) <= MAX_BACKOFF


async def test_drain_publishes_every_committed_event_once_in_order(box: Outbox) -> None:
    ids = await box.commit(*things(5)) + await box.commit(*things(2, start=5))
    bus = RecordingBus()
    relay = OutboxRelay(box.sessions, bus, batch_size=3)
    assert await relay.drain() == 7
    assert bus.ids == ids
    assert [e.payload["n"] for e in bus.published] == list(range(7))
    seqs = [e.sequence for e in bus.published]
    assert seqs == sorted(seqs)
    assert all(r.published_at is not None for r in await box.rows())
    assert await relay.drain() == 0 and len(bus.published) == 7


async def test_publish_failure_is_retried_with_backoff(box: Outbox) -> None:
    [event_id] = await box.commit(*things(1))
    clock = Clock()  # rows are due from their commit, by the real clock
    bus = FlakyBus(fails=lambda _: bus.failures < 2)
    relay = OutboxRelay(box.sessions, bus, clock=clock)

    assert await relay.relay_once() == 0
    [row] = await box.rows()
    assert (row.attempts, row.published_at) == (1, None)
    assert row.available_at == clock.now + timedelta(seconds=2)
    assert row.last_error == "ConnectionError: bus unreachable"

    clock.advance(1.9)
    assert await relay.relay_once() == 0 and bus.failures == 1  # not due yet: not even tried
    clock.advance(0.1)
    assert await relay.relay_once() == 0 and bus.failures == 2
    [row] = await box.rows()
    assert row.attempts == 2 and row.available_at == clock.now + timedelta(seconds=4)

    clock.advance(4)
    assert await relay.relay_once() == 1
    [row] = await box.rows()
    assert row.published_at == clock.now and row.attempts == 2
    assert bus.ids == [event_id]


async def test_a_failing_event_does_not_hold_up_the_ones_behind_it(box: Outbox) -> None:
    ids = await box.commit(*things(4))
    clock = Clock()
    poisoned = ids[1]
    bus = FlakyBus(fails=lambda env: env.event_id == poisoned)
    relay = OutboxRelay(box.sessions, bus, clock=clock)
    # The first round stops at the failure (no overtaking while the bus may be down) ...
    assert await relay.relay_once() == 1
    # ... and drain goes on past it while the failed row waits out its backoff.
    assert await relay.drain() == 2
    assert bus.ids == [ids[0], ids[2], ids[3]]
    by_id = {r.event_id: r for r in await box.rows()}
    assert by_id[poisoned].published_at is None and by_id[poisoned].attempts == 1


async def test_an_in_process_handler_error_is_retried_by_the_relay(box: Outbox) -> None:
    bus = InProcessBus()
    handled: list[str] = []

    async def flaky(env: Envelope) -> None:
        if not handled:
            handled.append("failed")
            raise RuntimeError("subscriber down")
        handled.append(env.event_id)

    bus.subscribe("g", {ThingHappened.name}, flaky)
    [event_id] = await box.commit(*things(1))
    clock = Clock()
    relay = OutboxRelay(box.sessions, bus, clock=clock)
    assert await relay.drain() == 0
    clock.advance(2)
    assert await relay.drain() == 1
    assert handled == ["failed", event_id]


async def test_drain_after_a_crash_publishes_what_was_left(box: Outbox) -> None:
    """Rows committed but never relayed, and rows published but never marked, both go out."""
    ids = await box.commit(*things(10))
    # The first process dies after handing two events to the bus.
    dying = DyingBus(survive=2)
    with pytest.raises(ProcessKilled):
        await OutboxRelay(box.sessions, dying, batch_size=4).relay_once()
    marked = [r.published_at is not None for r in await box.rows()]
    sqlite = box.database.url.startswith("sqlite")
    # SQLite (handlers in process) marks each event once handled, so a crash keeps the
    # progress; PostgreSQL marks its batch after publishing it to Redis, all or nothing.
    assert marked == ([True] * 2 + [False] * 8 if sqlite else [False] * 10)

    # A restarted process: its own engine and relay.
    engine = make_engine(box.database.url)
    try:
        bus = RecordingBus()
        relay = OutboxRelay(make_sessionmaker(engine), bus, batch_size=4)
        assert await relay.drain() == (8 if sqlite else 10)
    finally:
        await engine.dispose()
    assert bus.ids == (ids[2:] if sqlite else ids)
    # At least once: on PostgreSQL what the dead process handed over is seen again, with the
    # same ids; nothing is skipped on either.
    assert dying.ids == ids[:2]
    assert all(r.published_at is not None for r in await box.rows())


# SKIP LOCKED is PostgreSQL's; on SQLite one relay runs per database.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_concurrent_relays_publish_each_event_once_on_postgresql(box: Outbox) -> None:
    ids = await box.commit(*things(300))
    engines = [make_engine(box.database.url) for _ in range(3)]
    buses = [RecordingBus() for _ in engines]
    try:
        relays = [
            OutboxRelay(make_sessionmaker(e), b, batch_size=20)
            for e, b in zip(engines, buses, strict=True)
        ]
        counts = await asyncio.gather(*(r.drain() for r in relays))
    finally:
        for e in engines:
            await e.dispose()
    seen = [i for b in buses for i in b.ids]
    assert sorted(seen) == sorted(ids)
    assert sum(counts) == 300
    assert sum(1 for c in counts if c) >= 2, counts  # the work was actually shared


async def test_run_publishes_on_commit_without_waiting_for_the_interval(box: Outbox) -> None:
    """An event committed by a subscriber while a round runs triggers the next round at once."""
    bus = InProcessBus()
    relay = OutboxRelay(box.sessions, bus, interval=3600)
    box.wakeups.then = relay.wake  # as the container wires it
    seen: list[str] = []
    pong = asyncio.Event()

    async def ping(env: Envelope) -> None:
        seen.append(env.name)
        if env.payload["n"] == 0:
            async with box.sessions() as session, session.begin():
                outbox.record(session, ThingHappened(tenant_id="tn_test", n=1))
        else:
            pong.set()

    bus.subscribe("g", {ThingHappened.name}, ping)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.05)  # the first round found nothing; run() now waits
        await box.commit(ThingHappened(tenant_id="tn_test", n=0))
        await asyncio.wait_for(pong.wait(), timeout=5)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=5)
    assert seen == [ThingHappened.name, ThingHappened.name]
    assert all(r.published_at is not None for r in await box.rows())
