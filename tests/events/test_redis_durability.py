"""The bus checks that its Redis keeps an append-only file: a warning, or a refusal when the
operator asks for one (``redis_require_aof``). Real Redis servers, one of each kind."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from centralita.events.bus import RedisStreamBus
from tests.support.live_server import free_port

pytestmark = pytest.mark.redis


def _redis_server(directory: Path, *, aof: bool) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed (docs: ../shared/SERVICES.md)")
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    args += ["--appendonly", "yes" if aof else "no", "--dir", str(directory)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[str]:
    yield from _redis_server(tmp_path, aof=False)


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[str]:
    yield from _redis_server(tmp_path, aof=True)


async def test_a_redis_without_an_append_only_file_is_named_and_can_be_refused(
    volatile_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = RedisStreamBus(volatile_redis)
    with caplog.at_level(logging.WARNING, logger="centralita.events.bus"):
        await bus.start()
    await bus.stop()
    assert any("without an append-only file" in r.getMessage() for r in caplog.records)

    strict = RedisStreamBus(volatile_redis, require_aof=True)
    with pytest.raises(RuntimeError, match="CENTRALITA_REDIS_REQUIRE_AOF"):
        await strict.start()
    await strict.stop()


async def test_a_redis_with_an_append_only_file_starts_quietly(
    durable_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = RedisStreamBus(durable_redis, require_aof=True)
    with caplog.at_level(logging.WARNING, logger="centralita.events.bus"):
        await bus.start()
    await bus.stop()
    assert not [r for r in caplog.records if "append-only" in r.getMessage()]


async def test_groups_of_processes_gone_are_reaped_and_a_stopping_one_removes_its_own(
    redis_url: str,
) -> None:
    """A per-process (realtime) group whose consumers all went quiet is a process that died
    without stopping; live ones and shared groups stay."""
    import uuid

    import redis.asyncio as aioredis

    stream = f"centralita:test:{uuid.uuid4().hex}"
    raw = aioredis.from_url(redis_url)

    async def noop(_: object) -> None:
        return None

    live = RedisStreamBus(redis_url, stream=stream, block_ms=50, stale_group_ms=400)
    live.subscribe("realtime:live", {"x"}, noop)
    await live.start()
    try:
        for group in ("realtime:dead", "workers"):  # a dead process's, and a shared group
            await raw.xgroup_create(stream, group, id="$", mkstream=True)
            await raw.xreadgroup(group, "gone-consumer", {stream: ">"}, count=1, block=1)
        await asyncio.sleep(0.6)  # the dead ones' consumers go quiet; the live one reads

        newcomer = RedisStreamBus(redis_url, stream=stream, block_ms=50, stale_group_ms=400)
        newcomer.subscribe("realtime:new", {"x"}, noop)
        await newcomer.start()
        names = {g["name"].decode() for g in await raw.xinfo_groups(stream)}
        assert names == {"realtime:live", "realtime:new", "workers"}

        await newcomer.stop()
        names = {g["name"].decode() for g in await raw.xinfo_groups(stream)}
        assert names == {"realtime:live", "workers"}
    finally:
        await live.stop()
        await raw.delete(stream)
        await raw.aclose()
