"""Web sign-in over HTTP: cookies, generic failures, CSRF, sign-out, expiry, disabled users."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from centralita.access import service as access_service
from centralita.access.models import WebSession
from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.core.clock import utcnow
from tests.conftest import Database, make_settings
from tests.factories import make_tenant
from tests.web.forms import PASSWORD, form_token, make_user, sign_in


def _cookie_attrs(response: httpx.Response, name: str) -> list[str]:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return [part.strip().lower() for part in header.split(";")]
    raise AssertionError(f"no {name} cookie set")


async def test_login_page_has_a_csrf_field_and_cookie(client: httpx.AsyncClient) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    assert 'name="workspace"' in r.text and 'type="password"' in r.text
    assert form_token(r.text)
    attrs = _cookie_attrs(r, "centralita_csrf")
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


async def test_login_sets_a_hardened_session_cookie_and_opens_the_app(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id, role="supervisor")
    r = await sign_in(client, kit.slug)
    assert r.status_code == 303 and r.headers["location"] == "/app"
    attrs = _cookie_attrs(r, "centralita_session")
    hours = container.settings.session_absolute_hours
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert f"max-age={hours * 3600}" in attrs
    assert "secure" not in attrs  # the tests run with cookie_secure=False

    home = await client.get("/app")
    assert home.status_code == 200
    assert "Ana García" in home.text and kit.slug in home.text
    assert "Supervisión" in home.text  # the tenant's locale is Spanish
    assert 'href="/simulator"' in home.text and 'href="/docs"' in home.text
    # The session also authenticates the API, scoped to the user's tenant.
    me = await client.get("/api/v1/users")
    assert me.status_code == 200 and me.json()["items"][0]["email"] == "ana@example.com"


async def test_session_cookie_is_secure_when_configured(database: Database, tmp_path: Path) -> None:
    settings = make_settings(database, tmp_path, cookie_secure=True)
    container = build_container(settings, run_workers=False)
    await container.start()
    try:
        kit = await make_tenant(container)
        await make_user(container, kit.tenant_id)
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            r = await sign_in(c, kit.slug)
        assert r.status_code == 303
        assert "secure" in _cookie_attrs(r, "centralita_session")
        assert "secure" in _cookie_attrs(r, "centralita_csrf")
    finally:
        await container.stop()


@pytest.mark.parametrize(
    ("workspace", "email", "password"),
    [
        ("RIGHT", "ana@example.com", "wrong password!"),
        ("RIGHT", "nobody@example.com", PASSWORD),
        ("no-such-workspace", "ana@example.com", PASSWORD),
        ("RIGHT", "not an email", PASSWORD),
        ("", "", ""),
    ],
)
async def test_failed_login_gives_one_generic_error(
    client: httpx.AsyncClient, container: Container, workspace: str, email: str, password: str
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    workspace = kit.slug if workspace == "RIGHT" else workspace
    r = await sign_in(client, workspace, email=email, password=password)
    assert r.status_code == 400
    assert "El espacio de trabajo, el correo o la contraseña no son correctos." in r.text or (
        "The workspace, email or password is not correct." in r.text
    )
    assert "centralita_session" not in r.headers.get("set-cookie", "")
    assert 'name="password"' in r.text and PASSWORD not in r.text
    assert (await client.get("/app")).status_code == 303


async def test_every_failure_shows_the_same_page(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    client.headers["accept-language"] = "en"
    wrong_password = await sign_in(client, kit.slug, password="wrong password!")
    unknown_user = await sign_in(client, kit.slug, email="ana2@example.com")
    assert wrong_password.text.replace("ana@example.com", "X") == unknown_user.text.replace(
        "ana2@example.com", "X"
    ).replace(form_token(unknown_user.text), form_token(wrong_password.text))


@pytest.mark.parametrize("token", [None, "", "garbage", "OTHER_BROWSER"])
async def test_login_post_without_a_valid_csrf_token_is_refused(
    client: httpx.AsyncClient, container: Container, token: str | None
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await client.get("/login")  # this browser now has its CSRF cookie
    if token == "OTHER_BROWSER":
        # A valid token, but minted for another browser's cookie value.
        other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
        async with other:
            token = form_token((await other.get("/login")).text)
    data = {"workspace": kit.slug, "email": "ana@example.com", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    r = await client.post("/login", data=data)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "caducado" in r.text or "expired" in r.text
    assert "centralita_session" not in r.headers.get("set-cookie", "")


async def test_csrf_cookie_is_required_with_the_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    token = form_token((await client.get("/login")).text)
    client.cookies.clear()
    data = {"csrf_token": token, "workspace": kit.slug, "email": "ana@example.com"}
    r = await client.post("/login", data={**data, "password": PASSWORD})
    assert r.status_code == 403


async def test_logout_revokes_the_session(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    assert (await sign_in(client, kit.slug)).status_code == 303
    token = client.cookies["centralita_session"]
    home = await client.get("/app")

    r = await client.post("/logout", data={"csrf_token": form_token(home.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "max-age=0" in _cookie_attrs(r, "centralita_session")
    assert (await client.get("/app")).headers["location"] == "/login"
    # Replaying the old cookie does not work either: the session is revoked server-side.
    client.cookies.set("centralita_session", token)
    assert (await client.get("/app")).status_code == 303
    assert (await client.get("/api/v1/users")).status_code == 401


async def test_logout_without_csrf_keeps_the_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    r = await client.post("/logout", data={})
    assert r.status_code == 403
    assert (await client.get("/app")).status_code == 200


async def test_app_needs_a_session(client: httpx.AsyncClient) -> None:
    r = await client.get("/app")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("centralita_session", "made-up")
    r = await client.get("/app")
    assert r.status_code == 303 and "max-age=0" in _cookie_attrs(r, "centralita_session")
    assert (await client.get("/")).headers["location"] == "/app"


async def test_login_page_sends_signed_in_users_home(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    r = await client.get("/login")
    assert r.status_code == 303 and r.headers["location"] == "/app"


async def _backdate(container: Container, **values: object) -> None:
    async with container.sessions() as session, session.begin():
        await session.execute(update(WebSession).values(**values))


async def test_idle_session_expires_over_http(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    idle = container.settings.session_idle_minutes
    await _backdate(container, last_seen_at=utcnow() - timedelta(minutes=idle - 1))
    assert (await client.get("/app")).status_code == 200  # still inside the idle window
    await _backdate(container, last_seen_at=utcnow() - timedelta(minutes=idle + 1))
    r = await client.get("/app")
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_absolute_expiry_over_http_even_when_active(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    await _backdate(container, expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert (await client.get("/app")).status_code == 303


async def test_session_expiry_rules_with_explicit_now(container: Container) -> None:
    kit = await make_tenant(container)
    user_id = await make_user(container, kit.tenant_id)
    idle = timedelta(minutes=30)
    absolute = timedelta(hours=12)
    t0 = utcnow().replace(microsecond=0)
    async with container.sessions() as session, session.begin():
        user = await access_service.get_user(session, tenant_id=kit.tenant_id, user_id=user_id)
        active = await access_service.start_session(session, user=user, absolute=absolute, now=t0)
        idler = await access_service.start_session(session, user=user, absolute=absolute, now=t0)

    async def resolve(token: str, at: timedelta) -> bool:
        async with container.sessions() as session, session.begin():
            found = await access_service.resolve_session(
                session, token=token, idle=idle, now=t0 + at
            )
            return found is not None

    # Idle: 29 minutes of silence is fine, 31 is not.
    assert await resolve(idler.token, timedelta(minutes=29))
    assert not await resolve(idler.token, timedelta(minutes=29 + 31))
    # Absolute: activity every 20 minutes keeps the session alive until 12 hours, no longer.
    at = timedelta()
    while at < absolute - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert await resolve(active.token, at), at
    assert not await resolve(active.token, absolute)
    assert not await resolve(active.token, absolute + timedelta(minutes=1))


async def test_disabled_users_session_stops_working(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    user_id = await make_user(container, kit.tenant_id)
    await sign_in(client, kit.slug)
    assert (await client.get("/app")).status_code == 200
    async with container.sessions() as session, session.begin():
        await access_service.update_user(
            session, tenant_id=kit.tenant_id, user_id=user_id, disabled=True
        )
    assert (await client.get("/app")).status_code == 303
    assert (await client.get("/api/v1/users")).status_code == 401
    async with container.sessions() as session:
        sessions = (await session.scalars(select(WebSession))).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)
    # And signing in again is refused with the generic error.
    assert (await sign_in(client, kit.slug)).status_code == 400


async def test_language_follows_the_toggle_then_the_browser(client: httpx.AsyncClient) -> None:
    r = await client.get("/login", headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in r.text and "Contraseña" in r.text
    r = await client.get("/login?lang=en")
    assert '<html lang="en">' in r.text and "Password" in r.text
    assert "centralita_lang=en" in r.headers["set-cookie"]
    r = await client.get("/login", headers={"accept-language": "es"})
    assert '<html lang="en">' in r.text  # the remembered toggle wins


async def test_without_a_secret_key_web_login_refuses_to_run(
    database: Database, tmp_path: Path
) -> None:
    settings = make_settings(database, tmp_path, secret_key="")
    container = build_container(settings, run_workers=False)
    await container.start()
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = await c.get("/login")
            post = await c.post("/login", data={"workspace": "x", "email": "y", "password": "z"})
            send = await c.post("/simulator/api/send", json={})
        assert page.status_code == 503 and "CENTRALITA_SECRET_KEY" in page.text
        assert "centralita_csrf" not in page.headers.get("set-cookie", "")
        assert post.status_code == 503
        assert send.status_code == 503 and "CENTRALITA_SECRET_KEY" in send.json()["detail"]
    finally:
        await container.stop()
