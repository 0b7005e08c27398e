"""Property-based fuzzing of the app's own OpenAPI: no input may produce a 5xx.

Runs in-process (ASGI) on a throwaway SQLite database holding one tenant with data, and
authenticates with that tenant's API key so the fuzzer reaches the real handlers.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.ext.asyncio import create_async_engine

from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.config import Settings
from centralita.db.registry import metadata
from tests.factories import make_tenant

_tmp = Path(tempfile.mkdtemp(prefix="centralita-fuzz-"))
_settings = Settings(
    database_url=f"sqlite+aiosqlite:///{_tmp / 'fuzz.db'}",
    data_dir=_tmp,
    environment="test",
    password_hash_cheap=True,
    secret_key="fuzz-secret-key-0123456789",
    cookie_secure=False,
    simulator_enabled=True,
)


async def _prepare() -> str:
    engine = create_async_engine(_settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    container = build_container(_settings, run_workers=False)
    kit = await make_tenant(container, "fuzz")
    await container.engine.dispose()
    return kit.api_key


API_KEY = asyncio.run(_prepare())
app = create_app(build_container(_settings, run_workers=False))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {API_KEY}"},
        checks=[not_a_server_error],
    )
