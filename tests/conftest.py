"""Shared fixtures: every database test runs on SQLite and again on the real PostgreSQL.

PostgreSQL and Redis are expected on 127.0.0.1 (see ../shared/SERVICES.md). When one is not
reachable its tests are skipped with a reason, unless CENTRALITA_REQUIRE_SERVICES=1 (CI),
which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.config import Settings
from centralita.db.registry import metadata

PG_HOST = os.environ.get("CENTRALITA_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/postgres"
REDIS_URL = os.environ.get("CENTRALITA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE = os.environ.get("CENTRALITA_REQUIRE_SERVICES") == "1"
BACKENDS = [
    b for b in os.environ.get("CENTRALITA_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    msg = (
        f"{name} is not reachable on {host}:{port}; start it (../shared/SERVICES.md) "
        f"to run these tests"
    )
    if REQUIRE:
        pytest.fail(msg + " (CENTRALITA_REQUIRE_SERVICES=1)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def redis_url() -> str:
    need_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


async def _create_pg_database(name: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_pg_database(name: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def _create_schema(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


@dataclass(frozen=True)
class Database:
    backend: str
    url: str


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    made: dict[str, Database] = {}
    yield made
    for db in made.values():
        if db.backend == "postgresql":
            asyncio.run(_drop_pg_database(db.url.rsplit("/", 1)[1]))


def _database(backend: str, made: dict[str, Database], tmp: pytest.TempPathFactory) -> Database:
    if backend in made:
        return made[backend]
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp.mktemp('sqlite') / 'test.db'}"
    else:
        need_service("PostgreSQL", PG_HOST, 5432)
        name = f"centralita_test_{os.getpid()}_{secrets.token_hex(4)}"
        asyncio.run(_create_pg_database(name))
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    asyncio.run(_create_schema(url))
    made[backend] = Database(backend, url)
    return made[backend]


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest,
    _databases: dict[str, Database],
    tmp_path_factory: pytest.TempPathFactory,
) -> Database:
    """A database with the schema, emptied before each test."""
    db = _database(request.param, _databases, tmp_path_factory)
    asyncio.run(_empty(db))
    return db


async def _empty(db: Database) -> None:
    engine = create_async_engine(db.url)
    async with engine.begin() as conn:
        if db.backend == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    await engine.dispose()


def make_settings(database: Database, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database.url,
        "data_dir": tmp_path / "data",
        "environment": "test",
        "password_hash_cheap": True,
        "secret_key": "test-secret-key-0123456789abcdef",
        "cookie_secure": False,
        "simulator_enabled": True,
        "public_base_url": "http://testserver",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(database, tmp_path)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    """Workers off: tests drive the relay with ``await container.relay.drain()``."""
    c = build_container(settings, run_workers=False)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db(container: Container):  # type: ignore[no-untyped-def]
    """A session inside a transaction that the test commits or leaves to roll back."""
    async with container.sessions() as session:
        yield session
