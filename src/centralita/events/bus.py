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
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
    """One Redis stream; one consumer group per subscriber group; XAUTOCLAIM recovers crashes.

    An entry whose handler fails stays pending and is claimed again (by this or another
    process of the group) once it has been idle for ``claim_idle_ms``; so is every entry a
    crashed process had read but not acknowledged.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = "centralita:events",
        maxlen: int = 1_000_000,
        trim_interval_s: float = 30.0,
        block_ms: int = 500,
        claim_idle_ms: int = 30_000,
        require_aof: bool = False,
        ephemeral_prefix: str = "realtime:",
        stale_group_ms: int = 600_000,
    ) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._stream = stream
        # A safety cap only: entries are trimmed once every durable group is past them
        # (``trim_consumed``); the cap cuts in only behind a group stuck that far behind.
        self._maxlen = maxlen
        self._trim_interval_s = trim_interval_s
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._require_aof = require_aof
        # Groups named with this prefix belong to one process (the realtime hub's broadcast):
        # destroyed when it stops, and reaped by others when it died without stopping.
        self._ephemeral_prefix = ephemeral_prefix
        self._stale_group_ms = stale_group_ms
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        # Unique per bus instance: two buses in one process must not share pending entries.
        self._consumer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._stopping = asyncio.Event()

    def subscribe(self, group: str, names: set[str] | frozenset[str], handler: Handler) -> None:
        self._subs.append(Subscription(group, frozenset(names), handler))

    async def publish(self, envelope: Envelope) -> None:
        await self._redis.xadd(
            self._stream, {"e": envelope.to_json()}, maxlen=self._maxlen, approximate=True
        )

    async def durability(self) -> str | None:
        """Why this Redis could lose published events on a restart, or None when it keeps
        an append-only file (or cannot say: managed services may hide ``INFO``)."""
        try:
            persistence = await self._redis.info("persistence")
        except Exception as exc:  # a command renamed or refused: nothing to conclude
            log.info("could not read Redis persistence settings: %s", exc)
            return None
        if str(persistence.get("aof_enabled", "1")) == "0":
            return (
                "the bus's Redis runs without an append-only file: a Redis restart loses "
                "published events that no subscriber has handled yet (docs/reliability.md)"
            )
        return None

    async def start(self) -> None:
        """Create the groups (new groups start at the stream's end), then start consuming."""
        self._stopping.clear()
        problem = await self.durability()
        if problem is not None:
            if self._require_aof:
                raise RuntimeError(problem + "; CENTRALITA_REDIS_REQUIRE_AOF is set")
            log.warning("%s", problem)
        with contextlib.suppress(Exception):  # housekeeping must not stop a start
            reaped = await self.reap_stale_groups()
            if reaped:
                log.info("removed %d groups of processes gone from %s", len(reaped), self._stream)
        for sub in self._subs:
            await self._ensure_group(sub.group)
            self._tasks.append(
                asyncio.create_task(self._consume(sub), name=f"bus:{self._stream}:{sub.group}")
            )
        if any(not self._ephemeral(sub.group) for sub in self._subs):
            self._tasks.append(asyncio.create_task(self._trim_loop(), name="bus:trim"))

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for group in {sub.group for sub in self._subs}:
            with contextlib.suppress(Exception):
                if self._ephemeral(group):
                    await self._redis.xgroup_destroy(self._stream, group)
                else:
                    await self._forget_consumer(group)
        await self._redis.aclose()

    def _ephemeral(self, group: str) -> bool:
        return bool(self._ephemeral_prefix) and group.startswith(self._ephemeral_prefix)

    async def reap_stale_groups(self) -> list[str]:
        """Destroy the per-process groups of processes that died without stopping: every
        consumer idle for ``stale_group_ms`` (a live one reads every ``block_ms``), or none
        left. A live group reaped by mistake is recreated by its reader (NOGROUP)."""
        ours = {sub.group for sub in self._subs}
        reaped: list[str] = []
        try:
            groups = await self._redis.xinfo_groups(self._stream)
        except Exception as exc:  # no stream yet
            if "no such key" in str(exc).lower():
                return reaped
            raise
        for info in groups:
            raw = info.get("name", b"")
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            if not self._ephemeral(name) or name in ours:
                continue
            consumers = await self._redis.xinfo_consumers(self._stream, name)
            if all(int(c.get("idle", 0)) >= self._stale_group_ms for c in consumers):
                await self._redis.xgroup_destroy(self._stream, name)
                reaped.append(name)
        return reaped

    async def trim_consumed(self) -> int:
        """Remove the entries every durable group has handled: below the oldest entry a
        durable group still has pending (delivered, not acknowledged) or not yet read.
        Per-process fan-out groups do not hold entries back (a dead process's group would
        otherwise keep the stream forever; its sockets are gone anyway). How many went."""
        try:
            groups = await self._redis.xinfo_groups(self._stream)
        except Exception as exc:  # no stream yet
            if "no such key" in str(exc).lower():
                return 0
            raise
        floor: tuple[int, int] | None = None
        for info in groups:
            name = _text(info.get("name", b""))
            if self._ephemeral(name):
                continue
            point = _entry_id(_text(info.get("last-delivered-id", b"0-0")))
            point = (point[0], point[1] + 1)  # the next entry it has not read
            if int(info.get("pending", 0)):
                summary = await self._redis.xpending(self._stream, name)
                oldest = summary.get("min")
                if oldest:
                    point = min(point, _entry_id(_text(oldest)))
            floor = point if floor is None else min(floor, point)
            lag = info.get("lag")
            if lag is not None and int(lag) > self._maxlen * 0.8:
                log.error(
                    "group %s is %s entries behind on %s: the stream's cap of %d will drop "
                    "entries it has not read",
                    name, lag, self._stream, self._maxlen,
                )  # fmt: skip
        if floor is None:
            return 0
        minid = f"{floor[0]}-{floor[1]}"
        return int(await self._redis.xtrim(self._stream, minid=minid, approximate=False))

    async def _trim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.trim_consumed()
            except Exception:  # housekeeping: try again next time
                log.exception("trimming %s failed", self._stream)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._trim_interval_s)

    async def _ensure_group(self, group: str) -> None:
        try:
            await self._redis.xgroup_create(self._stream, group, id="$", mkstream=True)
        except Exception as exc:  # BUSYGROUP: the group already exists, keep its position
            if "BUSYGROUP" not in str(exc):
                raise

    async def _forget_consumer(self, group: str) -> None:
        """Drop this consumer's name from the group unless it still owns pending entries."""
        pending = await self._redis.xpending_range(
            self._stream, group, min="-", max="+", count=1, consumername=self._consumer
        )
        if not pending:
            await self._redis.xgroup_delconsumer(self._stream, group, self._consumer)

    async def _handle(self, sub: Subscription, entry_id: bytes, fields: dict[bytes, bytes]) -> bool:
        """Run the handler; True when the entry may be acknowledged. On failure it stays
        pending, so that it is claimed again."""
        try:
            envelope = Envelope.from_json(fields[b"e"])
        except Exception:
            # Not ours or corrupt: retrying cannot help, so acknowledge it and say so.
            log.exception("dropping unreadable entry %r of %s", entry_id, self._stream)
            return True
        try:
            if sub.matches(envelope.name):
                await sub.handler(envelope)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event handler failed in group %s on %r; will retry", sub.group, entry_id)
            return False
        return True

    async def _handle_entries(self, sub: Subscription, entries: Any) -> None:
        """Handle entries in order and acknowledge the handled ones.

        A per-process (realtime) group acknowledges a batch in one XACK: every process reads
        every event there, its handlers only fan out to this process's sockets and cannot
        hang, and no other process ever takes over its entries. Any other group acknowledges
        each entry once handled: a handler that hangs mid-batch must leave pending only its
        own entry and those after it, not the batch's earlier, handled ones (a consumer
        killed while hanging would otherwise have them redelivered to its group)."""
        batched = self._ephemeral(sub.group)
        done: list[bytes] = []
        try:
            for entry_id, fields in entries:
                if not fields:  # deleted from the stream (XAUTOCLAIM reports it empty)
                    continue
                if not await self._handle(sub, entry_id, fields):
                    continue
                if batched:
                    done.append(entry_id)
                else:
                    await self._redis.xack(self._stream, sub.group, entry_id)
        finally:
            if done:
                await self._redis.xack(self._stream, sub.group, *done)

    async def _claim_idle(self, sub: Subscription) -> None:
        """Take over every entry of the group idle for ``claim_idle_ms`` (crashed consumers)."""
        cursor: Any = "0-0"
        while True:
            cursor, claimed, *_ = await self._redis.xautoclaim(
                self._stream, sub.group, self._consumer, self._claim_idle_ms, cursor, count=100
            )
            await self._handle_entries(sub, claimed)
            if cursor in (b"0-0", "0-0"):
                return

    async def _consume(self, sub: Subscription) -> None:
        claim_every = max(self._claim_idle_ms / 2000, 0.05)
        next_claim = 0.0  # claim at once: a restarted process takes over its own backlog
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_claim:
                    await self._claim_idle(sub)
                    next_claim = time.monotonic() + claim_every
                block = max(1, min(self._block_ms, int(claim_every * 1000)))
                resp: Any = await self._redis.xreadgroup(
                    sub.group, self._consumer, {self._stream: ">"}, count=100, block=block
                )
                for _stream, entries in resp or []:
                    await self._handle_entries(sub, entries)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if "NOGROUP" in str(exc):
                    # Redis lost the stream (it keeps nothing on disk here): recreate the group.
                    log.warning("group %s vanished from %s; recreating", sub.group, self._stream)
                    with contextlib.suppress(Exception):
                        await self._ensure_group(sub.group)
                    await asyncio.sleep(0.1)
                    continue
                log.exception("reading %s for group %s failed; will retry", self._stream, sub.group)
                await asyncio.sleep(1.0)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry_id(value: str) -> tuple[int, int]:
    millis, _, seq = value.partition("-")
    return int(millis), int(seq or 0)
