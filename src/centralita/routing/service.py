"""The ACD's shell: events into the store, decisions out into tables and the outbox.

Everything happens in the caller's transaction: the routing events are logged, the decisions
are projected (open offers, assignments, presence, the conversation's owner, the
interaction's timestamps) and announced through the outbox, or none of it is.

Projection writes are batched: the decisions of all the events applied together are turned
into row operations per table, and consecutive operations of one kind on one table run as one
``executemany``. Order only matters within a table, and it is kept there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.models import Conversation, Interaction
from centralita.core.errors import Conflict, DomainError, NotFound
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.events.envelope import Event as DomainEvent
from centralita.receptionist.models import Handoff
from centralita.routing import events
from centralita.routing.model import (
    Assigned,
    Decision,
    Event,
    Moved,
    Offered,
    Presence,
    PresenceChanged,
    Queued,
    Rejected,
    Released,
    Revoked,
)
from centralita.routing.models import (
    AgentPresence,
    PresenceLogEntry,
    RoutingAssignment,
    RoutingOffer,
)
from centralita.routing.store import Applied, RoutingStore

_OFFERS = cast(Table, RoutingOffer.__table__)
_ASSIGNMENTS = cast(Table, RoutingAssignment.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_INTERACTIONS = cast(Table, Interaction.__table__)
_HANDOFFS = cast(Table, Handoff.__table__)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def apply(
    session: AsyncSession, store: RoutingStore, tenant_id: str, event: Event, now: datetime
) -> Applied:
    """Decide ``event`` for the tenant and project the decisions; returns them."""
    (applied,) = await apply_many(session, store, tenant_id, [event], now)
    return applied


async def apply_many(
    session: AsyncSession, store: RoutingStore, tenant_id: str, batch: Sequence[Event],
    now: datetime,
) -> list[Applied]:  # fmt: skip
    """Decide several events in order, then project all their decisions at once."""
    results = [await store.apply(session, tenant_id, event, now.timestamp()) for event in batch]
    projection = _Projection(tenant_id, now)
    for applied in results:
        for decision in applied.decisions:
            projection.add(applied.seq, decision)
    await projection.write(session)
    return results


def raise_rejection(decisions: list[Decision]) -> None:
    """Turn the engine's refusal of an agent's request into the API's error."""
    for decision in decisions:
        if isinstance(decision, Rejected):
            error: type[DomainError] = NotFound if decision.code == "not_found" else Conflict
            raise error(f"{decision.message} ({decision.code})")


# ---- projection --------------------------------------------------------------------------


_OFFER_INSERT = insert(_OFFERS)
_OFFER_DELETE_ONE = delete(_OFFERS).where(
    _OFFERS.c.tenant_id == bindparam("t"),
    _OFFERS.c.item_id == bindparam("i"),
    _OFFERS.c.agent_id == bindparam("a"),
)
_OFFER_DELETE_ITEM = delete(_OFFERS).where(
    _OFFERS.c.tenant_id == bindparam("t"), _OFFERS.c.item_id == bindparam("i")
)
_ASSIGN_INSERT = insert(_ASSIGNMENTS)
_ASSIGN_RELEASE = (
    update(_ASSIGNMENTS)
    .where(
        _ASSIGNMENTS.c.tenant_id == bindparam("t"),
        _ASSIGNMENTS.c.item_id == bindparam("i"),
        _ASSIGNMENTS.c.released_at.is_(None),
    )
    .values(released_at=bindparam("at"), released_reason=bindparam("why"))
)
_OWNER = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.tenant_id == bindparam("t"), _CONVERSATIONS.c.id == bindparam("i"))
    .values(owner_type=bindparam("kind"), owner_id=bindparam("owner"))
)


