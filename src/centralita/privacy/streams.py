"""Remove an erased contact's identifiers from Redis: bus stream entries and any value.

Only keys under ``centralita:`` are looked at. A stream entry that mentions an identifier is
deleted (its event is about someone who no longer exists); a string, list, set or hash member
that does is removed.
"""

from __future__ import annotations

import logging
from typing import Any

from centralita.privacy.identifiers import contains

log = logging.getLogger(__name__)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


async def scrub_redis(redis_url: str, needles: list[str], *, prefix: str = "centralita:") -> int:
    """How many entries, values or members were removed."""
    if not redis_url or not needles:
        return 0
    import redis.asyncio as aioredis

    client: Any = aioredis.from_url(redis_url)  # redis-py's stubs type replies loosely
    removed = 0
    try:
        async for raw in client.scan_iter(match=f"{prefix}*", count=500):
            key = _text(raw)
            if contains(key, needles):
                removed += int(await client.delete(raw))
                continue
            kind = _text(await client.type(raw))
            if kind == "stream":
                last = "-"
                while True:
                    entries = await client.xrange(raw, min=last, max="+", count=1000)
                    if last != "-":
                        entries = entries[1:]
                    if not entries:
                        break
                    doomed = [
                        entry_id
                        for entry_id, fields in entries
                        if any(contains(_text(v), needles) for v in fields.values())
                    ]
                    if doomed:
                        removed += int(await client.xdel(raw, *doomed))
                    last = _text(entries[-1][0])
            elif kind == "string":
                if contains(_text(await client.get(raw)), needles):
                    removed += int(await client.delete(raw))
            elif kind == "hash":
                values = await client.hgetall(raw)
                doomed = [f for f, v in values.items() if contains(_text(f) + _text(v), needles)]
                if doomed:
                    removed += int(await client.hdel(raw, *doomed))
            elif kind == "set":
                doomed = [m for m in await client.smembers(raw) if contains(_text(m), needles)]
                if doomed:
                    removed += int(await client.srem(raw, *doomed))
            elif kind == "list":
                for member in set(await client.lrange(raw, 0, -1)):
                    if contains(_text(member), needles):
                        removed += int(await client.lrem(raw, 0, member))
    finally:
        await client.aclose()
    return removed
