"""Idempotency-Key end to end through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from centralita.access import service as access_service
from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.contacts.models import Contact
from centralita.idempotency import service
from centralita.idempotency.cleanup import purge_once, run_idempotency_purge
from centralita.idempotency.models import IdempotencyKey
from centralita.idempotency.rules import fingerprint
from tests.factories import TenantKit, make_tenant
from tests.web.forms import make_user, meta_token, sign_in

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
URL = "/api/v1/contacts"


async def _count(container: Container, model: type, tenant_id: str) -> int:
    async with container.sessions() as session:
        stmt = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)  # type: ignore[attr-defined]
        return int(await session.scalar(stmt) or 0)


def _with_key(kit: TenantKit, key: str) -> dict[str, str]:
    return {**kit.headers, "Idempotency-Key": key, "content-type": "application/json"}


async def test_a_replay_returns_the_stored_response_and_creates_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    first = await client.post(URL, headers=_with_key(kit, "k-1"), json={"name": "Ana"})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await client.post(URL, headers=_with_key(kit, "k-1"), json={"name": "Ana"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.content == first.content
    # JSON is compared by value: the same request written differently is still a replay
    same = await client.post(
        URL,
        headers={**_with_key(kit, "k-1"), "content-type": "application/json"},
        content=b'{ "name" :"Ana" }',
    )
    assert same.headers["idempotent-replayed"] == "true" and same.content == first.content
    assert await _count(container, Contact, kit.tenant_id) == 1
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 1
    # without a key nothing is deduplicated
    assert (await client.post(URL, headers=kit.headers, json={"name": "Ana"})).status_code == 201
    assert await _count(container, Contact, kit.tenant_id) == 2


async def test_the_same_key_with_another_request_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    assert (
        await client.post(URL, headers=_with_key(kit, "k-2"), json={"name": "Ana"})
    ).status_code == 201
    r = await client.post(URL, headers=_with_key(kit, "k-2"), json={"name": "Eva"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "different request" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    # another path with the same key is a different request too
    other = await client.post(
        "/api/v1/api-keys", headers=_with_key(kit, "k-2"), json={"name": "integration"}
    )
    assert other.status_code == 422
    assert await _count(container, Contact, kit.tenant_id) == 1


async def test_a_failed_request_is_not_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A rejected request released its key: the corrected request may reuse it."""
    kit = await make_tenant(container)
    bad = await client.post(URL, headers=_with_key(kit, "k-3"), json={"vip": "yes"})
    assert bad.status_code == 422
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 0
    good = await client.post(URL, headers=_with_key(kit, "k-3"), json={"name": "Ana"})
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


