"""The audit log: administrative changes with diffs (no secrets), staff reads of personal
data, and the admin-only, filtered, paginated ``GET /api/v1/audit``."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.audit.models import AuditEntry
from centralita.bootstrap import Container
from tests.factories import make_tenant
from tests.simulator_client import simulator_request
from tests.web.forms import make_user

API = "/api/v1"


async def _entries(container: Container, tenant_id: str) -> list[AuditEntry]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.id)
        )
        return list(rows.all())


async def _key(container: Container, tenant_id: str, role: str) -> dict[str, str]:
    async with container.sessions() as session, session.begin():
        issued = await access_service.create_api_key(
            session, tenant_id=tenant_id, name=role, role=role
        )
    return {"Authorization": f"Bearer {issued.secret}"}


async def _conversation(client: httpx.AsyncClient, container: Container, kit) -> str:  # type: ignore[no-untyped-def]
    body, headers = simulator_request(kit.simulator_secret, text="hola, soy Ana")
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/conversations", headers=kit.headers)
    return str(r.json()["items"][0]["id"])


async def test_a_user_update_records_a_diff_without_the_password(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    user_id = await make_user(container, kit.tenant_id)
    r = await client.patch(
        f"{API}/users/{user_id}",
        json={"role": "supervisor", "password": "another long secret"},
        headers=kit.headers,
    )
    assert r.status_code == 200, r.text
    (entry,) = [e for e in await _entries(container, kit.tenant_id) if e.action == "user.update"]
    assert entry.actor.startswith("api_key:") and entry.object_id == user_id
    assert entry.data["diff"] == {"password": "[changed]", "role": ["agent", "supervisor"]}
    assert "another long secret" not in str(entry.data)


async def test_tenant_and_campaign_changes_are_audited(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await client.patch(
        f"{API}/tenants/{kit.tenant_id}", json={"name": "Renamed"}, headers=kit.headers
    )
    assert r.status_code == 200, r.text
    (entry,) = [e for e in await _entries(container, kit.tenant_id) if e.action == "tenant.update"]
    assert entry.data["diff"] == {"name": [kit.slug.title(), "Renamed"]}

    body = {"name": "Spring", "body": "Hola {first_name}", "segment": {}}
    campaign = (await client.post(f"{API}/campaigns", json=body, headers=kit.headers)).json()
    cid = campaign["id"]
    r = await client.patch(f"{API}/campaigns/{cid}", json={"name": "Summer"}, headers=kit.headers)
    assert r.status_code == 200, r.text
    assert (await client.delete(f"{API}/campaigns/{cid}", headers=kit.headers)).status_code == 204
    trail = [
        (e.action, e.data)
        for e in await _entries(container, kit.tenant_id)
        if e.object_type == "campaign"
    ]
    assert trail == [
        ("campaign.create", {"name": "Spring"}),
        ("campaign.update", {"set": {"name": "Summer"}}),
        ("campaign.delete", {}),
    ]


async def test_staff_reads_of_personal_data_are_audited(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    conv = await _conversation(client, container, kit)
    contact = (await client.get(f"{API}/conversations/{conv}", headers=kit.headers)).json()[
        "contact_id"
    ]
    before = len(await _entries(container, kit.tenant_id))
    calls = [
        f"{API}/contacts/{contact}",
        f"{API}/contacts",
        f"{API}/conversations/{conv}",
        f"{API}/conversations/{conv}/messages",
        f"{API}/desk/conversations/{conv}/context",
        f"{API}/contacts/{contact}/timeline",
    ]
    for url in calls:
        r = await client.get(url, headers=kit.headers)
        assert r.status_code == 200, (url, r.text)
    reads = (await _entries(container, kit.tenant_id))[before:]
    assert [(e.action, e.object_id) for e in reads] == [
        ("contact.read", contact),
        ("contact.read", "list"),
        ("conversation.read", conv),
        ("conversation.read", conv),
        ("conversation.read", conv),
        ("contact.read", contact),
    ]
    assert all(e.actor.startswith("api_key:") for e in reads)
    assert contact in reads[1].data["ids"]
    assert [e.data.get("view") for e in reads[2:5]] == ["detail", "messages", "desk"]
    # The receptionist read the same contact when it answered: nothing of that is here.
    assert not any(e.actor == "system" and e.action.endswith(".read") for e in reads)
    # The contact's own trail shows its changes, not who looked at it.
    trail = (await client.get(f"{API}/contacts/{contact}/audit", headers=kit.headers)).json()
    assert all(not e["action"].endswith(".read") for e in trail)


async def test_the_audit_log_is_for_admins_filtered_and_paginated(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    other = await make_tenant(container)
    user_id = await make_user(container, kit.tenant_id)
    for name in ("A", "B", "C"):
        r = await client.patch(f"{API}/users/{user_id}", json={"name": name}, headers=kit.headers)
        assert r.status_code == 200
    await client.post(f"{API}/api-keys", json={"name": "x"}, headers=kit.headers)
    await client.post(f"{API}/api-keys", json={"name": "theirs"}, headers=other.headers)

    for role in ("agent", "supervisor"):
        r = await client.get(f"{API}/audit", headers=await _key(container, kit.tenant_id, role))
        assert r.status_code == 403

    everything = (await client.get(f"{API}/audit", headers=kit.headers)).json()["items"]
    assert [e["action"] for e in everything] == ["api_key.create"] + ["user.update"] * 3
    assert all(e["action"] != "api_key.create" or e["data"] == {} for e in everything)

    page1 = (await client.get(f"{API}/audit?limit=2", headers=kit.headers)).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = (
        await client.get(f"{API}/audit?limit=2&cursor={page1['next_cursor']}", headers=kit.headers)
    ).json()
    assert [e["id"] for e in page1["items"] + page2["items"]] == [e["id"] for e in everything]
    assert page2["next_cursor"] is None

    only = (
        await client.get(
            f"{API}/audit",
            params={"action": "user.update", "object_id": user_id},
            headers=kit.headers,
        )
    ).json()["items"]
    assert len(only) == 3 and only[0]["data"]["diff"] == {"name": ["B", "C"]}
    prefix = (await client.get(f"{API}/audit?action=api_key.*", headers=kit.headers)).json()
    assert [e["action"] for e in prefix["items"]] == ["api_key.create"]
    actor = everything[0]["actor"]
    by_actor = await client.get(f"{API}/audit", params={"actor": actor}, headers=kit.headers)
    assert len(by_actor.json()["items"]) == 4

    at = everything[1]["at"]
    since = (await client.get(f"{API}/audit", params={"since": at}, headers=kit.headers)).json()
    assert {e["id"] for e in since["items"]} >= {everything[0]["id"], everything[1]["id"]}
    until = (await client.get(f"{API}/audit", params={"until": at}, headers=kit.headers)).json()
    assert everything[1]["id"] not in {e["id"] for e in until["items"]}

    for bad in (
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"action": "a b"},
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    ):
        r = await client.get(f"{API}/audit", params=bad, headers=kit.headers)
        assert r.status_code == 422, (bad, r.text)
