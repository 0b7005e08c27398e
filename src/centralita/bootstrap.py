"""The one place where settings, storage, buses, adapters and workers are wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from centralita.channels.base import ChannelAdapter
from centralita.channels.registry import AdapterRegistry, default_adapters
from centralita.config import Settings
from centralita.db.engine import make_engine, make_sessionmaker
from centralita.events.bus import EventBus, InProcessBus, RedisStreamBus
from centralita.events.outbox import session_class_with_wakeup
from centralita.events.relay import OutboxRelay
from centralita.events.subscriptions import SUBSCRIPTIONS

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    relay: OutboxRelay
    adapters: AdapterRegistry
    run_workers: bool = True
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.bus.start()
        if self.run_workers:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))

    async def stop(self) -> None:
        self.relay.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.bus.stop()
        await self.engine.dispose()


def build_container(
    settings: Settings,
    *,
    bus: EventBus | None = None,
    adapters: dict[str, ChannelAdapter] | None = None,
    run_workers: bool = True,
    subscribe: bool = True,
) -> Container:
    engine = make_engine(settings.database_url)
    relay_holder: list[OutboxRelay] = []

    def wake() -> None:
        if relay_holder:
            relay_holder[0].wake()

    sessions = make_sessionmaker(engine, sync_session_class=session_class_with_wakeup(wake))
    if bus is None:
        bus = RedisStreamBus(settings.redis_url) if settings.redis_url else InProcessBus()
    relay = OutboxRelay(sessions, bus, interval=settings.relay_interval_seconds)
    relay_holder.append(relay)
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bus=bus,
        relay=relay,
        adapters=AdapterRegistry(adapters or default_adapters()),
        run_workers=run_workers,
    )
    if subscribe:
        for group, names, factory in SUBSCRIPTIONS:
            bus.subscribe(group, names, factory(container))
    return container
