"""The agent desktop and the wallboard in headless Chromium, against a real server.

The demo clinic, open around the clock for the test. Alberto (an agent) signs in, opens the
desktop and goes available. A customer writes on the simulated WhatsApp and asks for a
person; the receptionist hands off, the offer appears on the desktop with a countdown, and
Alberto takes it with the ``a`` key. He sees the whole conversation and what the
receptionist gathered, replies, and the customer's phone shows the reply. Carmen (a
supervisor) watches the wallboard: Alberto is busy. Then the desktop's socket drops while the
customer writes again, and the message still arrives once it reconnects, without a reload.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.access.models import User
from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.channels.models import ChannelAccount
from centralita.config import Settings
from centralita.db.registry import metadata
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import TenantDocument
from centralita.tenants.models import Tenant
from tests.simulator_client import simulator_request
from tests.support.thread_server import free_port, serve_in_thread
from tests.web.test_browser import _in_thread, _shot

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = {"desk-conversation": "desk.png", "wallboard": "wallboard.png"}
SLUG = "clinica-dental-sonrisa"
PASSWORD = "sonrisa-demo-2026"
AGENT = "alberto.moreno@clinicadentalsonrisa.example"  # the demo's agent (user_role: agent)
SUPERVISOR = "carmen.lopez@clinicadentalsonrisa.example"  # the demo's supervisor
CUSTOMER = "34600111222"
FIRST = "Hola, quería pedir cita para una limpieza"
PERSON = "Quiero hablar con una persona, por favor"
REPLY = "¡Hola Ana! Soy Alberto, de recepción. ¿Qué día le viene mejor para la limpieza?"
AGAIN = "El jueves por la tarde me vendría genial"
EMERGENCY = "Me duele muchísimo la muela y tengo la cara hinchada"
CLOCK = re.compile(r"^0:\d\d$")  # an offer's countdown
# The test's pages: every socket is remembered, and can be refused while __blockSockets is
# set (the desktop then keeps retrying, as it would on a dropped network).
SOCKET_HOOK = """
window.__sockets = [];
window.__blockSockets = false;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    const target = window.__blockSockets ? String(url).replace("/desk/ws", "/desk/refused") : url;
    super(target, protocols);
    window.__sockets.push(this);
  }
};
"""


@dataclass(frozen=True)
class DeskServer:
    url: str
    account_id: str
    account_secret: str
    api_key: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10
        )


def _always_open(data: dict[str, Any]) -> dict[str, Any]:
    """The clinic's document, open every hour of every day (the server's clock is real, and
    a hand-off needs the clinic open): public holidays near today open too."""
    every_day = [["00:00", "24:00"]]
    data["hours"] = {
        day: every_day
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    today = datetime.now(ZoneInfo(data["tenant"]["timezone"])).date()
    data["holidays"]["custom"] = []
    data["holidays"]["closures"] = []
    data["holidays"]["special"] = [
        {"date": (today + timedelta(days=offset)).isoformat(), "hours": every_day}
        for offset in range(-1, 3)
    ]
    return data


async def _seed(settings: Settings) -> tuple[str, str, str]:
    """Schema, the demo clinic (open 24/7), passwords for its agent and supervisor."""
    container = build_container(settings, run_workers=False, subscribe=False)
    async with container.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    text = files("centralita.demo").joinpath("tenants", f"{SLUG}.yaml").read_text("utf-8")
    doc = TenantDocument.model_validate(_always_open(yaml.safe_load(text)))
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        assert tenant is not None
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
            )
        )
        assert account is not None and account.secret
        account_id, account_secret = account.id, account.secret
        # Applying the file gave the staff with a user_role a login (without a password).
        for email in (AGENT, SUPERVISOR):
            user = await session.scalar(
                select(User).where(User.tenant_id == tenant.id, User.email == email)
            )
            assert user is not None, email
            await access_service.update_user(
                session, tenant_id=tenant.id, user_id=user.id, password=PASSWORD, cheap_hash=True
            )
        issued = await access_service.create_api_key(session, tenant_id=tenant.id, name="desk")
    await container.engine.dispose()
    return account_id, account_secret, issued.secret


@contextmanager
def desk_server(tmp_path: Path) -> Iterator[DeskServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}",
        data_dir=tmp_path / "data",
        environment="test",
        password_hash_cheap=True,
        secret_key=secrets.token_urlsafe(32),
        cookie_secure=False,
        simulator_enabled=True,
        public_base_url=url,
        relay_interval_seconds=0.2,
    )
    account_id, account_secret, api_key = _in_thread(_seed(settings))
    with serve_in_thread(create_app(settings=settings), port):
        yield DeskServer(url, account_id, account_secret, api_key)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DeskServer]:
    with desk_server(tmp_path) as found:
        yield found


def _visible_soon(locator: Any, seconds: float = 1.0) -> bool:
    try:
        locator.wait_for(state="visible", timeout=seconds * 1000)
    except PlaywrightTimeout:
        return False
    return True


def _watch(page: Page, errors: list[str]) -> None:
    """Script errors fail the test; the browser's log of 4xx answers we provoke does not."""
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{page.url}: {msg.text}")
            if msg.type == "error"
            and not msg.text.startswith("Failed to load resource")
            and "/desk/refused" not in msg.text
            else None
        ),
    )


