"""A subscriber process for the Redis bus tests: ``python -m tests.events.redis_subscriber``.

It joins ``--group`` on ``--stream`` through ``RedisStreamBus`` and appends
``{"event_id", "consumer"}`` to the Redis list ``--record`` for every envelope it handles.
Once its group exists it sets ``--ready``. With ``--hang-on NAME`` its handler never returns
for events named NAME, so the entry stays pending until the process is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal

import redis.asyncio as aioredis

from centralita.events.bus import RedisStreamBus
from centralita.events.envelope import Envelope


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--claim-idle-ms", type=int, default=30_000)
    p.add_argument("--hang-on", default="")
    p.add_argument("--delay", type=float, default=0.0, help="seconds spent per event")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    recorder = aioredis.from_url(args.url)
    bus = RedisStreamBus(
        args.url, stream=args.stream, block_ms=100, claim_idle_ms=args.claim_idle_ms
    )
    consumer = f"{args.group}:{os.getpid()}"

    async def handle(envelope: Envelope) -> None:
        if envelope.name == args.hang_on:
            await asyncio.Event().wait()
        if args.delay:
            await asyncio.sleep(args.delay)
        entry = {"event_id": envelope.event_id, "consumer": consumer}
        await recorder.rpush(args.record, json.dumps(entry))

    bus.subscribe(args.group, {"*"}, handle)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bus.start()
    await recorder.set(args.ready, "1")
    await stop.wait()
    await bus.stop()
    await recorder.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
