"""`centralita serve` as a real OS process on a throw-away database (chaos tests, benchmarks).

Synchronous on purpose: call it from sync fixtures or before an event loop starts.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from centralita.bootstrap import build_container
from centralita.config import Settings
from centralita.db.registry import metadata

PG_HOST = os.environ.get("CENTRALITA_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/postgres"
SECRET_KEY = "live-server-secret-key-0123456789abcdef"


def create_schema(database_url: str) -> None:
    """Create the schema.

    Until the first Alembic migration exists this uses ``metadata.create_all``; afterwards
    replace the body with ``centralita.db.migrate.upgrade(database_url)``.
    """
    asyncio.run(_create_all(database_url))


async def _create_all(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def create_database(backend: str, directory: Path) -> str:
    """A new, empty database with the schema; returns its async URL."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / f'live-{secrets.token_hex(4)}.db'}"
    elif backend == "postgresql":
        name = f"centralita_live_{os.getpid()}_{secrets.token_hex(4)}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    else:
        raise ValueError(f"unknown backend {backend!r}")
    create_schema(url)
    return url


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    elif parsed.database:
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)


@dataclass(frozen=True)
class SimulatorTenant:
    tenant_id: str
    account_id: str
    secret: str


def seed_tenant(database_url: str, data_dir: Path) -> SimulatorTenant:
    """A tenant with a simulator channel account, made as tests.factories.make_tenant does."""
    from tests.factories import make_tenant

    async def main() -> SimulatorTenant:
        container = build_container(
            Settings(
                database_url=database_url,
                data_dir=data_dir,
                environment="test",
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
                password_hash_cheap=True,
            ),
            run_workers=False,
            subscribe=False,
        )
        await container.start()
        try:
            kit = await make_tenant(container)
            await container.relay.drain()
        finally:
            await container.stop()
        return SimulatorTenant(kit.tenant_id, kit.simulator_account_id, kit.simulator_secret)

    return asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def centralita_command() -> list[str]:
    script = Path(sys.executable).with_name("centralita")
    return [str(script)] if script.exists() else [sys.executable, "-m", "centralita"]


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """Prefix ``taskset -c cpus`` when asked for and available."""
    if cpus is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", cpus, *command]


class ServerProcess:
    """One `centralita serve` process; ``kill()`` is SIGKILL, ``stop()`` a clean SIGTERM."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        port: int | None = None,
        workers: bool = True,
        relay_interval: float = 1.0,
        cpus: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"serve-{self.port}-{secrets.token_hex(2)}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
        env.update(
            CENTRALITA_DATABASE_URL=database_url,
            CENTRALITA_DATA_DIR=str(data_dir),
            CENTRALITA_SECRET_KEY=SECRET_KEY,
            CENTRALITA_PORT=str(self.port),
            CENTRALITA_ENVIRONMENT="test",
            CENTRALITA_PUBLIC_BASE_URL=self.base_url,
            CENTRALITA_RELAY_INTERVAL_SECONDS=str(relay_interval),
            CENTRALITA_LOG_LEVEL="WARNING",
        )
        env.update(extra_env or {})  # may override the defaults above
        command = [*centralita_command(), "serve", *([] if workers else ["--no-workers"])]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            pinned(command, cpus), env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 120) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, as when the machine loses power."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
