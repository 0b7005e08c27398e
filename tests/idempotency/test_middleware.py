"""The middleware around a deliberately slow route: the lease outlives a long request.

The inner ASGI app is a stand-in for a slow route (no route is slow on demand); the
middleware, the database and the clock are the real ones.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from starlette.types import Receive, Scope, Send

from centralita.audit import service as audit_service
from centralita.bootstrap import Container
from centralita.idempotency.middleware import IdempotencyMiddleware
from tests.factories import make_tenant


async def test_a_long_request_keeps_its_key_past_the_lease(container: Container) -> None:
    container.settings = container.settings.model_copy(update={"idempotency_lease_seconds": 0.3})
    kit = await make_tenant(container)
    runs: list[bytes] = []

    async def slow_route(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        runs.append(message["body"])
        await asyncio.sleep(1.2)  # four lease lengths
        body = json.dumps({"run": len(runs)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    app = IdempotencyMiddleware(slow_route, container=container)
    headers = {**kit.headers, "Idempotency-Key": "slow-1"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
        first = asyncio.create_task(c.post("/api/v1/slow", headers=headers, json={"a": 1}))
        await asyncio.sleep(0.8)  # the first lease ran out long ago; the renewals did not
        second = await c.post("/api/v1/slow", headers=headers, json={"a": 1})
        assert second.status_code == 409
        done = await first
        assert done.status_code == 201 and done.json() == {"run": 1}
        third = await c.post("/api/v1/slow", headers=headers, json={"a": 1})
        assert third.headers["idempotent-replayed"] == "true" and third.json() == {"run": 1}
    assert len(runs) == 1


async def test_a_route_that_raises_releases_its_key(container: Container) -> None:
    kit = await make_tenant(container)
    attempts: list[int] = []

    async def flaky_route(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the database went away")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = IdempotencyMiddleware(flaky_route, container=container)
    headers = {**kit.headers, "Idempotency-Key": "flaky-1"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        failed = await c.post("/api/v1/flaky", headers=headers, content=b"x")
        assert failed.status_code == 500
        retried = await c.post("/api/v1/flaky", headers=headers, content=b"x")
        assert retried.status_code == 200 and retried.content == b"ok"
        replayed = await c.post("/api/v1/flaky", headers=headers, content=b"x")
        assert replayed.headers["idempotent-replayed"] == "true"
    assert len(attempts) == 2


async def test_a_request_that_committed_never_runs_again(container: Container) -> None:
    """Its own transaction marked the key: a crash before the response was stored (here, an
    exception after the commit) cannot lead a retry to do the work twice."""
    container.settings = container.settings.model_copy(update={"idempotency_lease_seconds": 0.3})
    kit = await make_tenant(container)
    runs: list[int] = []

    async def committing_route(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        runs.append(1)
        async with container.sessions() as session, session.begin():
            audit_service.record(
                session,
                tenant_id=kit.tenant_id,
                actor="test",
                action="work.done",
                object_type="work",
                object_id="w1",
            )
        raise RuntimeError("the process dies here")

    app = IdempotencyMiddleware(committing_route, container=container)
    headers = {**kit.headers, "Idempotency-Key": "commit-1"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.post("/api/v1/work", headers=headers, content=b"x")).status_code == 500
        await asyncio.sleep(0.4)  # the lease is over
        retried = await c.post("/api/v1/work", headers=headers, content=b"x")
        assert retried.status_code == 409
        assert retried.json()["title"] == "Outcome unknown"
    assert len(runs) == 1
    async with container.sessions() as session:
        entries = await audit_service.list_entries(session, tenant_id=kit.tenant_id, object_id="w1")
    assert len(entries) == 1
