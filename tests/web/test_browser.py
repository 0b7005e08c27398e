"""End to end in headless Chromium against a real uvicorn server with workers on.

Sign in, open the simulator, write as a WhatsApp customer, check the API stored it, reply as
an agent through the API, and watch the delivered reply appear in the simulated phone.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.channels.models import ChannelAccount
from centralita.config import Settings
from centralita.core.ids import new_id
from centralita.db.registry import metadata
from centralita.tenants import service as tenants_service
from centralita.tenants.config.apply import apply_document
from centralita.tenants.models import Tenant
from tests.receptionist.harness import demo_document
from tests.support.thread_server import free_port, serve_in_thread

pytestmark = pytest.mark.browser
T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
README_IMAGE = ROOT / "docs" / "img" / "simulator.png"
PASSWORD = "sonrisa-demo-2026"
SLUG = "clinica-dental-sonrisa"
FIRST = "Hola, quería pedir cita para una limpieza"
REPLY = "¡Hola Ana! Tenemos hueco el martes a las 10:00. ¿Te va bien?"
SECOND = "Perfecto, el martes a las 10 me va bien. ¡Gracias!"


@dataclass(frozen=True)
class LiveServer:
    url: str
    slug: str
    api_key: str
    account_id: str

    @property
    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10
        )


async def _seed(settings: Settings) -> tuple[str, str]:
    """Schema, two demo tenants with simulator accounts, and one agent with a password."""
    container = build_container(settings, run_workers=False, subscribe=False)
    async with container.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with container.sessions() as session, session.begin():
        # The demo clinic, as its YAML file describes it (hours, staff, services, FAQ)
        clinic = await apply_document(
            session, demo_document("clinica-dental-sonrisa", slug=SLUG), actor="tests", environ={}
        )
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        assert tenant is not None, clinic
        account_id = str(
            await session.scalar(
                select(ChannelAccount.id).where(
                    ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
                )
            )
        )
        issued = await access_service.create_api_key(
            session, tenant_id=tenant.id, name="browser test"
        )
        await access_service.create_user(
            session,
            tenant_id=tenant.id,
            email="ana.recepcion@example.com",
            name="Ana Recepción",
            role="agent",
            password=PASSWORD,
            cheap_hash=True,
        )
        # a second business, so that the simulator's picker has a choice
        other = await tenants_service.create_tenant(
            session,
            slug="fontaneria-rapida",
            name="Fontanería Rápida",
            timezone="Europe/Madrid",
            locale="es",
            country="ES",
        )
        session.add(
            ChannelAccount(
                id=new_id("chn"),
                tenant_id=other.id,
                name="simulator",
                kind="multi",
                provider="simulator",
                address="simulator",
                secret=secrets.token_hex(16),
                settings={},
            )
        )
    await container.engine.dispose()
    return issued.secret, account_id


def _in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on its own loop: Playwright's sync API owns this thread's."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    thread.start()
    thread.join()
    if not result:
        pytest.fail("seeding the browser test database failed (see the thread's traceback)")
    return result[0]


@contextmanager
def start_live_server(tmp_path: Path, **overrides: Any) -> Iterator[LiveServer]:
    """The normal app on a free port, workers on (the outbox relay delivers replies as in
    production), on a fresh SQLite database seeded by ``_seed``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}",
        data_dir=tmp_path / "data",
        environment="test",
        password_hash_cheap=True,
        secret_key=secrets.token_urlsafe(32),
        cookie_secure=False,
        simulator_enabled=True,
        public_base_url=url,
        relay_interval_seconds=0.2,
        **overrides,
    )
    api_key, account_id = _in_thread(_seed(settings))
    with serve_in_thread(create_app(settings=settings), port):
        yield LiveServer(url, SLUG, api_key, account_id)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with start_live_server(tmp_path) as server:
        yield server


def sign_in_and_open_simulator(page: Page, live_server: LiveServer) -> None:
    base = live_server.url
    page.goto(base + "/login")
    page.fill("input[name=workspace]", live_server.slug)
    page.fill("input[name=email]", "ana.recepcion@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/app")
    page.goto(f"{base}/simulator?account={live_server.account_id}")
    expect(page.locator(".phone-head strong")).to_have_text("Clínica Dental Sonrisa")


