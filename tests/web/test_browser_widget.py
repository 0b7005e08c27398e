"""In headless Chromium: a business's page on another origin holds only the widget's script
tag. The visitor opens the chat, fills the pre-chat form, asks for an appointment and reads
the receptionist's answer; a reload keeps the visitor and shows the chat again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update

from centralita.bootstrap import build_container
from centralita.channels.models import ChannelAccount
from centralita.config import Settings
from tests.web.test_browser import LiveServer, _in_thread, _shot, start_live_server

pytestmark = pytest.mark.browser
FIRST = "Hola, quiero pedir cita"


@contextmanager
def _host_page(script: dict[str, str]) -> Iterator[str]:
    """A page of the business's own site, on its own origin: nothing but its text and the one
    script tag (``script["src"]``, set once the widget's id is known)."""

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            html = (
                '<!doctype html><html lang="es"><head><meta charset="utf-8">'
                "<title>Clínica Dental Sonrisa</title></head><body><h1>Clínica Dental Sonrisa"
                f'</h1><p>Bienvenido.</p><script src="{script["src"]}" async></script>'
                "</body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


async def _open_widget_to(origin: str, database_url: str) -> str:
    """Let the host page's origin open the clinic's widget, with a pre-chat form, at any hour."""
    container = build_container(
        Settings(database_url=database_url, environment="test"), run_workers=False,
        subscribe=False,
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        account_id = await session.scalar(
            select(ChannelAccount.id).where(ChannelAccount.provider == "webchat")
        )
        settings = {"allowed_origins": [origin], "prechat": ["name", "email"],
                    "prechat_required": ["email"], "offline_when_closed": False}  # fmt: skip
        await session.execute(
            update(ChannelAccount).where(ChannelAccount.id == account_id).values(settings=settings)
        )
    await container.engine.dispose()
    assert account_id is not None
    return str(account_id)


@pytest.fixture
def widget_server(tmp_path: Path) -> Iterator[LiveServer]:
    with start_live_server(tmp_path) as server:
        yield server


def test_a_visitor_chats_through_the_one_script_tag(
    widget_server: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    script: dict[str, str] = {}
    database = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    with _host_page(script) as host:
        account = _in_thread(_open_widget_to(host, database))
        script["src"] = f"{widget_server.url}/widget/{account}.js"
        _talk(widget_server, chromium, host, account)


def _talk(widget_server: LiveServer, chromium: Browser, host: str, account: str) -> None:
    context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="es-ES")
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    key = f"centralita.webchat.{account}"
    try:
        page.goto(host)
        launcher = page.get_by_role("button", name="Abrir el chat")
        expect(launcher).to_be_visible()
        launcher.click()
        expect(page.get_by_role("dialog", name="Clínica Dental Sonrisa")).to_be_visible()

        # the pre-chat form: the email is required
        page.get_by_role("button", name="Empezar").click()
        expect(page.get_by_role("alert")).to_contain_text("obligatorio")
        form = page.locator("form.prechat")
        form.get_by_label("Nombre").fill("Ana García")
        form.get_by_label("Correo electrónico *").fill("ana.garcia@example.com")
        page.get_by_role("button", name="Empezar").click()

        box = page.get_by_role("textbox", name="Escribe un mensaje…")
        expect(box).to_be_visible()
        box.fill(FIRST)
        box.press("Enter")
        log = page.get_by_role("log")
        expect(log.locator(".msg.contact", has_text=FIRST)).to_be_visible()
        bot = log.locator(".msg.bot").first
        expect(bot).to_be_visible(timeout=30_000)
        answer = bot.inner_text()
        _shot(page, "webchat-widget")
        visitor = page.evaluate(f"JSON.parse(localStorage.getItem({key!r})).token")

        # a reload keeps the visitor and shows the chat again
        page.reload()
        expect(page.get_by_role("log").locator(".msg.contact", has_text=FIRST)).to_be_visible()
        expect(page.get_by_role("log").locator(".msg.bot").first).to_have_text(answer)
        assert page.evaluate(f"JSON.parse(localStorage.getItem({key!r})).token") == visitor
        _shot(page, "webchat-widget-reloaded")

        # stored once, as a web chat message of the contact the form named
        with widget_server.api as api:
            found = api.get("/api/v1/contacts", params={"q": "ana.garcia@example.com"}).json()
            [contact] = found["items"]
            assert contact["name"] == "Ana García"
            convs = api.get("/api/v1/conversations", params={"contact_id": contact["id"]}).json()
            [conv] = convs["items"]
            msgs = api.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]
            inbound = [(m["body"], m["channel"]) for m in msgs if m["direction"] == "inbound"]
            assert inbound == [(FIRST, "webchat")]
        # nothing but the host page and our server: no CDN
        allowed = (host, widget_server.url, widget_server.url.replace("http", "ws"))
        assert [u for u in requests if not u.startswith(allowed)] == []
        assert errors == []
    finally:
        context.close()