def _context(chromium: Browser) -> BrowserContext:
    return chromium.new_context(
        viewport={"width": 1440, "height": 900}, locale="es-ES", timezone_id="Europe/Madrid"
    )


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=workspace]", SLUG)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/app")


def _customer_says(phone: Page, text: str) -> None:
    phone.fill("#sim-text", text)
    phone.click("#sim-send")
    expect(phone.locator(".bubble.mine .body", has_text=text)).to_be_visible()


def _publish(shot: Path, name: str) -> None:
    """The docs' pictures are committed: refresh them on request, not on every run."""
    target = ROOT / "docs" / "img" / name
    if not target.exists() or os.environ.get("CENTRALITA_UPDATE_README_IMAGES") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def test_an_agent_takes_a_handoff_and_a_supervisor_sees_it(
    server: DeskServer, chromium: Browser
) -> None:
    base = server.url
    errors: list[str] = []
    agent_context = _context(chromium)
    agent_context.add_init_script(SOCKET_HOOK)
    customer_context = _context(chromium)
    supervisor_context = _context(chromium)
    try:
        # Alberto opens his desktop and goes available (a click on the presence switcher).
        desk = agent_context.new_page()
        _watch(desk, errors)
        _sign_in(desk, base, AGENT)
        expect(desk.locator("a.tile[href='/desk']")).to_be_visible()
        expect(desk.locator("a.tile[href='/wallboard']")).to_have_count(0)
        desk.click("a.tile[href='/desk']")
        desk.wait_for_url(base + "/desk")
        expect(desk.locator("#me-name")).to_have_text("Alberto Moreno Vidal")
        expect(desk.locator("#conn")).to_have_attribute("data-state", "live")
        # A remembered sequence the server never reached (another database, say) is
        # dropped: the desktop starts over from the server's latest event and stays live.
        user = desk.locator("#desk").get_attribute("data-user")
        desk.evaluate(f"sessionStorage.setItem('centralita.desk.seq.{user}', '999999999')")
        desk.reload()
        expect(desk.locator("#conn")).to_have_attribute("data-state", "live")
        seq = desk.evaluate(f"sessionStorage.getItem('centralita.desk.seq.{user}')")
        assert int(seq) < 999999999
        expect(desk.locator("#offers-empty")).to_be_visible()
        desk.get_by_role("radio", name="Disponible").click()
        expect(desk.get_by_role("radio", name="Disponible")).to_have_attribute(
            "aria-checked", "true"
        )
        expect(desk.locator("#capacity [data-channel='whatsapp']")).to_contain_text("0/4")

        # A customer writes on WhatsApp and asks for a person.
        phone = customer_context.new_page()
        _watch(phone, errors)
        phone.goto(f"{base}/simulator?account={server.account_id}")
        phone.click("label.channel-whatsapp")
        phone.fill("#sim-address", CUSTOMER)
        phone.fill("#sim-name", "Ana García")
        _customer_says(phone, FIRST)
        expect(phone.locator(".bubble.theirs")).to_have_count(1, timeout=30_000)
        _customer_says(phone, PERSON)
        expect(phone.locator(".bubble.theirs", has_text="Le paso con")).to_be_visible(
            timeout=30_000
        )

        # The offer appears by itself, with a countdown.
        offer = desk.locator(".offer").first
        expect(offer).to_be_visible(timeout=15_000)
        expect(offer).to_contain_text("WhatsApp")
        expect(offer).to_contain_text("Recepción")
        expect(offer.locator(".offer-who")).to_have_text("Ana García")
        countdown = offer.locator(".countdown")
        expect(countdown).to_have_text(CLOCK)
        first_reading = countdown.inner_text()
        expect(countdown).not_to_have_text(first_reading, timeout=3_000)  # it ticks
        expect(desk.locator("#offers-count")).to_have_text("1")
        _shot(desk, "desk-offer")

        # Alberto takes it with the keyboard: "a" accepts the first offer.
        desk.locator("body").press("a")
        expect(desk.locator(".offer")).to_have_count(0, timeout=10_000)
        expect(desk.locator("#convs .conv-item")).to_have_count(1)
        expect(desk.locator("#conv-open")).to_be_visible()
        expect(desk.locator("#conv-title")).to_contain_text("Ana García")
        timeline = desk.locator("#timeline")
        expect(timeline.locator(".msg-in", has_text=FIRST)).to_be_visible()
        expect(timeline.locator(".msg-in", has_text=PERSON)).to_be_visible()
        expect(timeline.locator(".msg-out.author-bot").first).to_be_visible()
        expect(timeline.locator(".msg-out.author-bot").first).to_contain_text(
            "Recepcionista virtual"
        )
        # what the receptionist gathered: the service asked for, the reason to hand off
        panel = desk.locator("#c360")
        expect(panel).to_contain_text("Ana García")
        expect(panel).to_contain_text("Lo que contó a la recepcionista")
        expect(panel).to_contain_text("Limpieza dental")
        expect(panel.locator(".addresses")).to_contain_text(CUSTOMER)
        expect(desk.locator("#capacity [data-channel='whatsapp']")).to_contain_text("1/4")

        # An internal note (the "n" key), then the reply (the "r" key and Ctrl+Enter).
        desk.locator("body").press("n")
        expect(desk.locator("#composer")).to_have_attribute("data-mode", "note")
        desk.locator("#composer-text").fill("Paciente de limpieza; prefiere tardes.")
        desk.locator("#composer-text").press("Control+Enter")
        expect(timeline.locator(".msg-note", has_text="prefiere tardes")).to_be_visible()
        desk.locator("#composer-text").press("Escape")
        desk.locator("body").press("r")
        expect(desk.locator("#composer")).to_have_attribute("data-mode", "text")
        expect(desk.locator("#composer-text")).to_be_focused()
        expect(desk.locator("#send-channel")).to_have_value("whatsapp")
        desk.locator("#composer-text").fill(REPLY)
        desk.locator("#composer-text").press("Control+Enter")
        mine = timeline.locator(".msg-out.author-agent", has_text=REPLY)
        expect(mine).to_be_visible()
        expect(mine.locator(".msg-status")).to_have_text("entregado", timeout=15_000)

        # The customer's phone shows the reply, delivered; the note never leaves the clinic.
        delivered = phone.locator(".bubble.theirs[data-status='delivered']", has_text=REPLY)
        expect(delivered).to_be_visible(timeout=15_000)
        expect(phone.locator(".bubble", has_text="prefiere tardes")).to_have_count(0)
        with server.api() as api:
            conversation_id = desk.locator("#desk").get_attribute("data-open")
            assert conversation_id
            items = api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
            [stored] = [m for m in items if m["body"] == REPLY]
            assert stored["channel"] == "whatsapp" and stored["direction"] == "outbound"
            assert stored["delivery_status"] == "delivered"
        _publish(_shot(desk, "desk-conversation"), DOCS_IMAGES["desk-conversation"])

        # Escape leaves the reply box; "?" shows the shortcuts; Escape closes the dialog.
        desk.locator("#composer-text").press("Escape")
        expect(desk.locator("#composer-text")).not_to_be_focused()
        desk.locator("body").press("?")
        help_dialog = desk.get_by_role("dialog", name="Atajos de teclado")
        expect(help_dialog).to_be_visible()
        expect(help_dialog).to_contain_text("Aceptar la primera oferta")
        desk.keyboard.press("Escape")
        expect(help_dialog).to_be_hidden()

        # Alberto takes no new work for now ("2": busy) while he helps Ana.
        desk.locator("body").press("2")
        expect(desk.get_by_role("radio", name="Ocupado")).to_have_attribute("aria-checked", "true")

        # Meanwhile another patient has an emergency: it waits for a dentist, and none is
        # available (this one arrives through the simulator's signed webhook).
        body, headers = simulator_request(
            server.account_secret, text=EMERGENCY, value="34611222333", name="Jorge Sanz"
        )
        with httpx.Client(base_url=base, timeout=10) as hooks:
            r = hooks.post(f"/hooks/{server.account_id}", content=body, headers=headers)
            assert r.status_code == 200, r.text

        # Carmen, on the wallboard, sees Alberto busy with one conversation.
        board = supervisor_context.new_page()
        _watch(board, errors)
        _sign_in(board, base, SUPERVISOR)
        board.click("a.tile[href='/wallboard']")
        board.wait_for_url(base + "/wallboard")
        expect(board.locator("#conn")).to_have_attribute("data-state", "live")
        row = board.locator("#agents tr", has_text="Alberto Moreno Vidal")
        expect(row).to_have_attribute("data-activity", "busy")
        expect(row.locator(".activity")).to_have_text("Atendiendo (1)")
        expect(row.locator("select")).to_have_value("busy")
        expect(row).to_contain_text("Ana García")
        queue = board.locator("#queues tr[data-queue-key='recepcion']")
        expect(queue).to_contain_text("Recepción")
        expect(queue.locator(".waiting")).to_have_text("0")
        # ... and the emergency waiting, the wait ticking, and an alert: nobody to take it.
        urgent = board.locator("#queues tr[data-queue-key='urgencias']")
        expect(urgent.locator(".waiting")).to_have_text("1", timeout=15_000)
        expect(urgent).to_have_class("has-alert")
        alert = board.locator("#alerts [data-alert='no_agents']")
        expect(alert).to_contain_text("Urgencias dentales")
        wait = urgent.locator(".wait")
        expect(wait).to_have_text(CLOCK)
        first_wait = wait.inner_text()
        expect(wait).not_to_have_text(first_wait, timeout=3_000)
        _publish(_shot(board, "wallboard"), DOCS_IMAGES["wallboard"])

        # The desktop's socket drops; the customer writes meanwhile; the message arrives once
        # the desktop reconnects (from the sequence it had), without reloading the page.
        desk.evaluate("window.__notReloaded = true")
        desk.evaluate(
            "window.__blockSockets = true; window.__sockets.forEach((socket) => socket.close())"
        )
        expect(desk.locator("#conn")).to_have_attribute("data-state", "reconnecting")
        _customer_says(phone, AGAIN)
        desk.wait_for_timeout(1500)
        expect(timeline.locator(".msg-in", has_text=AGAIN)).to_have_count(0)
        desk.evaluate("window.__blockSockets = false")
        expect(desk.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        expect(timeline.locator(".msg-in", has_text=AGAIN)).to_be_visible(timeout=10_000)
        assert desk.evaluate("window.__notReloaded") is True
        sockets = desk.evaluate("window.__sockets.map((s) => s.url)")
        assert any("after=" in url and not url.endswith("after=0") for url in sockets[1:])

        # "t" opens the transfer dialog: colleagues who are offline cannot be chosen.
        desk.locator("body").press("t")
        transfer = desk.get_by_role("dialog", name="Transferir la conversación")
        expect(transfer).to_be_visible()
        doctor = transfer.locator("#transfer-agent option", has_text="Lucía García")
        expect(doctor).to_be_disabled()
        expect(
            transfer.locator("#transfer-queue option", has_text="Urgencias dentales")
        ).to_be_attached()
        desk.keyboard.press("Escape")
        expect(transfer).to_be_hidden()

        # "e" resolves it with a wrap-up code and a note; the conversation leaves the inbox.
        resolve = desk.get_by_role("dialog", name="Resolver la conversación")
        # The desktop may still be reloading its state after the reconnect (the shortcut waits
        # for the open conversation to be known as the agent's): press again until it opens.
        for _ in range(10):
            desk.locator("body").press("e")
            if resolve.is_visible() or _visible_soon(resolve):
                break
        expect(resolve).to_be_visible()
        resolve.get_by_label("Resultado").select_option("appointment_booked")
        resolve.get_by_label("Nota (opcional)").fill("Cita para la limpieza el jueves por la tarde")
        resolve.get_by_role("button", name="Resolver").click()
        expect(resolve).to_be_hidden()
        expect(desk.locator("#convs .conv-item")).to_have_count(0)
        expect(desk.locator("#conv-empty")).to_be_visible()
        with server.api() as api:
            closed = api.get(f"/api/v1/conversations/{conversation_id}").json()
            assert closed["status"] == "closed"

        # Carmen changes Alberto's state from the wallboard; his desktop follows.
        row.locator("select").select_option("away")
        expect(row).to_have_attribute("data-presence", "away", timeout=10_000)
        expect(desk.get_by_role("radio", name="Ausente")).to_have_attribute(
            "aria-checked", "true", timeout=10_000
        )
        assert errors == []
    finally:
        for context in (agent_context, customer_context, supervisor_context):
            context.close()
