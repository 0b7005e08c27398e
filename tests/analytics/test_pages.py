"""The supervisor's KPI, drill-down and staffing pages over HTTP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest

from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.web.i18n import STRINGS
from tests.desk.test_pages import assert_no_inline_code
from tests.factories import TenantKit, make_tenant
from tests.staffing.history import Contacted, add_agent, add_contact, add_queue
from tests.web.forms import make_user, sign_in

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday; 13:00 in Madrid
TODAY = "2026-12-07"


@dataclass(frozen=True)
class Seeded:
    kit: TenantKit
    sales: str
    support: str
    in_sales: list[Contacted]
    in_support: list[Contacted]
    elsewhere: Contacted


async def _browser(container: Container, slug: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    )
    assert (await sign_in(client, slug, email=email)).status_code == 303
    return client


@pytest.fixture
async def seeded(container: Container) -> Seeded:
    container.clock = lambda: NOW
    kit = await make_tenant(container)  # Europe/Madrid, Spanish
    other = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        sales = await add_queue(session, kit.tenant_id, "ventas", "Ventas")
        support = await add_queue(session, kit.tenant_id, "soporte", "Soporte")
        lola = await add_agent(session, kit.tenant_id, "lola", "Lola Pérez")
        at = NOW - timedelta(hours=3)
        in_sales = [
            await add_contact(session, kit.tenant_id, at, queue_id=sales, agent_id=lola,
                              intent="book_appointment", csat=5, wait=5),
            await add_contact(session, kit.tenant_id, at + timedelta(minutes=20),
                              queue_id=sales, wait=90, abandoned=True),
            await add_contact(session, kit.tenant_id, at + timedelta(hours=1), queue_id=sales,
                              agent_id=lola, channel="voice", wait=40, csat=2),
        ]  # fmt: skip
        in_support = [
            await add_contact(session, kit.tenant_id, at + timedelta(minutes=5),
                              queue_id=support, agent_id=lola, wait=15),
        ]  # fmt: skip
        await add_contact(session, kit.tenant_id, at, bot_only=True, intent="info")
        yesterday = await add_contact(session, kit.tenant_id, at - timedelta(days=1),
                                      queue_id=sales, agent_id=lola)  # fmt: skip
        assert yesterday
        secret = await add_queue(session, other.tenant_id, "secreto", "Cola Secreta")
        elsewhere = await add_contact(session, other.tenant_id, at, queue_id=secret)
    return Seeded(kit, sales, support, in_sales, in_support, elsewhere)


@pytest.fixture
async def people(
    container: Container, seeded: Seeded
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    tenant_id, slug = seeded.kit.tenant_id, seeded.kit.slug
    await make_user(container, tenant_id, email="sam@example.com", role="supervisor")
    await make_user(container, tenant_id, email="ana@example.com", role="agent")
    await make_user(container, tenant_id, email="ada@example.com", role="admin")
    browsers = {
        "supervisor": await _browser(container, slug, "sam@example.com"),
        "agent": await _browser(container, slug, "ana@example.com"),
        "admin": await _browser(container, slug, "ada@example.com"),
    }
    try:
        yield browsers
    finally:
        for browser in browsers.values():
            await browser.aclose()


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)]


def _tile(strip: str, key: str) -> str:
    found = re.search(
        rf'data-kpi="{key}"[^>]*>\s*<span[^<]*</span>\s*<strong class="kp-value">([^<]*)<', strip
    )
    assert found, key
    return found.group(1)


def _drill_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(/supervisor/kpis/drill\?[^"]+)"', html)]


def _conversations(html: str) -> set[str]:
    return set(re.findall(r'data-conversation-id="([^"]+)"', html))


async def test_signed_out_browsers_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/supervisor/kpis", "/supervisor/kpis/drill", "/supervisor/staffing"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_agents_get_the_forbidden_page(people: dict[str, httpx.AsyncClient]) -> None:
    for path in ("/supervisor/kpis", "/supervisor/kpis/drill", "/supervisor/staffing"):
        r = await people["agent"].get(path)
        assert r.status_code == 403, path
        assert "Solo para supervisión" in r.text and 'href="/desk"' in r.text
        assert "Ventas" not in r.text


async def test_a_supervisor_sees_todays_kpis_by_queue(
    people: dict[str, httpx.AsyncClient], seeded: Seeded
) -> None:
    r = await people["supervisor"].get("/supervisor/kpis")
    assert r.status_code == 200, r.text
    html = r.text
    assert_no_inline_code(html)
    assert '<html lang="es">' in html and 'href="/static/kpis.css' in html
    assert f'value="{TODAY}"' in html  # today by default
    # the headline: 5 contacts today (4 queued, 1 bot-only; not yesterday's, not the other
    # tenant's), 3 of them answered
    strip = html.split('id="headline"')[1].split("</ul>")[0]
    assert _tile(strip, "contacts") == "5" and _tile(strip, "handled") == "3"
    assert _tile(strip, "csat") == "50,0 %"  # one 5, one 2
    assert _tile(strip, "nps") == "—"  # no answers: a dash, not 0
    for key in ("aht", "asa", "abandonment_rate", "service_level", "nps", "ai_containment",
                "spam_filtered", "appointments_booked"):  # fmt: skip
        assert f'data-kpi="{key}"' in strip
    # every KPI is defined, in the page's language
    for key in ("aht", "service_level", "fcr", "nps"):
        assert unescape(STRINGS["es"][f"kp_d_{key}"]) in unescape(html)
    # charts: contacts per queue, service level with its target line; bars link to the drill
    charts = _svgs(html)
    assert len(charts) == 4
    contacts = charts[0]
    assert contacts.get("role") == "group" and contacts.get("aria-label") == "Contactos"
    hrefs = [a.get("href") for a in contacts.iter("{http://www.w3.org/2000/svg}a")]
    assert f"/supervisor/kpis/drill?start={TODAY}&end={TODAY}&queue={seeded.sales}" in hrefs
    assert any(g.get("class") == "chart-target" for g in charts[1].iter())
    # the table, one row per group, links to the same drill-downs
    table = html.split('id="kpi-table"')[1].split("</table>")[0]
    assert "Ventas" in table and "Soporte" in table
    assert any(link.endswith(f"queue={seeded.support}") for link in _drill_links(table))
    # the CSV export is the API's, for the same period
    assert f'href="/api/v1/kpis/interactions.csv?start={TODAY}&amp;end={TODAY}"' in html
    assert "Cola Secreta" not in html


async def test_the_csv_link_works_with_the_session(
    people: dict[str, httpx.AsyncClient], seeded: Seeded
) -> None:
    r = await people["supervisor"].get(f"/api/v1/kpis/interactions.csv?start={TODAY}&end={TODAY}")
    assert r.status_code == 200, r.text
    assert seeded.in_sales[0].interaction_id in r.text
    assert seeded.elsewhere.interaction_id not in r.text


@pytest.mark.parametrize("group_by", ["channel", "agent", "intent", "hour", "day"])
async def test_every_grouping_renders(people: dict[str, httpx.AsyncClient], group_by: str) -> None:
    r = await people["admin"].get(f"/supervisor/kpis?group_by={group_by}&lang=en")
    assert r.status_code == 200, r.text
    charts = _svgs(r.text)
    assert charts
    kind = "chart-line" if group_by in ("hour", "day") else "chart-bars"
    assert kind in (charts[0].get("class") or "")
    if group_by == "agent":
        assert "Lola Pérez" in r.text
    if group_by == "hour":
        assert "09:00" in r.text or "10:00" in r.text  # local hours (UTC+1)


async def test_the_drill_down_lists_the_interactions_behind_a_bar(
    people: dict[str, httpx.AsyncClient], seeded: Seeded
) -> None:
    page = await people["supervisor"].get("/supervisor/kpis")
    [link] = [h for h in _drill_links(page.text) if h.endswith(f"queue={seeded.sales}")][:1]
    r = await people["supervisor"].get(link)
    assert r.status_code == 200, r.text
    assert_no_inline_code(r.text)
    assert _conversations(r.text) == {c.conversation_id for c in seeded.in_sales}
    table = r.text.split('id="drill-table"')[1]
    assert "Abandonada" in table and "Atendida" in table and "CSAT 5" in table
    assert "Lola Pérez" in table and "Pedir cita" in table and "Llamada" in table
    assert f'href="/desk?conversation={seeded.in_sales[0].conversation_id}"' in table
    assert ">Ventas<" in r.text  # the filter, by name
    assert 'href="/api/v1/kpis/interactions.csv?' in r.text and f"queue={seeded.sales}" in r.text


async def test_the_drill_down_of_the_total_and_of_another_tenants_queue(
    people: dict[str, httpx.AsyncClient], seeded: Seeded
) -> None:
    r = await people["supervisor"].get(f"/supervisor/kpis/drill?start={TODAY}&end={TODAY}")
    everything = _conversations(r.text)
    assert {c.conversation_id for c in seeded.in_sales + seeded.in_support} <= everything
    assert len(everything) == 5 and seeded.elsewhere.conversation_id not in everything
    r = await people["supervisor"].get(
        f"/supervisor/kpis/drill?start={TODAY}&end={TODAY}&queue=q_not_ours"
    )
    assert r.status_code == 200 and _conversations(r.text) == set()
    assert "No hay interacciones" in r.text


async def test_a_reversed_or_broken_range_is_explained(
    people: dict[str, httpx.AsyncClient],
) -> None:
    for path in ("/supervisor/kpis", "/supervisor/kpis/drill"):
        r = await people["supervisor"].get(f"{path}?start=2026-12-07&end=2026-12-01")
        assert r.status_code == 200, r.text
        assert "anterior a la fecha" in r.text and 'id="period-error"' in r.text
        r = await people["supervisor"].get(f"{path}?start=yesterday")
        assert r.status_code == 200 and "Fecha no válida" in r.text
    r = await people["supervisor"].get("/supervisor/kpis?start=2024-01-01&end=2026-12-01")
    assert "366 días" in r.text
    r = await people["supervisor"].get("/supervisor/kpis?group_by=planet")
    assert r.status_code == 200 and "Agrupación desconocida" in r.text


async def test_a_day_without_contacts_says_so(people: dict[str, httpx.AsyncClient]) -> None:
    r = await people["supervisor"].get("/supervisor/kpis?start=2026-11-01&end=2026-11-01&lang=en")
    assert r.status_code == 200
    assert "No interactions in this period." in r.text and "<svg" not in r.text


async def test_the_staffing_calculator(people: dict[str, httpx.AsyncClient]) -> None:
    browser = people["supervisor"]
    r = await browser.get("/supervisor/staffing")
    assert r.status_code == 200, r.text
    assert_no_inline_code(r.text)
    assert 'id="calc-result"' not in r.text and 'name="calls"' in r.text
    query = "calls=100&interval=1800&aht=180&target=0.8&threshold=20&shrinkage=0.3"
    r = await browser.get(f"/supervisor/staffing?{query}")
    result = r.text.split('id="calc-result"')[1].split("</section>")[0]
    assert re.search(r"Agentes al teléfono</dt><dd>14<", result)
    assert re.search(r"Plantilla a programar</dt><dd>20<", result)
    assert "88,8 %" in result and "Cumple el objetivo" in result  # SL 0.8884
    assert 'value="100"' in r.text  # the form keeps what was typed
    r = await browser.get("/supervisor/staffing?calls=100&aht=180&interval=1800&patience=300"
                          "&agents=14&target=0.8&threshold=20&shrinkage=0&lang=en")  # fmt: skip
    assert "Erlang A" in r.text and "Abandonment</dt><dd>1.4 %" in r.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("calls=100&aht=180&agents=9", "grow without bound"),
        ("calls=lots&aht=180", "“Contacts per interval” must be a number"),
        ("calls=100&aht=180&shrinkage=1.5", "shrinkage"),
        ("calls=100&aht=-3", "Check the figures"),
        ("calls=100&aht=180&agents=9.5", "must be a number"),
    ],
)
async def test_bad_calculator_input_is_a_clear_message(
    people: dict[str, httpx.AsyncClient], query: str, message: str
) -> None:
    r = await people["supervisor"].get(f"/supervisor/staffing?{query}&lang=en")
    assert r.status_code == 200, r.text
    error = r.text.split('id="calc-error"')[1].split("</p>")[0]
    assert message in unescape(error)


async def test_the_forecast_comes_from_the_tenants_history(
    container: Container, people: dict[str, httpx.AsyncClient], seeded: Seeded
) -> None:
    # Four past Mondays, 10:00-10:30 Madrid time: 2, 2, 2 and 2 contacts that reached a person.
    async with container.sessions() as session, session.begin():
        for weeks in range(1, 5):
            for minute in (1, 7):
                at = datetime(2026, 12, 7, 9, minute, tzinfo=UTC) - timedelta(weeks=weeks)
                await add_contact(session, seeded.kit.tenant_id, at, queue_id=seeded.sales,
                                  talk=170, wait=10)  # fmt: skip
    r = await people["supervisor"].get("/supervisor/staffing?lang=en")
    forecast = r.text.split('id="forecast"')[1]
    assert "2026-12-14" in forecast  # next Monday's week
    table = forecast.split('id="forecast-table"')[1]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table, re.S)
    # yesterday's single contact (Sunday 10:00 Madrid) and the Mondays' two
    monday = [row for row in rows if "Mon 10:00" in row]
    assert len(monday) == 1 and ">2.0<" in monday[0]
    assert "no handled contacts" not in forecast  # AHT measured from history
    assert len(_svgs(forecast)) == 2
