"""The outbox relay: publish committed events to the bus, at least once, in sequence order."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.core.clock import utcnow
from centralita.events.bus import EventBus
from centralita.events.envelope import Envelope
from centralita.events.models import OutboxEvent

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)


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
    same ``event_id`` again and must be idempotent.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        batch_size: int = 200,
        interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._batch = batch_size
        self._interval = interval
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Thread-safe enough for after-commit hooks running on the event loop's thread."""
        self._wake.set()

    async def relay_once(self) -> int:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.available_at <= now)
                .order_by(OutboxEvent.sequence)
                .limit(self._batch)
            )
            if session.bind.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.scalars(stmt)).all())
            done = 0
            for row in rows:
                try:
                    await self._bus.publish(to_envelope(row))
                except Exception as exc:
                    row.attempts += 1
                    row.available_at = utcnow() + backoff(row.attempts)
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.warning("publishing %s failed (attempt %s)", row.event_id, row.attempts)
                    continue
                row.published_at = utcnow()
                done += 1
        self.published += done
        return done

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Relay until nothing is immediately due (tests, CLI, shutdown)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.relay_once()
            total += n
            if n == 0:
                break
        return total

    async def run(self) -> None:
        self._stop.clear()
        while not self._stop.is_set():
            try:
                n = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay round failed")
                n = 0
            if n >= self._batch:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
