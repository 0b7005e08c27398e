"""The HTTP edge: probes, the error format, body limits, authentication."""

from __future__ import annotations

from pathlib import Path

import httpx

from centralita.bootstrap import Container
from centralita.db.engine import make_engine
from tests.factories import make_tenant


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_readiness_fails_when_the_database_is_gone(
    client: httpx.AsyncClient, container: Container, tmp_path: Path
) -> None:
    """An engine on an unreachable database stands in for an outage."""
    await container.engine.dispose()
    url = (
        "postgresql+asyncpg://postgres@127.0.0.1:1/none"
        if container.engine.dialect.name == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path}"  # a directory is not a database file
    )
    container.engine = make_engine(url)
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"


async def test_authentication_is_required(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/contacts")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.get("/api/v1/contacts", headers={"Authorization": "Bearer ck_nope"})
    assert r.status_code == 401
    r = await client.get("/api/v1/contacts", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_revoked_key_stops_working(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    other = (
        await client.post("/api/v1/api-keys", headers=kit.headers, json={"name": "integration"})
    ).json()
    assert other["secret"].startswith("ck_")
    listed = (await client.get("/api/v1/api-keys", headers=kit.headers)).json()["items"]
    assert all("secret" not in k for k in listed)
    h = {"Authorization": f"Bearer {other['secret']}"}
    assert (await client.get("/api/v1/contacts", headers=h)).status_code == 200
    assert (
        await client.delete(f"/api/v1/api-keys/{other['id']}", headers=kit.headers)
    ).status_code == 200
    assert (await client.get("/api/v1/contacts", headers=h)).status_code == 401


async def test_agent_key_cannot_administer(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container, role="agent")
    r = await client.post(
        "/api/v1/users", headers=kit.headers, json={"email": "x@example.com", "name": "X"}
    )
    assert r.status_code == 403


async def test_malformed_json_names_the_problem(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await client.post(
        "/api/v1/contacts",
        headers={**kit.headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("body")
    r = await client.post(
        "/api/v1/contacts",
        headers=kit.headers,
        json={"addresses": [{"kind": "phone", "value": "12"}]},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "addresses[0].value"
    r = await client.post(
        "/api/v1/users", headers=kit.headers, json={"email": "not-an-email", "name": "X"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.email"


async def test_oversized_bodies_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    big = b'{"name": "' + b"x" * (container.settings.max_body_bytes + 10) + b'"}'
    r = await client.post(
        "/api/v1/contacts", headers={**kit.headers, "content-type": "application/json"}, content=big
    )
    assert r.status_code == 413
    assert r.json()["title"] == "Payload too large"
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=big)
    assert r.status_code == 413
    assert (await client.get("/api/v1/contacts", headers=kit.headers)).json()["items"] == []


async def test_pagination_walks_every_item_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    for i in range(7):
        r = await client.post("/api/v1/contacts", headers=kit.headers, json={"name": f"c{i}"})
        assert r.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/contacts", headers=kit.headers, params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    r = await client.get("/api/v1/contacts", headers=kit.headers, params={"limit": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limit"


async def test_nul_characters_are_refused_with_a_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await client.post("/api/v1/api-keys", headers=kit.headers, json={"name": "a\x00b"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    r = await client.get("/api/v1/contacts", headers=kit.headers, params={"q": "a\x00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.q"
    keys = (await client.get("/api/v1/api-keys", headers=kit.headers)).json()["items"]
    assert [k["name"] for k in keys] == ["tests"]
