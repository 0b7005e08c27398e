"""The supervisor's KPI and staffing pages in headless Chromium, against a real server.

Sam (a supervisor) opens today's KPIs: contacts per queue as bars. He clicks the Ventas bar and
the drill-down lists exactly Ventas's conversations, each a link into the desktop. Then he
asks the staffing calculator about 100 calls per half hour at 180 s: 14 agents.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from centralita.access import service as access_service
from centralita.app import create_app
from centralita.bootstrap import build_container
from centralita.config import Settings
from centralita.core.clock import utcnow
from centralita.core.ids import new_id
from centralita.db.registry import metadata
from centralita.tenants import service as tenants_service
from centralita.tenants.models import StaffMember
from tests.staffing.history import add_agent, add_contact, add_queue
from tests.support.thread_server import free_port, serve_in_thread
from tests.web.test_browser import _in_thread, _shot

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SLUG = "clinica-kpis"
EMAIL = "sam@clinica.example"
PASSWORD = "kpis-demo-2026"
MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class Seeded:
    url: str
    day: str  # the local day the seeded contacts arrived
    sales: str
    in_sales: frozenset[str]  # their conversations


async def _seed(settings: Settings) -> tuple[str, str, frozenset[str]]:
    container = build_container(settings, run_workers=False, subscribe=False)
    async with container.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    now = utcnow()
    async with container.sessions() as session, session.begin():
        tenant = await tenants_service.create_tenant(
            session, slug=SLUG, name="Clínica Sonrisa", timezone="Europe/Madrid", locale="es",
            country="ES",
        )  # fmt: skip
        sam = await access_service.create_user(
            session, tenant_id=tenant.id, email=EMAIL, name="Sam Ruiz", role="supervisor",
            password=PASSWORD, cheap_hash=True,
        )  # fmt: skip
        session.add(StaffMember(id=new_id("stf"), tenant_id=tenant.id, key="sam", name="Sam Ruiz",
                                user_id=sam.id, user_role="supervisor"))  # fmt: skip
        tid = tenant.id
        sales = await add_queue(session, tid, "ventas", "Ventas")
        support = await add_queue(session, tid, "soporte", "Soporte")
        lola = await add_agent(session, tid, "lola", "Lola Pérez")
        juan = await add_agent(session, tid, "juan", "Juan Gil")
        at = now - timedelta(minutes=20)
        in_sales = [
            await add_contact(session, tid, at, queue_id=sales, agent_id=lola, csat=5, wait=8,
                              intent="book_appointment", name="Ana García"),
            await add_contact(session, tid, at + timedelta(minutes=2), queue_id=sales,
                              wait=95, abandoned=True, name="Luis Martín"),
            await add_contact(session, tid, at + timedelta(minutes=4), queue_id=sales,
                              agent_id=juan, channel="voice", wait=35, csat=3),
        ]  # fmt: skip
        for minutes, channel in ((1, "sms"), (6, "webchat")):
            await add_contact(session, tid, at + timedelta(minutes=minutes), queue_id=support,
                              agent_id=lola, channel=channel, wait=12, csat=4)  # fmt: skip
        await add_contact(session, tid, at + timedelta(minutes=3), bot_only=True, intent="info")
        # four weeks of history, for the staffing forecast: mornings, busier on Mondays
        today = now.astimezone(MADRID).date()
        for back in range(1, 29):
            day = today - timedelta(days=back)
            if day.weekday() >= 5:
                continue
            for hour in range(9, 14):
                for i in range(2 + (hour + day.weekday()) % 3 + (3 if day.weekday() == 0 else 0)):
                    moment = datetime(day.year, day.month, day.day, hour, 7 * i % 60,
                                      tzinfo=MADRID)  # fmt: skip
                    await add_contact(session, tid, moment, queue_id=sales, agent_id=lola,
                                      wait=6, talk=150)  # fmt: skip
    await container.engine.dispose()
    day = at.astimezone(MADRID).date().isoformat()
    return day, sales, frozenset(c.conversation_id for c in in_sales)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'kpis.db'}",
        data_dir=tmp_path / "data",
        environment="test",
        password_hash_cheap=True,
        secret_key=secrets.token_urlsafe(32),
        cookie_secure=False,
        public_base_url=url,
    )
    day, sales, in_sales = _in_thread(_seed(settings))
    with serve_in_thread(create_app(settings=settings), port):
        yield Seeded(url, day, sales, in_sales)


def _publish(shot: Path, name: str) -> None:
    """The docs' pictures are committed: refresh them on request, not on every run."""
    target = ROOT / "docs" / "img" / name
    if not target.exists() or os.environ.get("CENTRALITA_UPDATE_README_IMAGES") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def _watch(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None,
    )


