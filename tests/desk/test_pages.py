"""The desktop and wallboard pages over HTTP: who may open them, languages, no inline code."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape
from importlib.resources import files

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.core.ids import new_id
from centralita.desk.pages import script_strings
from centralita.tenants.models import StaffMember
from centralita.web.i18n import STRINGS
from tests.factories import TenantKit, make_tenant
from tests.web.forms import make_user, sign_in

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def assert_no_inline_code(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), "a <script> without src"
    assert " style=" not in html and "<style" not in html
    assert not HANDLER.search(html), "an on*= event handler attribute"


async def _browser(container: Container, kit: TenantKit, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    )
    assert (await sign_in(client, kit.slug, email=email)).status_code == 303
    return client


async def _person(
    container: Container, kit: TenantKit, name: str, role: str, *, staff: bool = True
) -> str:
    email = f"{name}@example.com"
    user_id = await make_user(container, kit.tenant_id, email=email, name=name.title(), role=role)
    if staff:
        async with container.sessions() as session, session.begin():
            session.add(
                StaffMember(
                    id=new_id("stf"), tenant_id=kit.tenant_id, key=name, name=name.title(),
                    user_id=user_id, user_role=role,
                )
            )  # fmt: skip
    return email


@pytest.fixture
async def people(container: Container) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    kit = await make_tenant(container)  # the tenant's locale is Spanish
    browsers = {
        "agent": await _browser(container, kit, await _person(container, kit, "ana", "agent")),
        "supervisor": await _browser(
            container, kit, await _person(container, kit, "sam", "supervisor")
        ),
        "admin": await _browser(
            container, kit, await _person(container, kit, "ada", "admin", staff=False)
        ),
    }
    try:
        yield browsers
    finally:
        for browser in browsers.values():
            await browser.aclose()


async def test_signed_out_browsers_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/desk", "/wallboard"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("centralita_session", "forged")
    r = await client.get("/desk")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "centralita_session=" in r.headers.get("set-cookie", "")  # the bad cookie is cleared


async def test_an_agent_gets_the_desktop_in_the_business_language(
    people: dict[str, httpx.AsyncClient],
) -> None:
    r = await people["agent"].get("/desk")
    assert r.status_code == 200, r.text
    html = r.text
    assert '<html lang="es">' in html
    assert "Ofertas" in html and "Mis conversaciones" in html and "Disponible" in html
    assert "Ficha del cliente" in html and "Atajos de teclado" in html
    assert '<script type="module" src="/static/desk.js' in html
    assert 'href="/static/desk.css' in html
    assert 'href="/wallboard"' not in html  # agents have no wallboard
    assert "script-src 'self'" in r.headers["content-security-policy"]
    found = re.search(r"data-i18n='([^']+)'", html)
    assert found
    labels = json.loads(unescape(found.group(1)))
    assert labels == script_strings("es") and labels["desk_accept"] == "Aceptar"
    assert_no_inline_code(html)

    english = await people["agent"].get("/desk?lang=en")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "Offers" in english.text and "My conversations" in english.text
    assert "Customer 360°" in english.text and "Keyboard shortcuts" in english.text
    assert_no_inline_code(english.text)


async def test_the_browser_language_is_used_when_nothing_else_says(
    container: Container,
) -> None:
    async with container.sessions() as session, session.begin():
        from centralita.tenants.models import Tenant

        tenant = Tenant(id=new_id("tn"), slug="english-firm", name="English Firm", locale="en")
        session.add(tenant)
    kit = TenantKit(tenant.id, tenant.slug, "", "", "")
    browser = await _browser(container, kit, await _person(container, kit, "tom", "agent"))
    try:
        r = await browser.get("/desk")
        assert "Offers" in r.text
        # an explicit choice wins over the business's locale, and is remembered
        r = await browser.get("/desk?lang=es")
        assert "Ofertas" in r.text
        assert "Ofertas" in (await browser.get("/desk")).text
    finally:
        await browser.aclose()


async def test_a_login_without_a_staff_member_is_told_why(
    people: dict[str, httpx.AsyncClient],
) -> None:
    r = await people["admin"].get("/desk?lang=en")
    assert r.status_code == 200
    assert "Your login is not an agent" in r.text
    assert "/static/desk.js" not in r.text
    assert 'href="/wallboard"' in r.text  # an admin can still open the wallboard
    assert_no_inline_code(r.text)


async def test_the_wallboard_is_for_supervisors_and_admins(
    people: dict[str, httpx.AsyncClient],
) -> None:
    r = await people["agent"].get("/wallboard")
    assert r.status_code == 403
    assert "Solo para supervisión" in r.text and 'href="/desk"' in r.text
    assert "/static/wallboard.js" not in r.text

    r = await people["supervisor"].get("/wallboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert "Panel de supervisión" in html and "Colas" in html and "Alertas" in html
    assert "Nivel de servicio hoy" in html and "Mover una conversación" in html
    assert '<script type="module" src="/static/wallboard.js' in html
    assert_no_inline_code(html)

    r = await people["admin"].get("/wallboard?lang=en")
    assert r.status_code == 200
    assert "Wallboard" in r.text and "Service level today" in r.text and "Agents" in r.text
    assert_no_inline_code(r.text)


async def test_the_home_page_links_the_desktop_and_for_supervisors_the_wallboard(
    people: dict[str, httpx.AsyncClient],
) -> None:
    agent = (await people["agent"].get("/app")).text
    assert 'href="/desk"' in agent and 'href="/wallboard"' not in agent
    supervisor = (await people["supervisor"].get("/app")).text
    assert 'href="/desk"' in supervisor and 'href="/wallboard"' in supervisor


async def test_the_scripts_and_styles_are_served(client: httpx.AsyncClient) -> None:
    for path, kind in (
        ("/static/desk.js", "javascript"),
        ("/static/wallboard.js", "javascript"),
        ("/static/live.js", "javascript"),
        ("/static/desk.css", "text/css"),
    ):
        r = await client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path


def test_every_script_label_exists_in_both_languages() -> None:
    assert set(script_strings("es")) == set(script_strings("en"))
    assert set(STRINGS["es"]) == set(STRINGS["en"])
    for name in ("desk.js", "wallboard.js"):
        source = files("centralita.web").joinpath("static", name).read_text("utf-8")
        used = set(re.findall(r'\bt\("([a-z_]+)"[,)]', source))
        assert len(used) >= 10
        missing = used - set(script_strings("en"))
        assert not missing, f"{name} uses labels the page does not give it: {missing}"
