"""Where the engine's state lives: in memory (tests, the simulator) or in SQL (production).

The SQL store decides a tenant's routing events one at a time across every process: each
``apply`` locks the tenant's ``routing_states`` row (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already admits one writer), brings the process's cached state up
to the row (replaying the events other processes logged since, or loading the snapshot),
decides, and logs the event, all in the caller's transaction. Two processes can therefore
never both see an agent free or an item waiting and both assign it: the second one waits for
the lock and then replays the first one's event before deciding its own.

The cache is only trusted when it ends at the row's last event id, so a transaction that
rolled back (the cache ran ahead of the database) or another process's event is noticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.ids import new_id
from centralita.routing.codec import event_from_dict, event_to_dict, state_from_dict, state_to_dict
from centralita.routing.engine import RoutingState, decide, next_deadline
from centralita.routing.model import Decision, Event, Rejected
from centralita.routing.models import RoutingEventRow, RoutingStateRow

SNAPSHOT_EVERY = 500  # events between snapshots
KEEP_EVENTS = 2_000  # events kept behind the snapshot (for late readers and inspection)


@dataclass(frozen=True, slots=True)
class Applied:
    seq: int  # the event's number in the tenant's log
    decisions: list[Decision]
    state: RoutingState  # after the event; read it, never change it


class RoutingStore(Protocol):
    async def apply(
        self, session: AsyncSession | None, tenant_id: str, event: Event, now: float
    ) -> Applied: ...

    async def read(self, session: AsyncSession | None, tenant_id: str) -> RoutingState: ...


class MemoryRoutingStore:
    """One state per tenant in a dict: for tests and the simulator. Ignores the session."""

    def __init__(self) -> None:
        self.states: dict[str, RoutingState] = {}
        self.seqs: dict[str, int] = {}

    async def apply(
        self, session: AsyncSession | None, tenant_id: str, event: Event, now: float
    ) -> Applied:
        state = self.states.setdefault(tenant_id, RoutingState())
        state, decisions = decide(state, event, now)
        self.seqs[tenant_id] = seq = self.seqs.get(tenant_id, 0) + 1
        return Applied(seq, decisions, state)

    async def read(self, session: AsyncSession | None, tenant_id: str) -> RoutingState:
        return self.states.setdefault(tenant_id, RoutingState())


_EVENTS = cast(Table, RoutingEventRow.__table__)


def _refused(decisions: list[Decision]) -> bool:
    return bool(decisions) and all(isinstance(d, Rejected) for d in decisions)


_LOCKS = "centralita.routing.locks"


def _held(session: AsyncSession) -> dict[str, RoutingStateRow]:
    """The tenants' state rows this session's current transaction has locked already."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_LOCKS)
    if held is None or held[0] is not transaction:
        held = session.info[_LOCKS] = (transaction, {})
    return held[1]


@dataclass
class _Cached:
    seq: int
    event_id: str
    state: RoutingState


