"""The webhooks API with production rules (https only, public addresses only): CRUD, the
secret shown once, rotation, bad input as 422, admins only, and tenant isolation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from centralita.bootstrap import Container
from centralita.config import Settings
from centralita.core.clock import utcnow
from centralita.events.envelope import Envelope
from centralita.webhooks import service as webhooks_service
from tests.conftest import Database, make_settings
from tests.factories import TenantKit, make_tenant

PUBLIC_URL = "https://93.184.215.14/hooks/centralita"  # a public address: no DNS needed


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(database, tmp_path)  # the defaults an operator starts with


async def _create(client: httpx.AsyncClient, kit: TenantKit, **body: object) -> httpx.Response:
    return await client.post(
        "/api/v1/webhooks", headers=kit.headers, json={"url": PUBLIC_URL, "events": ["*"], **body}
    )


async def _delivery(container: Container, kit: TenantKit) -> str:
    """A queued delivery, as the subscriber writes it for a relayed event."""
    envelope = Envelope(
        event_id=f"evt_{kit.tenant_id[-10:]}",
        name="contact.created",
        version=1,
        tenant_id=kit.tenant_id,
        occurred_at=utcnow().isoformat(),
        payload={"contact_id": "ct_1", "source": "api"},
    )
    async with container.sessions() as session, session.begin():
        assert await webhooks_service.enqueue(session, envelope, now=utcnow()) == 1
    async with container.sessions() as session:
        subs = await webhooks_service.list_subscriptions(session, tenant_id=kit.tenant_id)
        page = await webhooks_service.list_deliveries(
            session, tenant_id=kit.tenant_id, webhook_id=subs[0].id
        )
        return page.items[0].id


async def test_create_shows_the_secret_once(
    container: Container, client: httpx.AsyncClient
) -> None:
    kit = await make_tenant(container)
    created = await _create(
        client, kit, events=["message.received", "contact.created"], description="CRM"
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["contact.created", "message.received"]
    assert body["enabled"] is True and body["description"] == "CRM"

    read = await client.get(f"/api/v1/webhooks/{body['id']}", headers=kit.headers)
    listed = await client.get("/api/v1/webhooks", headers=kit.headers)
    for text in (read.text, listed.text):
        assert body["secret"] not in text and 'secret"' not in text
    assert [w["id"] for w in listed.json()["items"]] == [body["id"]]


async def test_update_rotate_and_delete(container: Container, client: httpx.AsyncClient) -> None:
    kit = await make_tenant(container)
    hook = (await _create(client, kit)).json()
    url = f"/api/v1/webhooks/{hook['id']}"

    patched = await client.patch(
        url, headers=kit.headers, json={"enabled": False, "events": ["survey.answered"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False and patched.json()["events"] == ["survey.answered"]

    rotated = await client.post(f"{url}/rotate-secret", headers=kit.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != hook["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None  # 24 h by default
    now_only = await client.post(
        f"{url}/rotate-secret", headers=kit.headers, json={"grace_hours": 0}
    )
    assert now_only.json()["previous_secret_expires_at"] is None
    for bad in (-1, 1000, "soon"):
        r = await client.post(
            f"{url}/rotate-secret", headers=kit.headers, json={"grace_hours": bad}
        )
        assert r.status_code == 422

    assert (await client.delete(url, headers=kit.headers)).status_code == 204
    assert (await client.get(url, headers=kit.headers)).status_code == 404
    assert (await client.delete(url, headers=kit.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "not a url"}, "url", "spaces"),
        ({"url": "hooks.example.com/in"}, "url", "https://"),
        ({"url": "http://93.184.215.14/hook"}, "url", "only https"),
        ({"url": "https://127.0.0.1/hook"}, "url", "loopback"),
        ({"url": "https://[::1]:8443/hook"}, "url", "loopback"),
        ({"url": "https://10.0.0.1/hook"}, "url", "private"),
        ({"url": "https://192.168.1.1/hook"}, "url", "private"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "url", "link-local"),
        ({"url": "https://localhost:8443/hook"}, "url", "loopback"),
        ({"url": "https://nowhere.invalid/hook"}, "url", "does not resolve"),
        ({"url": "https://u:p@93.184.215.14/"}, "url", "credentials"),
        ({"events": ["contact.exploded"]}, "events", "unknown event names"),
        ({"events": []}, "body.events", "at least 1"),
        ({"events": ["*"], "secret": "mine"}, "body.secret", "Extra inputs"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    container: Container,
    client: httpx.AsyncClient,
    body: dict[str, object],
    field: str,
    message: str,
) -> None:
    kit = await make_tenant(container)
    r = await _create(client, kit, **body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == field
    assert message in problem["errors"][0]["message"]


async def test_patch_checks_the_url_too(container: Container, client: httpx.AsyncClient) -> None:
    kit = await make_tenant(container)
    hook = (await _create(client, kit)).json()
    r = await client.patch(
        f"/api/v1/webhooks/{hook['id']}",
        headers=kit.headers,
        json={"url": "https://169.254.169.254/"},
    )
    assert r.status_code == 422 and "link-local" in r.text


async def test_admins_only(container: Container, client: httpx.AsyncClient) -> None:
    admin = await make_tenant(container)
    hook = (await _create(client, admin)).json()
    agent = await make_tenant(container, role="supervisor")
    for method, path in (
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhook-events"),
        ("GET", f"/api/v1/webhooks/{hook['id']}/deliveries"),
    ):
        r = await client.request(method, path, headers=agent.headers, json={})
        assert r.status_code == 403, (method, path, r.status_code)


async def test_catalog_endpoint(container: Container, client: httpx.AsyncClient) -> None:
    kit = await make_tenant(container)
    r = await client.get("/api/v1/webhook-events", headers=kit.headers)
    events = {e["name"]: e for e in r.json()["items"]}
    assert {"conversation.created", "message.received", "interaction.closed",
            "routing.assigned", "appointment.booked", "staff_message.taken",
            "survey.answered", "contact.updated"} <= set(events)  # fmt: skip
    schema = events["survey.answered"]["payload_schema"]
    assert schema["properties"]["score"]["type"] == "integer"


async def test_tenant_a_cannot_see_or_replay_b(
    container: Container, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    b_hook = (await _create(client, b)).json()
    b_delivery = await _delivery(container, b)
    await _create(client, a)

    listed = await client.get("/api/v1/webhooks", headers=a.headers)
    assert b_hook["id"] not in listed.text
    for method, path in (
        ("GET", f"/api/v1/webhooks/{b_hook['id']}"),
        ("PATCH", f"/api/v1/webhooks/{b_hook['id']}"),
        ("DELETE", f"/api/v1/webhooks/{b_hook['id']}"),
        ("POST", f"/api/v1/webhooks/{b_hook['id']}/rotate-secret"),
        ("GET", f"/api/v1/webhooks/{b_hook['id']}/deliveries"),
        ("GET", f"/api/v1/webhook-deliveries/{b_delivery}"),
        ("POST", f"/api/v1/webhook-deliveries/{b_delivery}/replay"),
    ):
        json_body = {"enabled": False} if method == "PATCH" else None
        r = await client.request(method, path, headers=a.headers, json=json_body)
        assert r.status_code == 404, (method, path, r.status_code)
    # and B's own view is intact
    own = await client.get(f"/api/v1/webhooks/{b_hook['id']}/deliveries", headers=b.headers)
    assert [d["id"] for d in own.json()["items"]] == [b_delivery]
    assert (await client.get(f"/api/v1/webhooks/{b_hook['id']}", headers=b.headers)).json()[
        "enabled"
    ]


async def test_replay_of_a_disabled_webhook_is_409(
    container: Container, client: httpx.AsyncClient
) -> None:
    kit = await make_tenant(container)
    hook = (await _create(client, kit)).json()
    delivery = await _delivery(container, kit)
    await client.patch(
        f"/api/v1/webhooks/{hook['id']}", headers=kit.headers, json={"enabled": False}
    )
    r = await client.post(f"/api/v1/webhook-deliveries/{delivery}/replay", headers=kit.headers)
    assert r.status_code == 409 and "disabled" in r.json()["detail"]
    bad = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=kit.headers, params={"status": "x"}
    )
    assert bad.status_code == 422
