"""Several OS processes routing one tenant's conversations through the SQL store at once.

Each process enqueues its share of the conversations, and every process accepts whatever
open offers it sees (so two processes often accept the same offer at the same moment),
declines some, and completes assignments it sees, until every conversation has been handled.
The checker then counts assignments per conversation in ``routing_assignments``, which has
no uniqueness constraint: a double assignment would show up there.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.core.clock import utcnow
from centralita.db import registry  # noqa: F401 - every table, for the foreign keys
from centralita.db.engine import make_engine
from centralita.routing import service
from centralita.routing.model import (
    Accept,
    AgentConfig,
    Complete,
    Decline,
    Enqueue,
    Event,
    Presence,
    QueueConfig,
    SetPresence,
    UpsertAgent,
    UpsertQueue,
)
from centralita.routing.models import RoutingAssignment, RoutingOffer
from centralita.routing.store import SqlRoutingStore

QUEUE = "q-race"
BATCH = 10


@dataclass(frozen=True)
class Race:
    url: str
    tenant_id: str
    conversations: int
    processes: int
    agents: int = 20
    chats_per_agent: int = 3
    seed: int = 7


def item_id(k: int) -> str:
    return f"cv{k:06d}"


async def setup(race: Race) -> None:
    engine = make_engine(race.url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    store = SqlRoutingStore()
    async with sessions() as session, session.begin():
        now = utcnow()
        await service.apply(session, store, race.tenant_id,
                            UpsertQueue(QueueConfig(QUEUE, offer_timeout=20.0)), now)  # fmt: skip
        for n in range(race.agents):
            agent = AgentConfig(f"ag{n:03d}", capacity={"webchat": race.chats_per_agent})
            await service.apply(session, store, race.tenant_id, UpsertAgent(agent), now)
            await service.apply(session, store, race.tenant_id,
                                SetPresence(agent.id, Presence.AVAILABLE), now)  # fmt: skip
    await engine.dispose()


def run_processes(race: Race) -> list[dict[str, int]]:
    """Start the processes, wait for them, return each one's counters."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(race.processes) as pool:
        return pool.starmap(_process, [(race, i) for i in range(race.processes)])


def _process(race: Race, index: int) -> dict[str, int]:
    return asyncio.run(_work(race, index))


async def _apply_all(sessions: async_sessionmaker[AsyncSession], store: SqlRoutingStore,
                     race: Race, events: list[Event], stats: dict[str, int]) -> None:  # fmt: skip
    for attempt in range(20):
        try:
            async with sessions() as session, session.begin():
                results = await service.apply_many(session, store, race.tenant_id, events,
                                                   utcnow())  # fmt: skip
            for applied in results:
                for decision in applied.decisions:
                    name = type(decision).__name__
                    stats[name] = stats.get(name, 0) + 1
            return
        except DBAPIError:  # a deadlock or serialization failure: the whole batch again
            stats["retries"] = stats.get("retries", 0) + 1
            store.forget(race.tenant_id)
            await asyncio.sleep(0.01 * (attempt + 1))
    raise RuntimeError("a batch failed 20 times")


async def _work(race: Race, index: int) -> dict[str, int]:
    engine = make_engine(race.url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    store = SqlRoutingStore()
    rng = random.Random(race.seed * 1000 + index)
    pending = [item_id(k) for k in range(race.conversations) if k % race.processes == index]
    stats: dict[str, int] = {}
    deadline = time.monotonic() + 60 + race.conversations * 0.05
    while time.monotonic() < deadline:
        if pending:
            batch, pending = pending[:BATCH], pending[BATCH:]
            await _apply_all(sessions, store, race,
                             [Enqueue(i, QUEUE, "webchat") for i in batch], stats)  # fmt: skip
        async with sessions() as session:
            offers = (await session.execute(
                select(RoutingOffer.item_id, RoutingOffer.agent_id)
                .where(RoutingOffer.tenant_id == race.tenant_id).limit(40)
            )).all()  # fmt: skip
            open_ = (await session.execute(
                select(RoutingAssignment.item_id)
                .where(RoutingAssignment.tenant_id == race.tenant_id,
                       RoutingAssignment.released_at.is_(None)).limit(40)
            )).scalars().all()  # fmt: skip
            idle = not pending and not offers and not open_
            handled = idle and await session.scalar(
                select(func.count(func.distinct(RoutingAssignment.item_id))).where(
                    RoutingAssignment.tenant_id == race.tenant_id,
                    RoutingAssignment.released_at.is_not(None),
                )
            )
        if idle and handled >= race.conversations:
            break
        answers: list[Event] = []
        # Mostly the offers of "this process's" agents (one desktop per agent), but often any
        # offer at all, as when two tabs or two agents answer the same offer at once.
        mine = [o for o in offers if int(o[1][2:]) % race.processes == index or rng.random() < 0.3]
        for item, agent in rng.sample(mine, min(len(mine), BATCH)):
            answers.append(Decline(item, agent) if rng.random() < 0.05 else Accept(item, agent))
        if answers:
            await _apply_all(sessions, store, race, answers, stats)
        if open_:
            done = rng.sample(list(open_), min(len(open_), BATCH))
            await _apply_all(sessions, store, race, [Complete(i) for i in done], stats)
        if not answers and not pending:
            await asyncio.sleep(0.02)  # nothing for us now: leave the lock and the CPU to others
    else:
        stats["timed_out"] = 1
    await engine.dispose()
    stats["replayed"] = store.replayed
    return stats


async def double_assignments(url: str, tenant_id: str) -> tuple[int, int]:
    """(conversations assigned more than once, conversations assigned at least once)."""
    engine = make_engine(url)
    async with engine.connect() as conn:
        per_item = (
            select(RoutingAssignment.item_id, func.count().label("n"))
            .where(RoutingAssignment.tenant_id == tenant_id)
            .group_by(RoutingAssignment.item_id)
            .subquery()
        )
        doubled = await conn.scalar(select(func.count()).where(per_item.c.n > 1))
        assigned = await conn.scalar(select(func.count()).select_from(per_item))
    await engine.dispose()
    return int(doubled or 0), int(assigned or 0)
