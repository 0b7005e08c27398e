"""Engine and session factory; SQLite gets WAL and sane pragmas on every connection."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # We issue BEGIN ourselves (below); the driver must not open transactions implicitly.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not half-way through it.

    A deferred transaction that reads and then writes cannot wait for a concurrent writer
    (its snapshot would be stale), so SQLite fails it at once with "database is locked".
    Starting every transaction IMMEDIATE turns that into an orderly wait in busy_timeout.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled PostgreSQL connection idle for longer than this is checked before use.
PING_AFTER_IDLE_SECONDS = 10.0


def _idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(idle_seconds: float) -> Any:
    """Check a pooled connection before use only when it sat idle a while.

    SQLAlchemy's ``pool_pre_ping`` checks on every checkout, and on asyncpg a check is three
    round trips (``BEGIN``, ``;``, ``ROLLBACK``): 3 of the 7 round trips of an API read. A
    busy pool's connections were used a moment ago; one idle for ``idle_seconds`` may have
    been cut (a database restart, a proxy's idle timeout) and is checked. A connection that
    dies while busy fails its statement, and SQLAlchemy then drops it from the pool.
    """

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool retries the checkout with a new connection
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc

    return check


def make_engine(
    url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if not parsed.database or parsed.database == ":memory:":
            kwargs["poolclass"] = StaticPool
        else:
            # One writer at a time anyway: a short, fair queue for connections beats many
            # connections sleeping in SQLite's busy handler (seconds of p99, timeouts).
            # Two, not one, so that code holding a session may still open a second.
            kwargs.update(pool_size=2, max_overflow=0, pool_timeout=60)
    else:
        kwargs.update(pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() != "sqlite":
        event.listen(engine.sync_engine, "checkin", _idle_since)
        event.listen(engine.sync_engine, "checkout", _ping_when_idle(ping_after_idle))
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def make_sessionmaker(
    engine: AsyncEngine, *, sync_session_class: type[Session] = Session
) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=sync_session_class)
