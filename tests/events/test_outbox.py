"""Events live and die with the business transaction; only a commit wakes the relay."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from centralita.events import outbox
from centralita.events.models import OutboxEvent
from centralita.events.relay import OutboxRelay
from tests.events.conftest import Outbox, things
from tests.events.fakes import RecordingBus


class Boom(Exception):
    pass


async def test_commit_stores_events_and_wakes_the_relay_once(box: Outbox) -> None:
    ids = await box.commit(*things(3))
    assert [r.event_id for r in await box.rows()] == ids
    assert box.wakeups.count == 1


async def test_commit_without_events_does_not_wake(box: Outbox) -> None:
    async with box.sessions() as session, session.begin():
        pass
    await box.commit(*things(1))
    async with box.sessions() as session, session.begin():
        pass
    assert box.wakeups.count == 1


async def test_rolled_back_events_are_never_stored_nor_published(box: Outbox) -> None:
    with pytest.raises(Boom):
        async with box.sessions() as session, session.begin():
            for event in things(3):
                outbox.record(session, event)
            await session.flush()  # the rows reached the database inside the transaction
            raise Boom
    assert box.wakeups.count == 0
    # The same session object committing nothing later must not wake on stale state.
    bus = RecordingBus()
    assert await OutboxRelay(box.sessions, bus).drain() == 0
    assert bus.ids == [] and await box.rows() == []


async def test_a_rolled_back_savepoint_keeps_the_outer_events_and_the_wakeup(box: Outbox) -> None:
    """receive_inbound rolls back a savepoint on a duplicate; the outer events must still go."""
    async with box.sessions() as session, session.begin():
        kept = outbox.record(session, things(1)[0])
        await session.flush()
        with pytest.raises(IntegrityError):  # a failed flush inside the savepoint
            async with session.begin_nested():
                session.add(
                    OutboxEvent(event_id=kept.event_id, tenant_id="tn_test", name="dup", payload={})
                )
                await session.flush()
        with pytest.raises(Boom):  # and a savepoint abandoned by an exception
            async with session.begin_nested():
                outbox.record(session, things(1, start=1)[0])
                raise Boom
    assert box.wakeups.count == 1
    bus = RecordingBus()
    assert await OutboxRelay(box.sessions, bus).drain() == 1
    assert bus.ids == [kept.event_id]