def _shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_customer_and_agent_talk_through_the_simulator(
    live_server: LiveServer, chromium: Browser
) -> None:
    context = chromium.new_context(
        viewport={"width": 1360, "height": 900}, locale="es-ES", timezone_id="Europe/Madrid"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Script errors fail the test; the browser's own log of 4xx answers we provoke does not.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    base = live_server.url
    try:
        # Sign in.
        page.goto(base + "/login")
        expect(page.locator("h1")).to_have_text("Entrar en Centralita")
        page.fill("input[name=workspace]", live_server.slug)
        page.fill("input[name=email]", "ana.recepcion@example.com")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_be_visible()
        _shot(page, "login-error")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/app")
        expect(page.locator("h1")).to_contain_text("Ana Recepción")
        _shot(page, "app-home")

        # Open the simulator, pick the tenant and WhatsApp, and write as the customer.
        page.click("a[href='/simulator']")
        page.wait_for_url(base + "/simulator")
        page.select_option("#sim-account", label="Fontanería Rápida")
        page.wait_for_url("**/simulator?account=*")
        page.select_option("#sim-account", value=live_server.account_id)
        page.wait_for_url(f"**/simulator?account={live_server.account_id}")
        expect(page.locator(".phone-head strong")).to_have_text("Clínica Dental Sonrisa")
        page.click("label.channel-whatsapp")
        expect(page.locator("#sim-channel-label")).to_have_text("WhatsApp")
        page.fill("#sim-address", "34600111222")
        page.fill("#sim-name", "Ana García")
        page.fill("#sim-text", FIRST)
        page.click("#sim-send")

        mine = page.locator(".bubble.mine .body", has_text=FIRST)
        expect(mine).to_be_visible()
        # the virtual receptionist answers first, offering free slots for a cleaning
        bot = page.locator(".bubble.theirs", has_text="¿Cuál le viene mejor?")
        expect(bot).to_be_visible(timeout=30_000)
        expect(page.locator("#conv-id")).not_to_be_empty()
        conversation_id = page.locator("#conv-id").inner_text()

        # The API has it stored, as a WhatsApp message from Ana.
        with live_server.api as api:
            convs = api.get("/api/v1/conversations").json()["items"]
            assert [c["id"] for c in convs] == [conversation_id]
            msgs = api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
            assert [(m["body"], m["channel"]) for m in msgs if m["direction"] == "inbound"] == [
                (FIRST, "whatsapp")
            ]

            # An agent takes over through the API; the delivery worker sends it to the "phone",
            # and the receptionist steps back.
            r = api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": REPLY})
            assert r.status_code == 201, r.text

        reply = page.locator(".bubble.theirs[data-status='delivered']", has_text=REPLY)
        expect(reply).to_be_visible(timeout=15_000)
        expect(reply.locator(".status")).to_have_text("entregado")

        page.fill("#sim-text", SECOND)
        page.keyboard.press("Enter")
        expect(page.locator(".bubble.mine .body", has_text=SECOND)).to_be_visible()
        expect(page.locator("#conv-count")).to_have_text("4")  # no bot reply after the agent
        expect(page.locator("#conv-api")).to_have_attribute(
            "href", f"/api/v1/conversations/{conversation_id}"
        )
        shot = _shot(page, "simulator")
        # The README's picture is committed: refresh it on request, not on every run.
        if not README_IMAGE.exists() or os.environ.get("CENTRALITA_UPDATE_README_IMAGES") == "1":
            README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, README_IMAGE)

        # A bad phone number is named next to the field, and nothing is sent.
        page.click("label.channel-sms")
        page.fill("#sim-address", "12")
        page.fill("#sim-text", "¿Hola?")
        page.click("#sim-send")
        expect(page.locator("#sim-address-error")).to_contain_text("12")
        _shot(page, "simulator-bad-phone")
        assert errors == []
    finally:
        context.close()
