"""Event buses: in-process by default, Redis Streams when a Redis URL is configured.

Delivery is at least once. Every subscriber has a *group* name: with Redis each group gets
each event once across all processes (a consumer group), so a worker-style handler runs once,
while a per-process group (``realtime:<pid>``) gets a broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from centralita.events.envelope import Envelope

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    group: str
    names: frozenset[str]  # event names, or {"*"}
    handler: Handler

    def matches(self, name: str) -> bool:
        return "*" in self.names or name in self.names


class EventBus(Protocol):
    def subscribe(self, group: str, names: set[str] | frozenset[str], handler: Handler) -> None:
        """Register ``handler`` for ``names`` under ``group`` before ``start``."""

    async def publish(self, envelope: Envelope) -> None:
        """Hand the event over; returns once the bus has durably accepted it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessBus:
    """Calls matching handlers directly; a handler error propagates so the relay retries."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []

    def subscribe(self, group: str, names: set[str] | frozenset[str], handler: Handler) -> None:
        self._subs.append(Subscription(group, frozenset(names), handler))

    async def publish(self, envelope: Envelope) -> None:
        for sub in self._subs:
            if sub.matches(envelope.name):
                await sub.handler(envelope)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisStreamBus:
    """One Redis stream; one consumer group per subscriber group; XAUTOCLAIM recovers crashes."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "centralita:events",
        maxlen: int = 200_000,
        block_ms: int = 500,
        claim_idle_ms: int = 30_000,
    ) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._stream = stream
        self._maxlen = maxlen
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._consumer = f"{socket.gethostname()}:{os.getpid()}"
        self._stopping = asyncio.Event()

    def subscribe(self, group: str, names: set[str] | frozenset[str], handler: Handler) -> None:
        self._subs.append(Subscription(group, frozenset(names), handler))

    async def publish(self, envelope: Envelope) -> None:
        await self._redis.xadd(
            self._stream, {"e": envelope.to_json()}, maxlen=self._maxlen, approximate=True
        )

    async def start(self) -> None:
        self._stopping.clear()
        for sub in self._subs:
            try:
                await self._redis.xgroup_create(self._stream, sub.group, id="$", mkstream=True)
            except Exception as exc:  # BUSYGROUP: the group already exists, keep its position
                if "BUSYGROUP" not in str(exc):
                    raise
            self._tasks.append(asyncio.create_task(self._consume(sub)))

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._redis.aclose()

    async def _handle(self, sub: Subscription, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        envelope = Envelope.from_json(fields[b"e"])
        if sub.matches(envelope.name):
            await sub.handler(envelope)
        await self._redis.xack(self._stream, sub.group, entry_id)

    async def _consume(self, sub: Subscription) -> None:
        backlog = True  # first re-read our own pending entries, then new ones
        while not self._stopping.is_set():
            try:
                if backlog:
                    _next, claimed, *_ = await self._redis.xautoclaim(
                        self._stream, sub.group, self._consumer, self._claim_idle_ms, "0-0", 100
                    )
                    for entry_id, fields in claimed:
                        if fields:
                            await self._handle(sub, entry_id, fields)
                    backlog = False
                resp = await self._redis.xreadgroup(
                    sub.group,
                    self._consumer,
                    {self._stream: ">"},
                    count=100,
                    block=self._block_ms,
                )
                for _stream, entries in resp or []:
                    for entry_id, fields in entries:
                        await self._handle(sub, entry_id, fields)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event handler failed in group %s; will retry", sub.group)
                backlog = True
                await asyncio.sleep(1.0)
