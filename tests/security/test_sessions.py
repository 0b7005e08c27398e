"""Session rotation on sign-in; revocation when a user is disabled or their role or password
changes: old cookies stop working, the user's API keys stop working, their desk socket closes."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import Container
from tests.factories import TenantKit, make_tenant
from tests.web.forms import PASSWORD, make_user, meta_token, sign_in

SESSION = "centralita_session"
CSRF = "centralita_csrf"


async def _sign_in_again(
    client: httpx.AsyncClient, slug: str, password: str = PASSWORD
) -> httpx.Response:
    """A signed-in browser posts the sign-in form again (GET /login would redirect it)."""
    token = meta_token((await client.get("/app")).text)
    data = {"csrf_token": token, "workspace": slug, "email": "ana@example.com"}
    return await client.post("/login", data={**data, "password": password})


def _browser(container: Container) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    )


async def test_sign_in_issues_a_fresh_session_and_csrf_value_and_revokes_the_old_cookie(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert (await sign_in(client, kit.slug)).status_code == 303
    first, first_csrf = client.cookies[SESSION], client.cookies[CSRF]

    # Signing in again from the same browser: both values change, and the first session dies.
    assert (await _sign_in_again(client, kit.slug)).status_code == 303
    second, second_csrf = client.cookies[SESSION], client.cookies[CSRF]
    assert second != first and second_csrf != first_csrf
    async with _browser(container) as replay:
        replay.cookies.set(SESSION, first)
        assert (await replay.get("/api/v1/users")).status_code == 401
        assert (await replay.get("/app")).headers["location"] == "/login"
        replay.cookies.set(SESSION, second)
        assert (await replay.get("/api/v1/users")).status_code == 200


async def test_a_planted_cookie_is_revoked_even_when_the_sign_in_fails(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    planted = client.cookies[SESSION]
    r = await _sign_in_again(client, kit.slug, password="wrong password!")
    assert r.status_code == 400
    async with _browser(container) as replay:
        replay.cookies.set(SESSION, planted)
        assert (await replay.get("/api/v1/users")).status_code == 401


async def _signed_in(container: Container, kit: TenantKit) -> tuple[str, httpx.AsyncClient]:
    user_id = await make_user(container, kit.tenant_id, email="bea@example.com", role="admin")
    browser = _browser(container)
    assert (await sign_in(browser, kit.slug, email="bea@example.com")).status_code == 303
    assert (await browser.get("/api/v1/users")).status_code == 200
    return user_id, browser


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"role": "agent"}, {"password": "a brand new passphrase"}],
    ids=["disabled", "role", "password"],
)
async def test_changing_a_user_revokes_their_sessions(
    client: httpx.AsyncClient, container: Container, change: dict[str, object]
) -> None:
    kit = await make_tenant(container)
    user_id, browser = await _signed_in(container, kit)
    async with aclosing(browser):
        r = await client.patch(f"/api/v1/users/{user_id}", json=change, headers=kit.headers)
        assert r.status_code == 200, r.text
        assert (await browser.get("/api/v1/users")).status_code == 401
        home = await browser.get("/app")
        assert home.status_code == 303 and home.headers["location"] == "/login"


async def test_a_name_change_keeps_the_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    user_id, browser = await _signed_in(container, kit)
    async with aclosing(browser):
        r = await client.patch(f"/api/v1/users/{user_id}", json={"name": "B"}, headers=kit.headers)
        assert r.status_code == 200
        assert (await browser.get("/api/v1/users")).status_code == 200


async def test_disabling_a_user_revokes_the_api_keys_they_created(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    user_id, browser = await _signed_in(container, kit)
    async with aclosing(browser):
        page = await browser.get("/app")
        csrf = meta_token(page.text)
        # The user's page makes a key (an API call from the session, with the CSRF header).
        r = await browser.post(
            "/api/v1/api-keys", json={"name": "bea's"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        theirs = {"Authorization": f"Bearer {secret}"}
        assert (await client.get("/api/v1/users", headers=theirs)).status_code == 200

        r = await client.patch(
            f"/api/v1/users/{user_id}", json={"disabled": True}, headers=kit.headers
        )
        assert r.status_code == 200
    assert (await client.get("/api/v1/users", headers=theirs)).status_code == 401
    # The tenant's other key is untouched.
    assert (await client.get("/api/v1/users", headers=kit.headers)).status_code == 200
