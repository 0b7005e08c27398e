"""Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from centralita.db import migrate
from centralita.db.registry import metadata
from tests.conftest import PG_ADMIN_URL, PG_HOST, need_service


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
            journal = None
            if conn.dialect.name == "sqlite":
                journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        await engine.dispose()
        if journal is not None:
            assert journal == "wal"
        return list(diff)

    return asyncio.run(run())


def test_sqlite_upgrade_matches_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    assert _diff(url) == []
    migrate.upgrade(url)  # a second upgrade is a no-op


def test_postgresql_upgrade_matches_models() -> None:
    need_service("PostgreSQL", PG_HOST, 5432)
    name = f"centralita_mig_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
        migrate.upgrade(url)
        assert _diff(url) == []
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("bad", ["sqlite+aiosqlite:////nonexistent-dir/\0x.db"])
def test_bad_url_fails_loudly(bad: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any driver error, but never silence
        migrate.upgrade(bad)