class SqlRoutingStore:
    """Event-sourced per tenant, in the caller's transaction; see the module docstring."""

    def __init__(self, *, snapshot_every: int = SNAPSHOT_EVERY) -> None:
        self.snapshot_every = snapshot_every
        self._cache: dict[str, _Cached] = {}
        self.replayed = 0  # events replayed from the log (other processes' work): for tests
        self.loaded = 0  # snapshot loads

    async def apply(
        self, session: AsyncSession | None, tenant_id: str, event: Event, now: float
    ) -> Applied:
        assert session is not None, "the SQL store works in the caller's transaction"
        held = _held(session)
        row = held.get(tenant_id)
        if row is None:
            row = held[tenant_id] = await self._lock(session, tenant_id)
        cached = await self._catch_up(session, row)
        self._cache.pop(tenant_id, None)  # until this event is logged, the cache is unknown
        before = (len(cached.state.timers), cached.state.seq)
        state, decisions = decide(cached.state, event, now)
        if _refused(decisions) and (len(state.timers), state.seq) == before:
            # Refused, and no timer fired: the state did not change, so nothing is logged
            # (two agents racing for one offer cost the loser no write).
            self._cache[tenant_id] = cached
            return Applied(row.seq, decisions, state)
        seq, event_id = row.seq + 1, new_id("rte")
        await session.execute(insert(_EVENTS).values(
            tenant_id=tenant_id, seq=seq, event_id=event_id, at=now, event=event_to_dict(event)
        ))  # fmt: skip
        row.seq, row.last_event = seq, event_id
        row.next_deadline = next_deadline(state)
        if seq - row.snapshot_seq >= self.snapshot_every:
            row.snapshot, row.snapshot_seq = state_to_dict(state), seq
            row.snapshot_event = event_id
            await session.execute(
                delete(_EVENTS).where(
                    _EVENTS.c.tenant_id == tenant_id, _EVENTS.c.seq <= seq - KEEP_EVENTS
                )
            )
        self._cache[tenant_id] = _Cached(seq, event_id, state)
        return Applied(seq, decisions, state)

    async def read(self, session: AsyncSession | None, tenant_id: str) -> RoutingState:
        """The tenant's current state, for queries (positions, waits, the wallboard)."""
        assert session is not None
        row = await session.get(RoutingStateRow, tenant_id)
        if row is None:
            return RoutingState()
        cached = await self._catch_up(session, row)
        return cached.state

    def forget(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._cache.clear()
        else:
            self._cache.pop(tenant_id, None)

    async def _lock(self, session: AsyncSession, tenant_id: str) -> RoutingStateRow:
        query = select(RoutingStateRow).where(RoutingStateRow.tenant_id == tenant_id)
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update()
        row = (await session.execute(query.execution_options(populate_existing=True))).scalar()
        if row is not None:
            return row
        # The tenant's first routing event: create the row; a concurrent creator wins the
        # primary key and we take its row (locked) instead.
        try:
            async with session.begin_nested():
                row = RoutingStateRow(tenant_id=tenant_id, seq=0, last_event="", snapshot_seq=0)
                session.add(row)
                await session.flush()
            return row
        except Exception:  # IntegrityError: someone else created it first
            row = (await session.execute(query.execution_options(populate_existing=True))).scalar()
            assert row is not None
            return row

    async def _catch_up(self, session: AsyncSession, row: RoutingStateRow) -> _Cached:
        tenant_id = row.tenant_id
        cached = self._cache.get(tenant_id)
        if cached is not None and cached.seq == row.seq and cached.event_id == row.last_event:
            return cached
        self._cache.pop(tenant_id, None)  # a replay that fails half-way leaves no cache
        if cached is None or cached.seq >= row.seq or cached.seq < row.snapshot_seq - KEEP_EVENTS:
            # Never seen, or ahead of the row (its transaction rolled back), or another
            # event under the same number, or too far behind the log: start from the snapshot.
            cached = self._load_snapshot(row)
        result = await session.execute(
            select(RoutingEventRow.seq, RoutingEventRow.event_id, RoutingEventRow.at,
                   RoutingEventRow.event)
            .where(RoutingEventRow.tenant_id == tenant_id, RoutingEventRow.seq > cached.seq,
                   RoutingEventRow.seq <= row.seq)
            .order_by(RoutingEventRow.seq)
        )  # fmt: skip
        state, seq, event_id = cached.state, cached.seq, cached.event_id
        for number, logged_id, at, data in result:
            if number != seq + 1:
                raise RuntimeError(f"routing log of tenant {tenant_id} misses event {seq + 1}")
            state, _ = decide(state, event_from_dict(data), at)
            seq, event_id = number, logged_id
            self.replayed += 1
        if seq != row.seq or event_id != row.last_event:
            raise RuntimeError(f"routing log of tenant {tenant_id} does not reach its state row")
        cached = _Cached(seq, event_id, state)
        self._cache[tenant_id] = cached
        return cached

    def _load_snapshot(self, row: RoutingStateRow) -> _Cached:
        self.loaded += 1
        if row.snapshot is None:
            return _Cached(0, "", RoutingState())
        return _Cached(row.snapshot_seq, row.snapshot_event, state_from_dict(row.snapshot))
