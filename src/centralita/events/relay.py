"""The outbox relay: publish committed events to the bus, at least once, in sequence order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.core.clock import utcnow
from centralita.events.bus import EventBus
from centralita.events.envelope import Envelope
from centralita.events.models import OutboxEvent

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
RETRY_PAUSE_SECONDS = 1.0


def to_envelope(row: OutboxEvent) -> Envelope:
    return Envelope(
        event_id=row.event_id,
        name=row.name,
        version=row.version,
        tenant_id=row.tenant_id,
        occurred_at=row.occurred_at.isoformat(),
        payload=dict(row.payload),
        sequence=row.sequence,
    )


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


@dataclass
class _Outcome:
    published: list[int] = field(default_factory=list)
    failure: tuple[int, int, str] | None = None  # (sequence, attempts, error)


class OutboxRelay:
    """Claims unpublished rows (``SKIP LOCKED`` on PostgreSQL), publishes, marks them done.

    A crash between publish and mark republishes the event on restart: consumers see the
    same ``event_id`` again and must be idempotent. A failed publish ends the round, so later
    events are not published ahead of it while the bus is healthy; the failed row waits out its
    backoff while later rows go on, so one poisoned event cannot hold up the rest.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        batch_size: int = 200,
        interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._batch = batch_size
        self._interval = interval
        self._clock = clock
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Call from the event loop's thread (after-commit hooks run there)."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of due events; return how many were published."""
        published, _failed = await self._round()
        return published

    async def _round(self) -> tuple[int, bool]:
        async with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Row locks (SKIP LOCKED) claim the batch until it is marked: relays on several
                # processes never publish the same row at once.
                async with session.begin():
                    batch = await self._due(session, lock=True)
                    outcome = await self._publish(batch)
                    await self._mark(session, outcome)
            else:
                # SQLite has one writer: hold no transaction while handlers (which write in
                # their own transactions) run. Each event is marked as soon as it is handled:
                # in-process handlers take a receptionist turn or a provider call each, so a
                # batch marked at its end would be redone whole after a crash halfway
                # through, and a process restarted often would never get past its first
                # batch (the crash harness saw the backlog grow under repeated kills).
                async with session.begin():
                    batch = await self._due(session, lock=False)
                outcome = _Outcome()
                for item in batch:
                    one = await self._publish([item])
                    async with session.begin():
                        await self._mark(session, one)
                    outcome.published += one.published
                    if one.failure is not None:
                        outcome.failure = one.failure
                        break
        self.published += len(outcome.published)
        return len(outcome.published), outcome.failure is not None

    async def _due(self, session: AsyncSession, *, lock: bool) -> list[tuple[Envelope, int]]:
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None), OutboxEvent.available_at <= self._clock())
            .order_by(OutboxEvent.sequence)
            .limit(self._batch)
        )
        if lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return [(to_envelope(row), row.attempts) for row in (await session.scalars(stmt)).all()]

    async def _publish(self, batch: list[tuple[Envelope, int]]) -> _Outcome:
        """Publish in order; stop at the first failure."""
        outcome = _Outcome()
        for envelope, attempts in batch:
            try:
                await self._bus.publish(envelope)
            except Exception as exc:
                log.warning("publishing %s failed (attempt %s)", envelope.event_id, attempts + 1)
                outcome.failure = (envelope.sequence, attempts + 1, f"{type(exc).__name__}: {exc}")
                break
            outcome.published.append(envelope.sequence)
        return outcome

    async def _mark(self, session: AsyncSession, outcome: _Outcome) -> None:
        now = self._clock()
        if outcome.published:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.sequence.in_(outcome.published))
                .values(published_at=now)
            )
        if outcome.failure is not None:
            sequence, attempts, error = outcome.failure
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.sequence == sequence)
                .values(
                    attempts=attempts,
                    available_at=now + backoff(attempts),
                    last_error=error[:2000],
                )
            )

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Relay until nothing is immediately due (tests, CLI, shutdown)."""
        total = 0
        for _ in range(max_rounds):
            n, failed = await self._round()
            total += n
            if n == 0 and not failed:
                break
        return total

    async def run(self) -> None:
        self._stop.clear()
        while not self._stop.is_set():
            # Clear before the round: a commit during the round must trigger the next one.
            self._wake.clear()
            try:
                n, failed = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay round failed")
                n, failed = 0, True
            if n >= self._batch:
                continue
            # After a failure, try the rows behind the failed one soon, but without spinning.
            pause = min(self._interval, RETRY_PAUSE_SECONDS) if failed else self._interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
