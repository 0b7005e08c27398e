"""Fixtures for the event tests: a session factory that counts relay wake-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.db.engine import make_engine, make_sessionmaker
from centralita.events import outbox
from centralita.events.envelope import Event
from centralita.events.models import OutboxEvent
from tests.conftest import Database


@dataclass(frozen=True, kw_only=True)
class ThingHappened(Event):
    """A test-only event."""

    name: ClassVar[str] = "test.thing_happened"
    n: int = 0


@dataclass
class Wakeups:
    """Counts after-commit wake-ups and forwards them to ``then`` (a relay's ``wake``)."""

    count: int = 0
    then: Callable[[], None] | None = None

    def __call__(self) -> None:
        self.count += 1
        if self.then is not None:
            self.then()


@dataclass
class Outbox:
    """A database with the outbox table and a session factory wired like the container's."""

    database: Database
    sessions: async_sessionmaker[AsyncSession]
    wakeups: Wakeups = field(default_factory=Wakeups)

    async def commit(self, *events: Event) -> list[str]:
        """Record ``events`` in one committed transaction; return their event ids."""
        async with self.sessions() as session, session.begin():
            rows = [outbox.record(session, e) for e in events]
        return [r.event_id for r in rows]

    async def rows(self) -> list[OutboxEvent]:
        async with self.sessions() as session:
            stmt = select(OutboxEvent).order_by(OutboxEvent.sequence)
            return list((await session.scalars(stmt)).all())


def things(count: int, *, tenant_id: str = "tn_test", start: int = 0) -> list[ThingHappened]:
    return [ThingHappened(tenant_id=tenant_id, n=start + i) for i in range(count)]


@pytest.fixture
async def box(database: Database) -> AsyncIterator[Outbox]:
    engine = make_engine(database.url)
    wakeups = Wakeups()
    sessions = make_sessionmaker(
        engine, sync_session_class=outbox.session_class_with_wakeup(wakeups)
    )
    try:
        yield Outbox(database, sessions, wakeups)
    finally:
        await engine.dispose()