def test_a_supervisor_drills_into_a_bar_and_sizes_the_team(
    seeded: Seeded, chromium: Browser
) -> None:
    base = seeded.url
    context = chromium.new_context(
        viewport={"width": 1440, "height": 900}, locale="es-ES", timezone_id="Europe/Madrid"
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        _watch(page, errors)
        page.goto(base + "/login")
        page.fill("input[name=workspace]", SLUG)
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/app")
        page.click("a.tile[href='/supervisor/kpis']")
        page.wait_for_url(base + "/supervisor/kpis")
        expect(page.get_by_role("heading", name="Indicadores (KPI)")).to_be_visible()
        # the seeded day (today, unless the test runs right after midnight)
        page.goto(f"{base}/supervisor/kpis?start={seeded.day}&end={seeded.day}&group_by=queue")
        expect(page.locator("#headline [data-kpi='contacts'] .kp-value")).to_have_text("6")
        expect(page.locator("#headline [data-kpi='handled'] .kp-value")).to_have_text("4")
        expect(page.locator("#kpi-table tbody tr")).to_have_count(3)  # Ventas, Soporte, none
        expect(page.locator("#chart-sl .chart-target")).to_be_attached()
        _publish(_shot(page, "kpis"), "kpis.png")

        # A click on the Ventas bar opens the interactions behind it.
        bar = page.locator(f"#chart-contacts a[href$='queue={seeded.sales}'] rect")
        expect(bar).to_be_visible()
        bar.click()
        page.wait_for_url(f"{base}/supervisor/kpis/drill?**")
        expect(page.get_by_role("heading", name="Interacciones")).to_be_visible()
        rows = page.locator("#drill-table tbody tr")
        expect(rows).to_have_count(3)
        shown = {rows.nth(i).get_attribute("data-conversation-id") for i in range(3)}
        assert shown == set(seeded.in_sales)
        expect(page.locator("#drill-table")).to_contain_text("Abandonada")
        expect(page.locator("#drill-table")).to_contain_text("CSAT 5")
        expect(page.locator(".kp-filter")).to_have_text("Ventas")
        _shot(page, "kpis-drill")

        # Each row opens its conversation in the desktop.
        first = rows.first.get_attribute("data-conversation-id")
        rows.first.locator("a").click()
        page.wait_for_url(f"{base}/desk?conversation={first}")
        # the desktop loads the conversation over the API; a loaded CI machine can take a while
        expect(page.locator("#desk")).to_have_attribute("data-open", str(first), timeout=20_000)
        # and it stays open once the agent's own state has loaded: a supervisor viewing
        # someone else's conversation is not sent back to an empty desk (it used to be
        # closed as "no longer mine" whenever that state arrived after the link opened it)
        expect(page.locator("#desk")).to_have_attribute("data-loaded", "true", timeout=20_000)
        expect(page.locator("#desk")).to_have_attribute("data-open", str(first))

        # The staffing calculator: the textbook load needs 14 agents.
        page.goto(base + "/supervisor/staffing")
        expect(page.locator("#forecast-table tbody tr").first).to_be_visible()
        for field, value in (("calls", "100"), ("interval", "1800"), ("aht", "180"),
                             ("target", "0.8"), ("threshold", "20")):  # fmt: skip
            page.fill(f"#sf-{field}", value)
        page.click("#calc-submit")
        result = page.locator("#calc-result")
        expect(result).to_be_visible()
        expect(result.locator("dt", has_text="Agentes al teléfono").locator("+ dd")).to_have_text(
            "14"
        )
        expect(page.locator("#calc-verdict")).to_have_text("Cumple el objetivo")
        _publish(_shot(page, "staffing"), "staffing.png")
        assert errors == []
    finally:
        context.close()
