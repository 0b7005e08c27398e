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


# Rows written before 0005 (raw SQL: the models already have the new columns).
_OLD_ROWS = [
    "INSERT INTO tenants (id, slug, name, timezone, locale, receptionist_mode,"
    " reopen_window_hours, config, disabled, created_at, updated_at) VALUES ('tn_1', 'old',"
    " 'Old', 'UTC', 'en', 'ai_first', 72, '{}', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO queues (id, tenant_id, key, position, name, skills, priority, sla_seconds,"
    " sla_target, channels, callback, overflow, created_at, updated_at) VALUES ('que_1', 'tn_1',"
    " 'q', 0, 'Q', '[]', 0, 30, 0.8, '[]', false, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO staff_members (id, tenant_id, key, position, name, aliases, skills,"
    " created_at, updated_at) VALUES ('stf_1', 'tn_1', 'a', 0, 'A', '[]', '{}',"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
]


def _routing_config_fills_old_rows(url: str) -> None:
    migrate.upgrade(url, "0004")

    async def run(statements: list[str], query: str | None = None) -> list[tuple[object, ...]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
            rows = [] if query is None else [tuple(r) for r in await conn.execute(text(query))]
        await engine.dispose()
        return rows

    asyncio.run(run(_OLD_ROWS))
    migrate.upgrade(url)
    [queue] = asyncio.run(
        run(
            [],
            "SELECT strategy, offer_timeout_seconds, wrapup_seconds, aging_per_minute,"
            " min_proficiency, max_missed_offers FROM queues",
        )
    )
    assert queue == ("longest_idle", 30, 0, 0.0, 1, 3)
    assert asyncio.run(run([], "SELECT capacity FROM staff_members")) == [(None,)]


def test_0005_gives_existing_queues_the_defaults_on_sqlite(tmp_path: Path) -> None:
    _routing_config_fills_old_rows(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


def test_0005_gives_existing_queues_the_defaults_on_postgresql() -> None:
    need_service("PostgreSQL", PG_HOST, 5432)
    name = f"centralita_mig_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        _routing_config_fills_old_rows(f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("bad", ["sqlite+aiosqlite:////nonexistent-dir/\0x.db"])
def test_bad_url_fails_loudly(bad: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any driver error, but never silence
        migrate.upgrade(bad)
