"""Security headers on every kind of response: pages, API JSON, errors, static files, the API
docs, the widget script; HSTS only when cookies are secure."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.channels.models import ChannelAccount
from centralita.core.ids import new_id
from centralita.web.headers import frame_ancestors, script_hashes, security_headers
from tests.conftest import Database, make_settings
from tests.factories import make_tenant

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _csp(r: httpx.Response) -> dict[str, str]:
    policy = r.headers["content-security-policy"]
    return {
        p.split(" ", 1)[0]: p.split(" ", 1)[1] if " " in p else ""
        for p in (d.strip() for d in policy.split(";"))
        if p
    }


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/api/v1/users",
        "/api/v1/nope",
        "/static/app.css",
        "/static/desk.js",
        "/healthz",
        "/openapi.json",
        "/no-such-page",
    ],
)
async def test_every_response_carries_the_headers(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (path, name, r.status_code)
    assert "camera=()" in r.headers["permissions-policy"]
    csp = _csp(r)
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp.get("script-src", "")
    assert "strict-transport-security" not in r.headers  # cookie_secure is off in tests
    if r.headers.get("content-type", "").startswith("text/html"):
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    else:
        assert csp["default-src"] == "'none'"


async def test_a_body_refused_for_its_size_carries_them_too(client: httpx.AsyncClient) -> None:
    # the limits answer before any route (api/limits.py); the headers still go on
    r = await client.post(
        "/api/v1/contacts",
        content=b"{" + b" " * (3 << 20) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert _csp(r)["frame-ancestors"] == "'none'"


async def test_the_api_docs_allow_their_one_inline_script_by_hash(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    script = _csp(r)["script-src"]
    assert "'unsafe-inline'" not in script
    hashes = script_hashes(r.text)
    assert hashes and all(h in script for h in hashes)


async def test_hsts_when_cookies_are_secure(database: Database, tmp_path: Path) -> None:
    container = build_container(
        make_settings(database, tmp_path, cookie_secure=True), run_workers=False
    )
    await container.start()
    try:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            for path in ("/login", "/api/v1/users", "/static/app.css"):
                r = await c.get(path)
                assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    finally:
        await container.stop()


async def test_the_widget_may_be_framed_only_by_its_sites(
    client: httpx.AsyncClient, container
) -> None:  # type: ignore[no-untyped-def]
    kit = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        account = ChannelAccount(
            id=new_id("chn"),
            tenant_id=kit.tenant_id,
            name="web",
            kind="webchat",
            provider="webchat",
            address="web",
            secret="s" * 32,
            settings={"allowed_origins": ["https://www.example.com", "https://shop.example.com"]},
        )
        session.add(account)
    r = await client.get(f"/widget/{account.id}.js")
    assert r.status_code == 200, r.text
    assert _csp(r)["frame-ancestors"] == "https://shop.example.com https://www.example.com"
    assert "x-frame-options" not in r.headers
    # Every other response stays unframeable.
    assert (await client.get("/login")).headers["x-frame-options"] == "DENY"


def test_the_pure_policy() -> None:
    assert frame_ancestors([]) == "'none'"
    assert frame_ancestors(["https://a.example", "javascript:x", "https://a.example"]) == (
        "https://a.example"
    )
    html = security_headers(content_type="text/html; charset=utf-8", secure=True)
    assert "frame-ancestors 'none'" in html["Content-Security-Policy"]
    assert html["X-Frame-Options"] == "DENY" and "Strict-Transport-Security" in html
    api = security_headers(content_type="application/json", secure=False)
    assert api["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Strict-Transport-Security" not in api
