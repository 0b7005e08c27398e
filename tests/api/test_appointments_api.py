"""The appointments API on the demo clinic, with the real clock: ask for slots, then book them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.demo import demo_tenant_text
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.loader import load_tenant_document
from tests.factories import TenantKit, make_tenant

MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class Clinic:
    tenant_id: str
    headers: dict[str, str]
    agent_headers: dict[str, str]


@pytest.fixture
async def clinic(container: Container) -> Clinic:
    doc = load_tenant_document(demo_tenant_text("clinica-dental-sonrisa"))
    async with container.sessions() as session, session.begin():
        report = await apply_document(session, doc, actor="tests")
        admin = await access_service.create_api_key(
            session, tenant_id=report.tenant_id, name="admin", role="admin"
        )
        agent = await access_service.create_api_key(
            session, tenant_id=report.tenant_id, name="agent", role="agent"
        )
    return Clinic(
        report.tenant_id,
        {"Authorization": f"Bearer {admin.secret}"},
        {"Authorization": f"Bearer {agent.secret}"},
    )


@pytest.fixture
async def other(container: Container) -> TenantKit:
    return await make_tenant(container, "other-tenant")


async def slots(client: httpx.AsyncClient, clinic: Clinic, **params: object) -> list[dict]:  # type: ignore[type-arg]
    r = await client.get("/api/v1/availability", headers=clinic.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["slots"]  # type: ignore[no-any-return]


async def book(
    client: httpx.AsyncClient, clinic: Clinic, start: str, **body: object
) -> httpx.Response:
    return await client.post(
        "/api/v1/appointments", headers=clinic.headers, json={"start": start, **body}
    )


def next_sunday_10() -> str:
    today = datetime.now(MADRID).date()
    days = (6 - today.weekday()) % 7 or 7
    return (
        datetime.combine(today + timedelta(days=days), datetime.min.time(), MADRID)
        .replace(hour=10)
        .isoformat()
    )


async def test_availability_then_book_get_and_list(
    client: httpx.AsyncClient, clinic: Clinic
) -> None:
    offered = await slots(client, clinic, service_key="limpieza", count=4)
    assert len(offered) == 4
    assert {s["staff_key"] for s in offered} == {"sanz"}
    first = offered[0]
    r = await book(client, clinic, first["start"], service_key="limpieza", notes="sensibilidad")
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"].startswith("apt_")
    assert (created["status"], created["source"], created["staff_key"]) == ("booked", "api", "sanz")
    assert datetime.fromisoformat(created["start_at"]) == datetime.fromisoformat(first["start"])
    r = await client.get(f"/api/v1/appointments/{created['id']}", headers=clinic.headers)
    assert r.status_code == 200 and r.json()["notes"] == "sensibilidad"
    # Taken now: the same slot is a conflict, and no longer offered.
    r = await book(client, clinic, first["start"], service_key="limpieza")
    assert r.status_code == 409
    assert "that slot was just taken" in r.json()["detail"]
    again = await slots(client, clinic, service_key="limpieza", count=4)
    assert first["start"] not in [s["start"] for s in again]
    listed = await client.get(
        "/api/v1/appointments", headers=clinic.headers, params={"staff_key": "sanz"}
    )
    assert [a["id"] for a in listed.json()["items"]] == [created["id"]]
    empty = await client.get(
        "/api/v1/appointments", headers=clinic.headers, params={"status": "cancelled"}
    )
    assert empty.json() == {"items": [], "next_cursor": None}


async def test_availability_from_and_limits(client: httpx.AsyncClient, clinic: Clinic) -> None:
    start = (datetime.now(MADRID) + timedelta(days=5)).replace(microsecond=0)
    offered = await slots(client, clinic, **{"from": start.isoformat(), "count": 10})
    assert 0 < len(offered) <= 10
    assert all(datetime.fromisoformat(s["start"]) >= start for s in offered)
    r = await client.get("/api/v1/availability", headers=clinic.headers, params={"count": 11})
    assert r.status_code == 422
    r = await client.get(
        "/api/v1/availability", headers=clinic.headers, params={"service_key": "nope"}
    )
    assert r.status_code == 422
    callbacks = await slots(client, clinic, kind="callback", count=2)
    assert [s["staff_key"] for s in callbacks] == [None, None]


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2020-01-07T10:00:00+01:00", "already passed"),
        ("sunday", "outside opening hours"),
        ("2026-11-17T10:00:00", "timezone"),  # naive
        ("2999-01-05T10:00:00+01:00", "days ahead"),
    ],
)
async def test_bad_times_are_422(
    client: httpx.AsyncClient, clinic: Clinic, start: str, message: str
) -> None:
    r = await book(client, clinic, next_sunday_10() if start == "sunday" else start)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert message in r.text


async def test_reschedule_cancel_confirm(client: httpx.AsyncClient, clinic: Clinic) -> None:
    first, second = (await slots(client, clinic, staff_key="garcia", count=2))[:2]
    created = (await book(client, clinic, first["start"], staff_key="garcia")).json()
    path = f"/api/v1/appointments/{created['id']}"
    r = await client.post(f"{path}/confirm", headers=clinic.headers)
    assert r.status_code == 200 and r.json()["confirmed_at"] is not None
    r = await client.post(
        f"{path}/reschedule", headers=clinic.headers, json={"start": second["start"]}
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert datetime.fromisoformat(moved["start_at"]) == datetime.fromisoformat(second["start"])
    assert datetime.fromisoformat(moved["rescheduled_from"]) == datetime.fromisoformat(
        first["start"]
    )
    assert (moved["confirmed_at"], moved["version"]) == (None, 3)
    r = await client.post(f"{path}/cancel", headers=clinic.headers, json={"reason": "viaje"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["cancel_reason"]) == ("cancelled", "viaje")
    r = await client.post(f"{path}/cancel", headers=clinic.headers)  # no body, idempotent
    assert r.status_code == 200
    r = await client.post(f"{path}/confirm", headers=clinic.headers)
    assert r.status_code == 409
    # The slot is free again.
    r = await book(client, clinic, second["start"], staff_key="garcia")
    assert r.status_code == 201


async def test_other_tenants_get_404(
    client: httpx.AsyncClient, clinic: Clinic, other: TenantKit
) -> None:
    first = (await slots(client, clinic, count=1))[0]
    created = (await book(client, clinic, first["start"])).json()
    path = f"/api/v1/appointments/{created['id']}"
    assert (await client.get(path, headers=other.headers)).status_code == 404
    for action, body in (("cancel", {}), ("confirm", None), ("reschedule", first)):
        r = await client.post(
            f"{path}/{action}",
            headers=other.headers,
            json={"start": first["start"]} if body is first else body,
        )
        assert r.status_code == 404, (action, r.text)
    listed = await client.get("/api/v1/appointments", headers=other.headers)
    assert listed.json()["items"] == []
    # A foreign contact in a body is not found, and nothing is booked with it.
    foreign = (
        await client.post("/api/v1/contacts", headers=other.headers, json={"name": "Ajeno"})
    ).json()
    second = (await slots(client, clinic, count=2))[1]
    r = await book(client, clinic, second["start"], contact_id=foreign["id"])
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/staff/garcia/calendar-feed", headers=other.headers
    )  # no such staff there
    assert r.status_code == 404


async def test_calendar_feed_url_works_without_auth(
    client: httpx.AsyncClient, clinic: Clinic
) -> None:
    first = (await slots(client, clinic, staff_key="garcia", count=1))[0]
    created = (await book(client, clinic, first["start"], staff_key="garcia")).json()
    r = await client.post("/api/v1/staff/garcia/calendar-feed", headers=clinic.headers)
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith("http://testserver/ical/")
    feed = await client.get(url)  # no Authorization header: the token is the key
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert f"UID:{created['id']}@centralita" in feed.text
    bad = await client.get("/ical/not-a-real-token.ics")
    assert bad.status_code == 404
    assert bad.headers["content-type"] == "application/problem+json"
    # Agents cannot mint feed URLs; unknown staff is 404.
    r = await client.post("/api/v1/staff/garcia/calendar-feed", headers=clinic.agent_headers)
    assert r.status_code == 403
    r = await client.post("/api/v1/staff/nobody/calendar-feed", headers=clinic.headers)
    assert r.status_code == 404
    # A new URL revokes the old one.
    await client.post("/api/v1/staff/garcia/calendar-feed", headers=clinic.headers)
    assert (await client.get(url)).status_code == 404


async def test_routes_need_authentication(client: httpx.AsyncClient, clinic: Clinic) -> None:
    for method, path in (
        ("GET", "/api/v1/appointments"),
        ("GET", "/api/v1/availability"),
        ("POST", "/api/v1/staff/garcia/calendar-feed"),
    ):
        assert (await client.request(method, path)).status_code == 401
