"""Property-based fuzzing of every operation in the app's own OpenAPI, on both databases.

No input may produce a 5xx, and every response must match what the document publishes:
its status code is declared, its content type is declared, and its body fits the schema.
Runs in-process (ASGI) against a database holding one tenant with a little data,
authenticated with that tenant's admin API key so the fuzzer reaches the real handlers.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.config import Settings
from tests.conftest import BACKENDS, Database, _database, _empty, make_settings
from tests.factories import make_tenant

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The document alone (no database is touched to serve it): one test per operation from it.
_docs = Path(tempfile.mkdtemp(prefix="centralita-openapi-"))
_document_app = create_app(
    build_container(Settings(data_dir=_docs, environment="test"), run_workers=False)
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _document_app)


async def _seed(settings: Settings) -> str:
    """One tenant with a contact, so that lists and lookups have something to show."""
    container = build_container(settings, run_workers=False)
    try:
        kit = await make_tenant(container, "fuzz")
        from httpx import ASGITransport, AsyncClient

        transport = ASGITransport(app=create_app(container))
        async with AsyncClient(transport=transport, base_url="http://t") as c:
            made = await c.post(
                "/api/v1/contacts",
                headers=kit.headers,
                json={"name": "Ana", "addresses": [{"kind": "phone", "value": "+34600111222"}]},
            )
            assert made.status_code == 201, made.text
        return kit.api_key
    finally:
        await container.engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_target(
    request: pytest.FixtureRequest,
    _databases: dict[str, Database],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, str]]:
    """The app on one backend, seeded once for all operations; and the API key to use."""
    database = _database(request.param, _databases, tmp_path_factory)
    asyncio.run(_empty(database))
    settings = make_settings(database, tmp_path_factory.mktemp("fuzz"))
    key = asyncio.run(_seed(settings))
    yield create_app(build_container(settings, run_workers=False)), key


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_published_contract(
    case: schemathesis.Case, fuzz_target: tuple[Any, str]
) -> None:
    app, key = fuzz_target
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS, app=app)
