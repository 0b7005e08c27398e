"""A process verifies an API key against the database at most once per ``TTL_SECONDS``
(access/key_cache.py). A key revoked by this process stops working at once; revoked
elsewhere (another web process, the CLI), or its tenant disabled, within the TTL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from centralita.access import service as access_service
from centralita.access.key_cache import TTL_SECONDS, PrincipalCache
from centralita.access.models import ApiKey
from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.tenants.models import Tenant
from tests.factories import make_tenant


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class SpyCache(PrincipalCache):
    log: list[str] | None = None

    def forget_all(self) -> None:
        assert self.log is not None
        self.log.append("forget")
        super().forget_all()


@dataclass
class Api:
    client: httpx.AsyncClient
    clock: Clock
    cache: SpyCache
    log: list[str]  # the engine's commits and the cache's forgetting, in order
    statements: list[str]


@pytest.fixture
async def api(container: Container) -> AsyncIterator[Api]:
    app = create_app(container)
    clock = Clock()
    log: list[str] = []
    statements: list[str] = []
    cache = SpyCache(clock=clock)
    cache.log = log
    app.state.principal_cache = cache

    def on_commit(*_: Any) -> None:
        log.append("commit")

    def on_execute(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(container.engine.sync_engine, "commit", on_commit)
    event.listen(container.engine.sync_engine, "before_cursor_execute", on_execute)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Api(c, clock, cache, log, statements)
    finally:
        event.remove(container.engine.sync_engine, "commit", on_commit)
        event.remove(container.engine.sync_engine, "before_cursor_execute", on_execute)


def _key_queries(statements: list[str]) -> int:
    return sum("FROM api_keys" in s for s in statements)


async def test_a_key_is_looked_up_once_per_ttl(api: Api, container: Container) -> None:
    kit = await make_tenant(container)
    api.statements.clear()
    for _ in range(3):
        assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
    assert _key_queries(api.statements) == 1
    api.clock.now += TTL_SECONDS
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
    assert _key_queries(api.statements) == 2


async def test_an_unknown_key_is_looked_up_every_time(api: Api, container: Container) -> None:
    headers = {"Authorization": "Bearer ck_not-a-key"}
    api.statements.clear()
    for _ in range(2):
        assert (await api.client.get("/api/v1/contacts", headers=headers)).status_code == 401
    assert _key_queries(api.statements) == 2
    assert len(api.cache) == 0


async def test_a_key_revoked_elsewhere_stops_working_within_the_ttl(
    api: Api, container: Container
) -> None:
    kit = await make_tenant(container)
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
    # Revoked as another process (or the CLI) does: nothing tells this process.
    async with container.sessions() as session, session.begin():
        key = await session.scalar(select(ApiKey).where(ApiKey.tenant_id == kit.tenant_id))
        assert key is not None
        await access_service.revoke_api_key(session, tenant_id=kit.tenant_id, key_id=key.id)
    api.clock.now += TTL_SECONDS - 0.1
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
    api.clock.now += 0.1
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 401


async def test_a_disabled_tenants_keys_stop_working_within_the_ttl(
    api: Api, container: Container
) -> None:
    kit = await make_tenant(container)
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(Tenant).where(Tenant.id == kit.tenant_id).values(disabled=True)
        )
    api.clock.now += TTL_SECONDS
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 401


async def test_a_key_revoked_here_stops_working_at_once(api: Api, container: Container) -> None:
    kit = await make_tenant(container)
    r = await api.client.post("/api/v1/api-keys", headers=kit.headers, json={"name": "crm"})
    other = r.json()
    theirs = {"Authorization": f"Bearer {other['secret']}"}
    assert (await api.client.get("/api/v1/contacts", headers=theirs)).status_code == 200
    api.log.clear()
    r = await api.client.delete(f"/api/v1/api-keys/{other['id']}", headers=kit.headers)
    assert r.status_code == 200
    # Forgotten after the revocation committed: a lookup between the two cannot bring the
    # unrevoked key back (and one begun before the forgetting is not kept).
    assert api.log == ["commit", "forget"]
    assert (await api.client.get("/api/v1/contacts", headers=theirs)).status_code == 401
    assert (await api.client.get("/api/v1/contacts", headers=kit.headers)).status_code == 200
