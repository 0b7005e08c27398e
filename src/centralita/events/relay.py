"""The outbox relay: publish committed events to the bus, at least once, in sequence order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
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
        now = self._clock()
        failed = False
        async with self._sessions() as session, session.begin():
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.available_at <= now)
                .order_by(OutboxEvent.sequence)
                .limit(self._batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.scalars(stmt)).all())
            done = 0
            for row in rows:
                try:
                    await self._bus.publish(to_envelope(row))
                except Exception as exc:
                    row.attempts += 1
                    row.available_at = self._clock() + backoff(row.attempts)
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.warning("publishing %s failed (attempt %s)", row.event_id, row.attempts)
                    failed = True
                    break
                row.published_at = self._clock()
                done += 1
        self.published += done
        return done, failed

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
