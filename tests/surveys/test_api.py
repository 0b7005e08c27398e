"""The surveys API: filters, pages, roles, and another tenant's surveys out of reach."""

from __future__ import annotations

from datetime import timedelta

import httpx

from centralita.bootstrap import Container
from centralita.core.ids import new_id
from centralita.surveys.models import Survey
from tests.factories import make_tenant
from tests.surveys.test_flow import MONDAY_10


async def _survey(container: Container, tenant_id: str, **fields: object) -> str:
    values: dict[str, object] = {
        "id": new_id("srv"), "tenant_id": tenant_id, "interaction_id": new_id("ix"),
        "conversation_id": new_id("cv"), "contact_id": new_id("ct"), "channel": "whatsapp",
        "kind": "csat", "status": "sent", "sent_at": MONDAY_10,
        "expires_at": MONDAY_10 + timedelta(hours=48),
    }  # fmt: skip
    values.update(fields)
    async with container.sessions() as session, session.begin():
        session.add(Survey(**values))
    return str(values["id"])


async def test_surveys_are_listed_filtered_and_read(
    container: Container, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(container)
    answered = await _survey(container, a.tenant_id, status="answered", score=5, agent_id="stf_a",
                             answered_at=MONDAY_10)  # fmt: skip
    nps = await _survey(container, a.tenant_id, kind="nps",
                        sent_at=MONDAY_10 + timedelta(days=2))  # fmt: skip
    r = await client.get("/api/v1/surveys", headers=a.headers)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["items"]] == [nps, answered]  # newest first
    for params, expected in (
        ({"status": "answered"}, [answered]),
        ({"kind": "nps"}, [nps]),
        ({"agent_id": "stf_a"}, [answered]),
        ({"since": (MONDAY_10 + timedelta(days=1)).isoformat()}, [nps]),
    ):
        r = await client.get("/api/v1/surveys", headers=a.headers, params=params)
        assert [s["id"] for s in r.json()["items"]] == expected, params
    page = (await client.get("/api/v1/surveys", headers=a.headers, params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    one = (await client.get(f"/api/v1/surveys/{answered}", headers=a.headers)).json()
    assert (one["score"], one["status"], one["agent_id"]) == (5, "answered", "stf_a")
    assert (await client.get("/api/v1/surveys/srv_nope", headers=a.headers)).status_code == 404
    bad = await client.get("/api/v1/surveys", headers=a.headers, params={"status": "weird"})
    assert bad.status_code == 422


async def test_another_tenants_surveys_are_not_found(
    container: Container, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    theirs = await _survey(container, b.tenant_id)
    assert (await client.get(f"/api/v1/surveys/{theirs}", headers=a.headers)).status_code == 404
    listed = (await client.get("/api/v1/surveys", headers=a.headers)).json()
    assert listed["items"] == []
    assert (await client.get(f"/api/v1/surveys/{theirs}", headers=b.headers)).status_code == 200


async def test_agents_may_not_read_surveys(container: Container, client: httpx.AsyncClient) -> None:
    agent_key = await make_tenant(container, role="agent")
    r = await client.get("/api/v1/surveys", headers=agent_key.headers)
    assert r.status_code == 403
    assert (await client.get("/api/v1/surveys")).status_code == 401


async def test_the_isolation_walkers_survey_is_real(
    container: Container, client: httpx.AsyncClient
) -> None:
    """``tests/api/isolation.populate_survey`` gives the walker a survey id of tenant B."""
    from tests.api.isolation import populate_survey

    a, b = await make_tenant(container), await make_tenant(container)
    ids = await populate_survey(container, client, b)
    own = await client.get(f"/api/v1/surveys/{ids['survey_id']}", headers=b.headers)
    assert own.status_code == 200 and own.json()["status"] == "sent"
    foreign = await client.get(f"/api/v1/surveys/{ids['survey_id']}", headers=a.headers)
    assert foreign.status_code == 404
