"""The KPI API and /metrics over HTTP, on both databases."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from centralita.analytics import kpis, metrics
from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.config import Settings
from centralita.routing.models import AgentPresence
from tests.analytics.world import NOW, T, World, seed
from tests.factories import make_tenant

pytestmark = pytest.mark.usefixtures("database")
RANGE = {"start": T.isoformat(), "end": NOW.isoformat()}


async def _world(container: Container) -> World:
    container.clock = lambda: NOW
    return await seed(container, await make_tenant(container))


async def test_report_total_and_groups(container: Container, client: httpx.AsyncClient) -> None:
    world = await _world(container)
    got = await client.get("/api/v1/kpis", headers=world.kit.headers,
                           params={**RANGE, "group_by": "queue"})  # fmt: skip
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"]["count"] == 7
    assert body["total"]["kpis"]["aht"] == pytest.approx(215.0)
    assert body["options"]["service_level_method"] == "short_abandons_excluded"
    assert {r["label"]: r["count"] for r in body["rows"]} == {"Recepción": 5, "(no queue)": 2}
    only = await client.get("/api/v1/kpis", headers=world.kit.headers,
                            params={**RANGE, "queue": world.queue})  # fmt: skip
    assert only.json()["total"]["count"] == 5


async def test_dates_are_whole_local_days(container: Container, client: httpx.AsyncClient) -> None:
    world = await _world(container)
    day = await client.get("/api/v1/kpis", headers=world.kit.headers,
                           params={"start": "2026-12-07", "end": "2026-12-07"})  # fmt: skip
    assert day.status_code == 200, day.text
    assert day.json()["start"].startswith("2026-12-06T23:00")  # Madrid midnight in UTC
    assert day.json()["total"]["count"] == 7
    before = await client.get("/api/v1/kpis", headers=world.kit.headers,
                              params={"start": "2026-11-28", "end": "2026-11-30"})  # fmt: skip
    assert before.json()["total"]["count"] == 1  # old2 (eight days before T), not old1 (ten)
    assert before.json()["total"]["kpis"]["aht"] is None


async def test_today_and_definitions(container: Container, client: httpx.AsyncClient) -> None:
    world = await _world(container)
    today = await client.get("/api/v1/kpis/today", headers=world.kit.headers,
                             params={"group_by": "agent"})  # fmt: skip
    assert today.status_code == 200, today.text
    assert today.json()["total"]["kpis"]["service_level"] == pytest.approx(1 / 3)
    assert {r["label"]: r["count"] for r in today.json()["rows"]} == {"(no agent)": 5, "Ana": 2}
    defs = await client.get("/api/v1/kpis/definitions", headers=world.kit.headers)
    assert {d["kpi"] for d in defs.json()} == set(kpis.DEFINITIONS)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"start": NOW.isoformat(), "end": T.isoformat()}, "reversed"),
        ({"start": "2025-01-01", "end": "2026-12-01"}, "366 days"),
        ({"start": "yesterday"}, "ISO date"),
        ({"group_by": "weather"}, "unknown dimension"),
    ],
)
async def test_bad_queries_are_422(
    container: Container, client: httpx.AsyncClient, params: dict[str, str], detail: str
) -> None:
    world = await _world(container)
    got = await client.get("/api/v1/kpis", headers=world.kit.headers, params=params)
    assert got.status_code == 422, got.text
    assert detail in got.text


async def test_drill_down_and_csv(container: Container, client: httpx.AsyncClient) -> None:
    world = await _world(container)
    page = await client.get("/api/v1/kpis/interactions", headers=world.kit.headers,
                            params={**RANGE, "channel": "voice", "limit": 2})  # fmt: skip
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 5 and len(body["items"]) == 2  # i1, i3, i4, i6, waiting
    assert body["items"][0]["interaction_id"] == world.ix["i1"]
    assert body["items"][0]["conversation_id"] == world.cv["info"]
    exported = await client.get("/api/v1/kpis/interactions.csv", headers=world.kit.headers,
                                params=RANGE)  # fmt: skip
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 7
    i1 = next(r for r in rows if r["interaction_id"] == world.ix["i1"])
    assert (i1["handle_seconds"], i1["csat"], i1["nps"], i1["intent"]) == ("330.0", "5", "9",
                                                                           "info")  # fmt: skip
    i3 = next(r for r in rows if r["interaction_id"] == world.ix["i3"])
    assert (i3["short_abandon"], i3["agent_id"], i3["fcr"]) == ("true", "", "")


async def test_roles_and_tenant_isolation(container: Container, client: httpx.AsyncClient) -> None:
    world = await _world(container)
    other = await make_tenant(container)
    agent = await make_tenant(container, role="agent")
    theirs = await client.get("/api/v1/kpis", headers=other.headers, params=RANGE)
    assert theirs.status_code == 200 and theirs.json()["total"]["count"] == 0
    rows = await client.get("/api/v1/kpis/interactions.csv", headers=other.headers, params=RANGE)
    assert world.ix["i1"] not in rows.text and len(rows.text.splitlines()) == 1
    # a foreign queue id as a filter finds nothing (it is not ours)
    foreign = await client.get("/api/v1/kpis", headers=other.headers,
                               params={**RANGE, "queue": world.queue})  # fmt: skip
    assert foreign.json()["total"]["count"] == 0
    assert (await client.get("/api/v1/kpis/today", headers=agent.headers)).status_code == 403
    assert (await client.get("/api/v1/kpis")).status_code == 401


# ---- /metrics -----------------------------------------------------------------------------------


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    """An app with a metrics token."""
    container = build_container(
        settings.model_copy(update={"metrics_token": SecretStr("scrape-me")}), run_workers=False
    )
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield container, c
    finally:
        await container.stop()


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def test_metrics_need_the_token(
    guarded: tuple[Container, httpx.AsyncClient], client: httpx.AsyncClient
) -> None:
    container, c = guarded
    world = await _world(container)
    assert (await client.get("/metrics")).status_code == 404  # no token configured: disabled
    assert (await c.get("/metrics")).status_code == 401
    bad = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert (await c.get("/metrics", headers=world.kit.headers)).status_code == 401  # an API key
    got = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(got.text)
    queue = f'tenant="{world.kit.slug}",queue="Recepción"'
    assert samples[f"centralita_queue_waiting{{{queue}}}"] == 1
    assert samples[f"centralita_queue_longest_wait_seconds{{{queue}}}"] == 90
    assert samples[f"centralita_queue_service_level_today{{{queue}}}"] == pytest.approx(1 / 3)
    assert samples[f"centralita_queue_abandonment_rate_today{{{queue}}}"] == pytest.approx(1 / 3)
    # Ana is offline by the log, but the presence table has no row: offline, owning one chat
    agent = f'tenant="{world.kit.slug}",agent="ana"'
    assert samples[f"centralita_agent_active_conversations{{{agent}}}"] == 1
    assert samples[f'centralita_agent_presence{{{agent},presence="offline"}}'] == 1
    assert samples[f"centralita_queue_agents_available{{{queue}}}"] == 0
    assert "# TYPE centralita_queue_waiting gauge" in got.text
    # available with a conversation in hand: busy for the queue she reaches
    async with container.sessions() as session, session.begin():
        session.add(AgentPresence(tenant_id=world.kit.tenant_id, agent_id=world.agent,
                                  presence="available"))  # fmt: skip
    again = _samples((await c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})).text)
    assert again[f'centralita_agent_presence{{{agent},presence="busy"}}'] == 1
    assert again[f"centralita_queue_agents_busy{{{queue}}}"] == 1
    assert again[f"centralita_queue_agents_available{{{queue}}}"] == 0


def test_exposition_escapes_labels_and_reach() -> None:
    out = metrics.Exposition()
    out.add("centralita_queue_waiting", {"tenant": 'a"b\\c\nd', "queue": "q"}, None)
    assert 'centralita_queue_waiting{tenant="a\\"b\\\\c\\nd",queue="q"} NaN' in out.render()
    assert metrics.reaches({"es": 3}, ["es"], 2) and not metrics.reaches({"es": 1}, ["es"], 2)
    assert metrics.reaches({}, [], 1)
    assert metrics.activity("available", 2) == "busy" and metrics.activity("away", 2) == "away"
