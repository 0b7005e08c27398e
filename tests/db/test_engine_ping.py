"""A pooled PostgreSQL connection that sat idle is checked before use, not on every use."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from centralita.db.engine import make_engine
from tests.conftest import Database


async def _pid(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def _kill(url: str, pid: int) -> None:
    other = make_engine(url)
    try:
        async with other.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    finally:
        await other.dispose()


@pytest.mark.parametrize("idle_checked", [True, False])
async def test_an_idle_connection_cut_by_the_server_is_replaced_before_use(
    database: Database, idle_checked: bool
) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite has no server to cut connections")
    # checked after 50 ms of idleness; or, to show the check matters, only after an hour
    engine = make_engine(database.url, ping_after_idle=0.05 if idle_checked else 3600)
    try:
        before = await _pid(engine)
        await _kill(database.url, before)
        await asyncio.sleep(0.2)
        if idle_checked:
            after = await _pid(engine)
            assert after != before  # a new connection, and the caller saw no error
        else:
            with pytest.raises(DBAPIError):
                await _pid(engine)
    finally:
        await engine.dispose()
