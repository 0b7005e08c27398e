"""The contacts HTTP API: CRUD, addresses, lookup, audit, and errors that name the field."""

from __future__ import annotations

import httpx

from centralita.bootstrap import Container
from tests.factories import make_tenant
from tests.simulator_client import simulator_request

API = "/api/v1/contacts"


async def test_create_get_patch_list_delete(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    r = await client.post(
        API,
        headers=h,
        json={
            "name": "Ana",
            "language": "es",
            "addresses": [
                {"kind": "phone", "value": "600 111 222", "label": "mobile"},
                {"kind": "email", "value": "Ana@Example.com"},
            ],
            "attributes": {"plan": "gold", "visits": 3},
            "tags": ["new"],
            "value": "120.50",
            "consent": {"sms": True},
        },
    )
    assert r.status_code == 201, r.text
    ana = r.json()
    # The tenant's country (ES) is the default region for numbers typed without a prefix.
    assert [(a["kind"], a["value"], a["label"]) for a in ana["addresses"]] == [
        ("phone", "+34600111222", "mobile"),
        ("email", "ana@example.com", None),
    ]
    assert ana["value"] == "120.50" and ana["merged_into_id"] is None

    r = await client.patch(
        f"{API}/{ana['id']}",
        headers=h,
        json={
            "attributes": {"visits": None, "tier": "a"},
            "consent": {"email": False},
            "vip": True,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"] == {"plan": "gold", "tier": "a"}
    assert r.json()["consent"] == {"sms": True, "email": False} and r.json()["vip"] is True

    assert (await client.get(f"{API}/{ana['id']}", headers=h)).json()["vip"] is True
    listed = (await client.get(API, headers=h, params={"q": "ana@"})).json()
    assert [c["id"] for c in listed["items"]] == [ana["id"]]
    assert (await client.get(API, headers=h, params={"tag": "new"})).json()["items"][0]["id"] == (
        ana["id"]
    )

    audit = (await client.get(f"{API}/{ana['id']}/audit", headers=h)).json()
    assert [e["action"] for e in audit] == ["contact.updated", "contact.created"]
    assert audit[0]["actor"].startswith("api_key:")

    assert (await client.delete(f"{API}/{ana['id']}", headers=h)).status_code == 204
    assert (await client.get(f"{API}/{ana['id']}", headers=h)).status_code == 404
    assert (await client.get(API, headers=h)).json()["items"] == []


async def test_invalid_phone_is_422_naming_the_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    r = await client.post(
        API, headers=kit.headers, json={"addresses": [{"kind": "phone", "value": "12345"}]}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "addresses[0].value"
    r = await client.post(
        f"{API}/lookup", headers=kit.headers, json={"kind": "email", "value": "not-an-email"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value"
    assert (await client.get(API, headers=kit.headers)).json()["items"] == []


async def test_bad_bodies_are_422(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    created = (await client.post(API, headers=kit.headers, json={"name": "x"})).json()
    bad_bodies = [
        {"attributes": {f"k{i}": i for i in range(51)}},
        {"attributes": {"k": {"nested": True}}},
        {"attributes": {"bad key": 1}},
        {"tags": ["x" * 41]},
        {"tags": None},
        {"value": "-1"},
        {"value": None},
        {"consent": {"BAD": True}},
        {"name": "nul\x00"},
        {"language": "klingon"},
        {"colour": "red"},
    ]
    for body in bad_bodies:
        r = await client.patch(f"{API}/{created['id']}", headers=kit.headers, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"], body
    r = await client.get(API, headers=kit.headers, params={"q": "a\x00"})
    assert r.status_code == 422


async def test_address_routes(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    h = kit.headers
    a = (await client.post(API, headers=h, json={"name": "A"})).json()
    b = (await client.post(API, headers=h, json={"name": "B"})).json()
    r = await client.post(
        f"{API}/{a['id']}/addresses", headers=h, json={"kind": "whatsapp", "value": "34600111222"}
    )
    assert r.status_code == 201, r.text
    address = r.json()
    r = await client.post(
        f"{API}/{b['id']}/addresses", headers=h, json={"kind": "whatsapp", "value": "+34600111222"}
    )
    assert r.status_code == 409 and a["id"] in r.json()["detail"]
    r = await client.delete(f"{API}/{b['id']}/addresses/{address['id']}", headers=h)
    assert r.status_code == 404
    r = await client.delete(f"{API}/{a['id']}/addresses/{address['id']}", headers=h)
    assert r.status_code == 204
    assert (await client.get(f"{API}/{a['id']}", headers=h)).json()["addresses"] == []


async def test_lookup_finds_or_creates(client: httpx.AsyncClient, container: Container) -> None:
    kit = await make_tenant(container)
    r = await client.post(
        f"{API}/lookup",
        headers=kit.headers,
        json={"kind": "phone", "value": "600111222", "name": "Ana"},
    )
    assert r.status_code == 200 and r.json()["created"] is True
    first = r.json()["contact"]
    r = await client.post(
        f"{API}/lookup", headers=kit.headers, json={"kind": "phone", "value": "+34 600 111 222"}
    )
    assert r.json() == {"created": False, "contact": first}


async def test_contact_with_conversations_cannot_be_deleted(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    body, headers = simulator_request(kit.simulator_secret, text="hola")
    assert (
        await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    ).status_code == 200
    contact = (await client.get(API, headers=kit.headers)).json()["items"][0]
    r = await client.delete(f"{API}/{contact['id']}", headers=kit.headers)
    assert r.status_code == 409 and "merge" in r.json()["detail"]


async def test_other_tenants_ids_are_404(client: httpx.AsyncClient, container: Container) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    theirs = (
        await client.post(
            API, headers=b.headers, json={"addresses": [{"kind": "web", "value": "v-1"}]}
        )
    ).json()
    mine = (await client.post(API, headers=a.headers, json={"name": "mine"})).json()
    cid, aid = theirs["id"], theirs["addresses"][0]["id"]
    calls = [
        ("GET", f"{API}/{cid}", None),
        ("PATCH", f"{API}/{cid}", {"name": "x"}),
        ("DELETE", f"{API}/{cid}", None),
        ("POST", f"{API}/{cid}/addresses", {"kind": "web", "value": "v-2"}),
        ("DELETE", f"{API}/{cid}/addresses/{aid}", None),
        ("DELETE", f"{API}/{mine['id']}/addresses/{aid}", None),
        ("POST", f"{API}/{cid}/merge/preview", {"other_id": mine["id"]}),
        ("POST", f"{API}/{mine['id']}/merge/preview", {"other_id": cid}),
        ("POST", f"{API}/{mine['id']}/merge", {"other_id": cid}),
        ("GET", f"{API}/{cid}/audit", None),
        ("POST", "/api/v1/contact-merges/cm_unknown/undo", None),
        ("GET", "/api/v1/contact-merges/cm_unknown", None),
    ]
    for method, url, body in calls:
        r = await client.request(method, url, headers=a.headers, json=body)
        assert r.status_code == 404, (method, url, r.text)
    again = (await client.get(f"{API}/{cid}", headers=b.headers)).json()
    assert again == theirs


async def test_unauthenticated_is_401(client: httpx.AsyncClient, container: Container) -> None:
    assert (await client.get(API)).status_code == 401