async def test_bad_keys_are_rejected_with_a_clear_message(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    for key in ("x" * 256, "caf\u00e9".encode(), "a\x7fb"):
        r = await client.post(URL, headers={**kit.headers, "Idempotency-Key": key}, json={})  # type: ignore[dict-item]
        assert r.status_code == 400, key
        assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    twice = httpx.Headers(
        [*kit.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    )
    r = await client.post(URL, headers=twice, json={})
    assert r.status_code == 400 and "one Idempotency-Key" in r.json()["detail"]
    assert await _count(container, Contact, kit.tenant_id) == 0


async def test_unauthenticated_requests_are_not_tracked(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await client.post(URL, headers={"Idempotency-Key": "k-4"}, json={"name": "Ana"})
    assert r.status_code == 401
    r = await client.post(
        URL, headers={"Idempotency-Key": "k-4", "Authorization": "Bearer ck_nope"}, json={}
    )
    assert r.status_code == 401
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 0


async def test_concurrent_requests_with_one_key_run_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    responses = await asyncio.gather(
        *(client.post(URL, headers=_with_key(kit, "k-5"), json={"name": "Ana"}) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created and all(r.content == created[0].content for r in created)
    assert sum("idempotent-replayed" not in r.headers for r in created) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.headers["retry-after"] == "1"
    assert await _count(container, Contact, kit.tenant_id) == 1


async def _claim(
    container: Container, kit: TenantKit, key: str, body: bytes, now: datetime
) -> None:
    """Leave a claim in progress, as a request still running (or a dead process) does."""
    async with container.sessions() as session, session.begin():
        principal = await access_service.authenticate_api_key(session, token=kit.api_key)
        assert principal is not None
        claim = await service.claim_key(
            session,
            tenant_id=kit.tenant_id,
            principal=principal.actor,
            key=key,
            fingerprint=fingerprint("POST", URL, "", body),
            now=now,
            ttl=timedelta(hours=24),
            lease=timedelta(seconds=container.settings.idempotency_lease_seconds),
        )
    assert claim.record_id is not None


async def test_a_running_request_blocks_its_key_until_its_lease_ends(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body = b'{"name":"Ana"}'
    await _claim(container, kit, "k-6", body, T0)
    container.clock = lambda: T0 + timedelta(seconds=10)
    busy = await client.post(URL, headers=_with_key(kit, "k-6"), content=body)
    assert busy.status_code == 409
    assert "still being processed" in busy.json()["detail"]
    assert await _count(container, Contact, kit.tenant_id) == 0
    lease = timedelta(seconds=container.settings.idempotency_lease_seconds)
    container.clock = lambda: T0 + lease + timedelta(seconds=1)  # the first process died
    retried = await client.post(URL, headers=_with_key(kit, "k-6"), content=body)
    assert retried.status_code == 201
    replay = await client.post(URL, headers=_with_key(kit, "k-6"), content=body)
    assert replay.headers["idempotent-replayed"] == "true"
    assert await _count(container, Contact, kit.tenant_id) == 1


async def test_keys_are_kept_24_hours_then_purged(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    container.clock = lambda: T0
    assert (
        await client.post(URL, headers=_with_key(kit, "k-7"), json={"name": "Ana"})
    ).status_code == 201
    container.clock = lambda: T0 + timedelta(hours=23, minutes=59)
    late = await client.post(URL, headers=_with_key(kit, "k-7"), json={"name": "Ana"})
    assert late.headers["idempotent-replayed"] == "true"
    container.clock = lambda: T0 + timedelta(hours=12)
    assert (
        await client.post(URL, headers=_with_key(kit, "k-8"), json={"name": "Eva"})
    ).status_code == 201
    container.clock = lambda: T0 + timedelta(hours=24)
    assert await purge_once(container) == 1  # k-7 went, k-8 has twelve hours left
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 1
    fresh = await client.post(URL, headers=_with_key(kit, "k-7"), json={"name": "Ana"})
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert await _count(container, Contact, kit.tenant_id) == 3
    container.clock = lambda: T0 + timedelta(hours=49)
    assert await purge_once(container) == 2
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 0


async def test_an_expired_key_counts_as_new_before_the_purge(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    container.clock = lambda: T0
    await client.post(URL, headers=_with_key(kit, "k-9"), json={"name": "Ana"})
    container.clock = lambda: T0 + timedelta(hours=24, seconds=1)
    reused = await client.post(URL, headers=_with_key(kit, "k-9"), json={"name": "Eva"})
    assert reused.status_code == 201 and reused.json()["name"] == "Eva"
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 1


async def test_keys_belong_to_one_tenant_and_one_caller(
    client: httpx.AsyncClient, container: Container
) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    first = await client.post(URL, headers=_with_key(a, "shared"), json={"name": "Ana"})
    in_b = await client.post(URL, headers=_with_key(b, "shared"), json={"name": "Ana"})
    assert in_b.status_code == 201 and "idempotent-replayed" not in in_b.headers
    assert in_b.json()["id"] != first.json()["id"]
    # B's different body under the same key is not a mismatch with A's
    other = await client.post(URL, headers=_with_key(b, "shared-2"), json={"name": "Eva"})
    mine = await client.post(URL, headers=_with_key(a, "shared-2"), json={"name": "Ana"})
    assert other.status_code == 201 and mine.status_code == 201
    # a second API key of tenant A is another caller
    second = (
        await client.post("/api/v1/api-keys", headers=a.headers, json={"name": "second"})
    ).json()["secret"]
    headers = {"Authorization": f"Bearer {second}", "Idempotency-Key": "shared"}
    again = await client.post(URL, headers=headers, json={"name": "Ana"})
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert await _count(container, Contact, a.tenant_id) == 3
    assert await _count(container, Contact, b.tenant_id) == 2


async def test_other_methods_and_paths_ignore_the_header(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    assert (await client.get(URL, headers=_with_key(kit, "k-10"))).status_code == 200
    assert (await client.get(URL, headers=_with_key(kit, "\x7f"))).status_code == 200
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 0


async def test_a_user_has_one_key_across_web_sessions(container: Container) -> None:
    """Keys belong to the user behind a session cookie, not to the session."""
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id, role="admin")
    app = create_app(container)
    answers = []
    for _ in range(2):  # two browsers, two sessions, one user
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await sign_in(c, kit.slug)).status_code == 303
            token = meta_token((await c.get("/simulator")).text)
            headers = {"X-CSRF-Token": token, "Idempotency-Key": "web-1"}
            answers.append(await c.post(URL, headers=headers, json={"name": "Ana"}))
    first, second = answers
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true" and second.content == first.content
    assert await _count(container, Contact, kit.tenant_id) == 1


async def test_the_purge_worker_runs_periodically(container: Container) -> None:
    container.settings = container.settings.model_copy(update={"idempotency_purge_seconds": 0.05})
    kit = await make_tenant(container)
    await _claim(container, kit, "old", b"{}", datetime.now(UTC) - timedelta(hours=30))
    assert await _count(container, IdempotencyKey, kit.tenant_id) == 1
    stopping = asyncio.Event()
    worker = asyncio.create_task(run_idempotency_purge(container, stopping))
    try:
        for _ in range(100):
            if await _count(container, IdempotencyKey, kit.tenant_id) == 0:
                break
            await asyncio.sleep(0.05)
        assert await _count(container, IdempotencyKey, kit.tenant_id) == 0
    finally:
        stopping.set()
        await asyncio.wait_for(worker, 5)
