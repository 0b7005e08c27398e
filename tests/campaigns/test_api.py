"""The campaigns API: validation, refusals with a reason, tenant scoping, the ledger."""

from __future__ import annotations

import httpx

from centralita.bootstrap import Container
from tests.factories import make_tenant

PROMO = {"tags": {"any": ["promo"]}}


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> str:
    r = await client.post("/api/v1/contacts", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_campaign_crud_preview_and_refusals(
    container: Container, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    await _contact(
        client,
        a.headers,
        name="Ana López",
        tags=["promo"],
        consent={"marketing": True},
        addresses=[{"kind": "phone", "value": "+34600000091"}],
    )

    bad = await client.post(
        "/api/v1/campaigns",
        headers=a.headers,
        json={"name": "X", "body": "Hola {nombre}", "segment": {"tags": ["promo"]}},
    )
    assert bad.status_code == 422
    assert "{nombre}" in bad.text and "segment.tags" in bad.text

    r = await client.post(
        "/api/v1/campaigns",
        headers=a.headers,
        json={"name": "Nadie", "body": "Hola {first_name}", "segment": {"tags": {"any": ["x"]}}},
    )
    assert r.status_code == 201, r.text
    nobody = r.json()
    assert nobody["status"] == "draft" and nobody["progress"]["total"] == 0

    preview = await client.post(f"/api/v1/campaigns/{nobody['id']}/preview", headers=a.headers)
    assert preview.status_code == 200
    assert preview.json()["matched"] == 0 and "no contact" in preview.json()["message"]
    start = await client.post(f"/api/v1/campaigns/{nobody['id']}/start", headers=a.headers)
    assert start.status_code == 409 and "matches no contact" in start.text

    r = await client.post(
        "/api/v1/campaigns",
        headers=a.headers,
        json={
            "name": "Promo",
            "body": "Hola {first_name}",
            "segment": {"tags": {"any": ["promo"]}},
        },
    )
    promo = r.json()
    preview = await client.post(f"/api/v1/campaigns/{promo['id']}/preview", headers=a.headers)
    assert preview.json()["eligible"] == 1 and preview.json()["sample"][0]["text"] == "Hola Ana"
    renamed = await client.patch(
        f"/api/v1/campaigns/{promo['id']}", headers=a.headers, json={"name": "Promo otoño"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Promo otoño"

    # no SMS account: the recipient is skipped (no_address), never a 500
    started = await client.post(f"/api/v1/campaigns/{promo['id']}/start", headers=a.headers)
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert started.json()["progress"]["total"] == 1
    assert (
        await client.patch(
            f"/api/v1/campaigns/{promo['id']}", headers=a.headers, json={"name": "x"}
        )
    ).status_code == 409
    recipients = await client.get(f"/api/v1/campaigns/{promo['id']}/recipients", headers=a.headers)
    assert [r["status"] for r in recipients.json()["items"]] == ["pending"]
    listed = await client.get("/api/v1/campaigns", headers=a.headers)
    assert {c["id"] for c in listed.json()["items"]} == {nobody["id"], promo["id"]}

    # unknown and foreign ids are 404
    assert (await client.get("/api/v1/campaigns/cmp_nope", headers=a.headers)).status_code == 404
    for path in ("", "/preview", "/start", "/recipients"):
        method = client.get if path in ("", "/recipients") else client.post
        r = await method(f"/api/v1/campaigns/{promo['id']}{path}", headers=b.headers)
        assert r.status_code == 404, (path, r.status_code)
    assert (await client.get("/api/v1/campaigns", headers=b.headers)).json()["items"] == []


async def test_manual_opt_out_and_opt_in_and_the_ledger(
    container: Container, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    agent = await make_tenant(container, role="agent")
    contact_id = await _contact(client, a.headers, name="Ana", consent={"marketing": True})
    r = await client.post(f"/api/v1/contacts/{contact_id}/opt-out", headers=a.headers)
    assert r.status_code == 201 and r.json()["channel"] == "all"
    contact = (await client.get(f"/api/v1/contacts/{contact_id}", headers=a.headers)).json()
    assert contact["consent"]["marketing"] is False
    r = await client.post(
        f"/api/v1/contacts/{contact_id}/opt-in", headers=a.headers, json={"channel": "sms"}
    )
    assert r.status_code == 201
    ledger = (await client.get("/api/v1/opt-outs", headers=a.headers)).json()["items"]
    assert [(e["action"], e["channel"], e["source"]) for e in ledger] == [
        ("opt_in", "sms", "manual"),
        ("opt_out", "all", "manual"),
    ]
    assert (await client.get("/api/v1/opt-outs", headers=b.headers)).json()["items"] == []
    r = await client.post(f"/api/v1/contacts/{contact_id}/opt-out", headers=b.headers)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/contacts/{contact_id}/opt-out", headers=a.headers, json={"channel": "fax"}
    )
    assert r.status_code == 422
    assert (await client.get("/api/v1/opt-outs", headers=agent.headers)).status_code == 403
