"""Per-account sending pace: a provider takes only so many messages a second from one number
(WhatsApp Cloud API: 80 by default), and going over it costs retries and error codes.

``deliver_outbound`` waits here before each send, holding no database transaction. One
process paces itself with a local limiter; several processes share each account's budget
through Redis, in short fixed slots so that a burst is spread over the second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from centralita.channels.base import Capabilities

SLOTS_PER_SECOND = 10  # Redis: the budget is counted per tenth of a second


def rate_for(settings: Mapping[str, Any], capabilities: Capabilities) -> float | None:
    """The account's ``rate_per_second`` setting, else the provider's default, else None."""
    value = settings.get("rate_per_second")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return capabilities.max_messages_per_second


class RateLimiter(Protocol):
    async def acquire(self, key: str, rate: float) -> float:
        """Return when one more message may go out on ``key`` at ``rate`` per second, with the
        start of the slot granted, on the limiter's own clock. The slots, not the moments the
        callers happen to wake, are what the limiter promises: a stalled event loop may wake
        several late callers together."""

    async def close(self) -> None: ...


def burst(rate: float) -> int:
    """How many messages may leave back to back: a tenth of a second's worth, at least one."""
    return max(1, int(rate / SLOTS_PER_SECOND))


class LocalRateLimiter:
    """A token bucket per key, kept as the time the next message is due (GCRA): each caller
    reserves its slot without awaiting, so concurrent senders queue up fairly."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._due: dict[str, float] = {}

    def reserve(self, key: str, rate: float) -> float:
        """Take the next slot for ``key``; return how long to wait for it."""
        return self._reserve(key, rate)[1]

    def _reserve(self, key: str, rate: float) -> tuple[float, float]:
        now = self._clock()
        interval = 1.0 / rate
        due = max(self._due.get(key, now), now)
        self._due[key] = due + interval
        wait = due - (burst(rate) - 1) * interval - now
        wait = wait if wait > 1e-9 else 0.0  # float sums of the interval drift a little
        return now + wait, wait

    async def acquire(self, key: str, rate: float) -> float:
        granted, wait = self._reserve(key, rate)
        if wait > 0:
            await asyncio.sleep(wait)
        return granted

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """One counter per key and slot (``INCR`` with an expiry) shared by every process. A
    caller over the slot's budget sleeps until a later slot and tries again. Slots follow the
    wall clock, so the processes' clocks must agree (NTP) to within a slot."""

    def __init__(self, url: str, *, prefix: str = "centralita:rate") -> None:
        import redis.asyncio as aioredis

        # many senders may wait at once: they queue for a connection instead of failing
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=20, timeout=30)
        self._redis = aioredis.Redis(connection_pool=pool)
        self._prefix = prefix

    async def acquire(self, key: str, rate: float) -> float:
        slot_seconds = 1.0 / SLOTS_PER_SECOND if rate >= SLOTS_PER_SECOND else 1.0
        budget = max(1, math.floor(rate * slot_seconds))
        while True:
            now = time.time()
            slot = math.floor(now / slot_seconds)
            name = f"{self._prefix}:{key}:{slot}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.pexpire(name, int(slot_seconds * 1000) + 2000)
                count, _ = await pipe.execute()
            if int(count) <= budget:
                return slot * slot_seconds
            # The count past the budget says how many wait ahead of us: sleep until our turn
            # comes rather than all waking at the next slot.
            ahead = math.ceil((int(count) - budget) / budget)
            await asyncio.sleep(max(0.001, (slot + ahead) * slot_seconds - now))

    async def close(self) -> None:
        await self._redis.aclose()


def build_rate_limiter(redis_url: str) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()
