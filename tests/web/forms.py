"""Browser-like helpers for the web tests: read CSRF tokens from pages, sign in."""

from __future__ import annotations

import re

import httpx

from centralita.access import service as access_service
from centralita.bootstrap import Container

PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(html: str) -> str:
    found = _HIDDEN.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def meta_token(html: str) -> str:
    found = _META.search(html)
    assert found, "no csrf-token meta in the page"
    return found.group(1)


async def make_user(
    container: Container,
    tenant_id: str,
    *,
    email: str = "ana@example.com",
    name: str = "Ana García",
    role: str = "agent",
    password: str = PASSWORD,
) -> str:
    async with container.sessions() as session, session.begin():
        user = await access_service.create_user(
            session,
            tenant_id=tenant_id,
            email=email,
            name=name,
            role=role,
            password=password,
            cheap_hash=True,
        )
    return user.id


async def sign_in(
    client: httpx.AsyncClient,
    workspace: str,
    *,
    email: str = "ana@example.com",
    password: str = PASSWORD,
) -> httpx.Response:
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    return await client.post(
        "/login",
        data={
            "csrf_token": form_token(page.text),
            "workspace": workspace,
            "email": email,
            "password": password,
        },
    )
