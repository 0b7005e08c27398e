"""The bus checks that its Redis keeps an append-only file: a warning, or a refusal when the
operator asks for one (``redis_require_aof``). Real Redis servers, one of each kind."""

from __future__ import annotations

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