def _latest_interaction() -> Any:
    return (
        select(_INTERACTIONS.c.id)
        .where(
            _INTERACTIONS.c.tenant_id == bindparam("t"),
            _INTERACTIONS.c.conversation_id == bindparam("i"),
        )
        .order_by(_INTERACTIONS.c.arrived_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _stamp(column: str, *also: str) -> Any:
    """Set ``column`` once (kept if already set) and overwrite ``also`` on the latest leg."""
    values: dict[str, Any] = {column: func.coalesce(_INTERACTIONS.c[column], bindparam("at"))}
    for name in also:
        values[name] = bindparam(f"v_{name}")
    if column == "answered_at":
        values["handled_by_bot"] = False
    return (
        update(_INTERACTIONS)
        .where(and_(_INTERACTIONS.c.tenant_id == bindparam("t"),
                    _INTERACTIONS.c.id == _latest_interaction()))
        .values(values)
    )  # fmt: skip


_HANDOFF_TAKEN = (
    update(_HANDOFFS)
    .where(
        _HANDOFFS.c.tenant_id == bindparam("t"),
        _HANDOFFS.c.conversation_id == bindparam("i"),
        _HANDOFFS.c.status == "waiting",
    )
    .values(status="taken", taken_by=bindparam("agent"), taken_at=bindparam("at"))
)
_HANDOFF_CLOSED = (
    update(_HANDOFFS)
    .where(
        _HANDOFFS.c.tenant_id == bindparam("t"),
        _HANDOFFS.c.conversation_id == bindparam("i"),
        _HANDOFFS.c.status != "closed",
    )
    .values(status="closed")
)
_WRAPUP_ENDED = (
    update(_INTERACTIONS)
    .where(
        _INTERACTIONS.c.tenant_id == bindparam("t"),
        _INTERACTIONS.c.agent_id == bindparam("agent"),
        _INTERACTIONS.c.wrapup_started_at.is_not(None),
        _INTERACTIONS.c.wrapup_ended_at.is_(None),
    )
    .values(wrapup_ended_at=bindparam("at"))
)
_STAMP_ABANDONED = _stamp("abandoned_at")
_STAMP_QUEUED = _stamp("queued_at", "queue_id")
_STAMP_OFFERED = _stamp("offered_at")
_STAMP_ANSWERED = _stamp("answered_at", "agent_id")


class _Projection:
    """Row operations per table, in decision order; consecutive same operations batched."""

    def __init__(self, tenant_id: str, now: datetime) -> None:
        self.tenant_id, self.now = tenant_id, now
        self.tables: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        self.events: list[DomainEvent] = []
        self.presence: list[PresenceChanged] = []

    def _op(self, table: str, statement: Any, params: dict[str, Any]) -> None:
        params.setdefault("t", self.tenant_id)
        self.tables.setdefault(table, []).append((statement, params))

    def add(self, seq: int, d: Decision) -> None:
        t, now = self.tenant_id, self.now
        if isinstance(d, Offered):
            self._op("offers", _OFFER_INSERT, {
                "id": new_id("ofr"), "tenant_id": t, "item_id": d.item_id, "agent_id": d.agent_id,
                "queue_id": d.queue_id or None, "channel": d.channel, "callback": d.callback,
                "offered_at": now, "expires_at": _at(d.expires_at),
            })  # fmt: skip
            self._op("interactions", _STAMP_OFFERED, {"i": d.item_id, "at": now})
            self.events.append(events.OfferMade(
                tenant_id=t, conversation_id=d.item_id, agent_id=d.agent_id,
                expires_at=_at(d.expires_at).isoformat(), callback=d.callback,
            ))  # fmt: skip
        elif isinstance(d, Revoked):
            self._op("offers", _OFFER_DELETE_ONE, {"i": d.item_id, "a": d.agent_id})
            self.events.append(events.OfferEnded(
                tenant_id=t, conversation_id=d.item_id, agent_id=d.agent_id, reason=d.reason,
            ))  # fmt: skip
        elif isinstance(d, Assigned):
            self._op("offers", _OFFER_DELETE_ITEM, {"i": d.item_id})
            self._op("assignments", _ASSIGN_INSERT, {
                "tenant_id": t, "item_id": d.item_id, "agent_id": d.agent_id,
                "queue_id": d.queue_id, "seq": seq, "waited_seconds": d.waited,
                "callback": d.callback, "predictive": d.predictive, "assigned_at": now,
                "released_at": None, "released_reason": None,
            })  # fmt: skip
            self._op("conversations", _OWNER, {"i": d.item_id, "kind": "agent",
                                               "owner": d.agent_id})  # fmt: skip
            self._op("handoffs", _HANDOFF_TAKEN, {"i": d.item_id, "agent": d.agent_id,
                                                  "at": now})  # fmt: skip
            self._op("interactions", _STAMP_ANSWERED, {"i": d.item_id, "at": now,
                                                       "v_agent_id": d.agent_id})  # fmt: skip
            self.events.append(events.ConversationAssigned(
                tenant_id=t, conversation_id=d.item_id, agent_id=d.agent_id,
                queue_id=d.queue_id, waited_seconds=d.waited, callback=d.callback,
            ))  # fmt: skip
        elif isinstance(d, Released):
            self._op("offers", _OFFER_DELETE_ITEM, {"i": d.item_id})
            self._op("assignments", _ASSIGN_RELEASE, {"i": d.item_id, "at": now,
                                                      "why": d.reason[:30]})  # fmt: skip
            if d.reason not in ("transferred", "agent_removed"):
                self._op("handoffs", _HANDOFF_CLOSED, {"i": d.item_id})
            if d.reason == "abandoned" and d.agent_id is None:
                self._op("interactions", _STAMP_ABANDONED, {"i": d.item_id, "at": now})
            self.events.append(events.ConversationReleased(
                tenant_id=t, conversation_id=d.item_id, agent_id=d.agent_id, reason=d.reason,
            ))  # fmt: skip
        elif isinstance(d, Queued):
            self._op("conversations", _OWNER, {"i": d.item_id, "kind": "queue",
                                               "owner": d.queue_id})  # fmt: skip
            self._op("interactions", _STAMP_QUEUED, {"i": d.item_id, "at": now,
                                                     "v_queue_id": d.queue_id})  # fmt: skip
            self.events.append(events.ConversationQueued(
                tenant_id=t, conversation_id=d.item_id, queue_id=d.queue_id,
            ))  # fmt: skip
        elif isinstance(d, Moved):
            self._op("conversations", _OWNER, {"i": d.item_id, "kind": "queue",
                                               "owner": d.to_queue})  # fmt: skip
            self.events.append(events.ConversationMoved(
                tenant_id=t, conversation_id=d.item_id, from_queue=d.from_queue,
                to_queue=d.to_queue, reason=d.reason,
            ))  # fmt: skip
        elif isinstance(d, PresenceChanged):
            self.presence.append(d)
            if d.previous == Presence.WRAPUP:
                self._op("interactions", _WRAPUP_ENDED, {"agent": d.agent_id, "at": now})
            self.events.append(events.PresenceUpdated(
                tenant_id=t, agent_id=d.agent_id, presence=d.presence.value,
                previous=d.previous.value, by=d.by,
            ))  # fmt: skip

    async def write(self, session: AsyncSession) -> None:
        for operations in self.tables.values():
            run: list[dict[str, Any]] = []
            current: Any = None
            for statement, params in operations:
                if statement is not current and run:
                    await session.execute(current, run)
                    run = []
                current = statement
                run.append(params)
            if run:
                await session.execute(current, run)
        for change in self.presence:
            await _presence(session, self.tenant_id, change, self.now)
        for event in self.events:
            outbox.record(session, event)


async def _presence(
    session: AsyncSession, tenant_id: str, change: PresenceChanged, now: datetime
) -> None:
    row = await session.get(AgentPresence, (tenant_id, change.agent_id))
    if row is None:
        session.add(AgentPresence(tenant_id=tenant_id, agent_id=change.agent_id,
                                  presence=change.presence.value, since=now))  # fmt: skip
    else:
        row.presence, row.since = change.presence.value, now
    session.add(PresenceLogEntry(
        tenant_id=tenant_id, agent_id=change.agent_id, presence=change.presence.value,
        previous=change.previous.value, at=now, by=change.by,
    ))  # fmt: skip
