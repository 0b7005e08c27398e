"""Write events in the caller's transaction; wake the relay once that transaction commits."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from centralita.core.ids import new_id
from centralita.events.envelope import Event
from centralita.events.models import OutboxEvent

_DIRTY_KEY = "centralita.outbox.dirty"


def record(session: AsyncSession, event: Event) -> OutboxEvent:
    """Add ``event`` to the outbox inside the current transaction."""
    row = OutboxEvent(
        event_id=new_id("evt"),
        tenant_id=event.tenant_id,
        name=event.name,
        version=event.version,
        payload=event.payload(),
    )
    session.add(row)
    session.info[_DIRTY_KEY] = True
    return row


def session_class_with_wakeup(wake: Callable[[], None]) -> type[Session]:
    """A Session subclass that calls ``wake`` after each commit that wrote outbox rows.

    A subclass per container keeps two apps in one process (tests) from waking each other.
    """

    class OutboxSession(Session):
        pass

    def _after_commit(sync_session: Session) -> None:
        if sync_session.info.pop(_DIRTY_KEY, False):
            wake()

    def _after_soft_rollback(sync_session: Session, previous: SessionTransaction) -> None:
        # Rolling back a savepoint (``begin_nested``) or a failed flush inside one keeps the rows
        # the outer transaction recorded before it, so only the outermost rollback clears the
        # flag. At worst a rolled-back savepoint costs one needless wake-up.
        if previous.parent is None:
            sync_session.info.pop(_DIRTY_KEY, None)

    sa_event.listen(OutboxSession, "after_commit", _after_commit)
    sa_event.listen(OutboxSession, "after_soft_rollback", _after_soft_rollback)
    return OutboxSession
