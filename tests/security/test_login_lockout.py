"""Sign-in throttling over HTTP: 429 with Retry-After, lock growth, reset, audit, processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from centralita.access.models import LoginThrottle
from centralita.app import create_app
from centralita.audit.models import AuditEntry
from centralita.bootstrap import Container, build_container
from tests.factories import make_tenant
from tests.web.forms import PASSWORD, make_user, sign_in

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
WRONG = "not the password!"


def _at(container: Container, when: datetime) -> None:
    container.clock = lambda: when


async def _fail(client: httpx.AsyncClient, slug: str, times: int, **kw: str) -> list[int]:
    return [(await sign_in(client, slug, password=WRONG, **kw)).status_code for _ in range(times)]


async def test_five_failures_lock_the_account_and_even_the_right_password_waits(
    client: httpx.AsyncClient, container: Container
) -> None:
    _at(container, T0)
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert await _fail(client, kit.slug, 4) == [400] * 4
    locked = await sign_in(client, kit.slug, password=WRONG)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(15 * 60)
    assert 'id="login-locked"' in locked.text
    assert "centralita_session" not in client.cookies  # only ever told to forget one

    right = await sign_in(client, kit.slug)  # the correct password, during the lock
    assert right.status_code == 429
    assert "centralita_session" not in client.cookies

    _at(container, T0 + timedelta(minutes=10))
    r = await sign_in(client, kit.slug)
    assert r.status_code == 429 and r.headers["retry-after"] == str(5 * 60)

    _at(container, T0 + timedelta(minutes=15, seconds=1))
    assert (await sign_in(client, kit.slug)).status_code == 303
    assert (await client.get("/app")).status_code == 200


async def test_the_next_lock_is_twice_as_long_and_success_resets(
    client: httpx.AsyncClient, container: Container
) -> None:
    _at(container, T0)
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert (await _fail(client, kit.slug, 5))[-1] == 429
    _at(container, T0 + timedelta(minutes=16))
    statuses = await _fail(client, kit.slug, 5)
    assert statuses == [400, 400, 400, 400, 429]
    r = await sign_in(client, kit.slug)
    assert r.headers["retry-after"] == str(30 * 60)

    # After the lock, a success clears the count: four more failures do not lock again.
    _at(container, T0 + timedelta(minutes=47))
    assert (await sign_in(client, kit.slug)).status_code == 303
    client.cookies.delete("centralita_session")  # signed out again, the form shows
    assert await _fail(client, kit.slug, 4) == [400] * 4


async def test_a_lockout_is_audited_without_the_password(
    client: httpx.AsyncClient, container: Container
) -> None:
    _at(container, T0)
    kit = await make_tenant(container)
    user_id = await make_user(container, kit.tenant_id)
    await _fail(client, kit.slug, 5)
    async with container.sessions() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert [(e.action, e.object_id, e.actor) for e in entries] == [
        ("user.locked", user_id, "system")
    ]
    assert entries[0].tenant_id == kit.tenant_id
    assert entries[0].data["email"] == "ana@example.com"
    assert WRONG not in str(entries[0].data)


async def test_unknown_accounts_are_throttled_the_same_way(
    client: httpx.AsyncClient, container: Container
) -> None:
    _at(container, T0)
    kit = await make_tenant(container)
    statuses = await _fail(client, kit.slug, 5, email="nobody@example.com")
    assert statuses == [400, 400, 400, 400, 429]


async def test_one_address_guessing_many_accounts_is_locked(
    client: httpx.AsyncClient, container: Container
) -> None:
    _at(container, T0)
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    statuses = []
    for i in range(30):
        r = await sign_in(client, kit.slug, email=f"user{i}@example.com", password=WRONG)
        statuses.append(r.status_code)
    assert statuses[:29] == [400] * 29 and statuses[29] == 429
    # Ana's own account was never tried, but this address now waits, whoever it signs in as.
    assert (await sign_in(client, kit.slug)).status_code == 429
    async with container.sessions() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert [(e.action, e.object_type) for e in entries] == [("client.locked", "client")]


async def test_two_processes_count_the_same_failures(container: Container) -> None:
    """Two app instances (as two processes would) share the counts through the database."""
    _at(container, T0)
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    other = build_container(container.settings, run_workers=False)
    other.clock = lambda: T0
    await other.start()
    try:
        apps = [create_app(container), create_app(other)]
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://testserver")
            for a in apps
        ]
        statuses = []
        for i in range(5):
            statuses.append((await sign_in(clients[i % 2], kit.slug, password=WRONG)).status_code)
        assert statuses == [400, 400, 400, 400, 429]
        assert (await sign_in(clients[1], kit.slug)).status_code == 429
        for c in clients:
            await c.aclose()
    finally:
        await other.stop()
    async with container.sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(LoginThrottle))
    assert rows == 2  # the account and the address


async def test_the_right_password_still_works_after_a_few_failures(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert await _fail(client, kit.slug, 4) == [400] * 4
    r = await sign_in(client, kit.slug, password=PASSWORD)
    assert r.status_code == 303
