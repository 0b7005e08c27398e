"""Tenant A can neither read nor change tenant B's objects through any API route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.api.deps import CurrentPrincipal, DbSession
from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact
from centralita.core.errors import NotFound
from tests.api.isolation import (
    api_routes,
    populate_campaigns,
    populate_file,
    populate_handoff,
    populate_routing,
    populate_scheduling,
    populate_staff_messages,
    populate_survey,
    populate_webhooks,
    walk,
)
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request


@pytest.fixture
async def app_and_client(container: Container) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield app, client


async def populate(
    container: Container, client: httpx.AsyncClient, kit: TenantKit
) -> dict[str, str]:
    """One object of every kind in ``kit``'s tenant, by the public paths; returns their ids."""
    body, headers = simulator_request(kit.simulator_secret, text="hola", value="34600999888")
    assert (
        await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    ).status_code == 200
    conv = (await client.get("/api/v1/conversations", headers=kit.headers)).json()["items"][0]
    msgs = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=kit.headers)
    ).json()["items"]
    contact = (
        await client.get(f"/api/v1/contacts/{conv['contact_id']}", headers=kit.headers)
    ).json()
    ixs = (await client.get("/api/v1/interactions", headers=kit.headers)).json()["items"]
    spam = await client.post(
        f"/api/v1/conversations/{conv['id']}/spam", headers=kit.headers, json={"spam": True}
    )
    assert spam.status_code == 201, spam.text
    twin = (
        await client.post("/api/v1/contacts", headers=kit.headers, json={"name": "Twin"})
    ).json()
    merge = (
        await client.post(
            f"/api/v1/contacts/{contact['id']}/merge",
            headers=kit.headers,
            json={"other_id": twin["id"]},
        )
    ).json()
    user = (
        await client.post(
            "/api/v1/users",
            headers=kit.headers,
            json={"email": "b-user@example.com", "name": "B user", "role": "agent"},
        )
    ).json()
    key = (
        await client.post("/api/v1/api-keys", headers=kit.headers, json={"name": "b-key"})
    ).json()
    scheduling = await populate_scheduling(container, client, kit)
    staff_messages = await populate_staff_messages(container, kit, conv["id"])
    handoff = await populate_handoff(container, kit, conv["id"])
    stored_file = await populate_file(container, kit, msgs[0]["id"])
    routing = await populate_routing(container, kit, conv["id"])
    # the survey first: the campaigns' manual opt-out would stop it
    survey = await populate_survey(container, client, kit)
    campaigns = await populate_campaigns(client, kit, contact["id"])
    webhooks = await populate_webhooks(container, client, kit)
    await container.relay.drain()
    return {
        **webhooks,
        **campaigns,
        **survey,
        **scheduling,
        **staff_messages,
        **handoff,
        **stored_file,
        **routing,
        "tenant_id": kit.tenant_id,
        "conversation_id": conv["id"],
        "message_id": msgs[0]["id"],
        "contact_id": contact["id"],
        "address_id": contact["addresses"][0]["id"],
        "merge_id": merge["id"],
        "interaction_id": ixs[0]["id"],
        "user_id": user["id"],
        "key_id": key["id"],
    }


async def test_every_route_is_tenant_scoped(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], container: Container
) -> None:
    app, client = app_and_client
    a = await make_tenant(container, "tenant-a")
    b = await make_tenant(container, "tenant-b")
    b_ids = await populate(container, client, b)
    report = await walk(client, app, container, a, b, b_ids)
    assert report.failures == []
    # The walk really covered the API, not an empty list.
    assert len(report.routes) == len(api_routes(app)) >= 15


async def test_walker_catches_a_route_that_forgets_the_scope(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], container: Container
) -> None:
    """A deliberately unscoped route is reported: the isolation test can fail."""
    app, client = app_and_client

    @app.get("/api/v1/contacts/{contact_id}/unscoped")
    async def unscoped(
        contact_id: str, db: DbSession, principal: CurrentPrincipal
    ) -> dict[str, str]:
        contact = await db.scalar(select(Contact).where(Contact.id == contact_id))  # no tenant!
        if contact is None:
            raise NotFound("no such contact")
        return {"id": contact.id, "name": contact.name or ""}

    app.openapi_schema = None  # rebuild the schema with the new route
    a = await make_tenant(container, "tenant-a")
    b = await make_tenant(container, "tenant-b")
    b_ids = await populate(container, client, b)
    report = await walk(client, app, container, a, b, b_ids)
    assert report.failures == [
        "GET /api/v1/contacts/{contact_id}/unscoped: foreign id answered 200, not 404"
    ]


async def test_walker_catches_a_service_that_forgets_the_scope(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Break one real service function the way a careless change would, and watch it fail."""
    app, client = app_and_client

    async def careless_get_user(session, *, tenant_id, user_id):  # type: ignore[no-untyped-def]
        from centralita.access.models import User

        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    a = await make_tenant(container, "tenant-a")
    b = await make_tenant(container, "tenant-b")
    b_ids = await populate(container, client, b)
    # mock.patch-style replacement is the point of this test: simulate a forgotten filter.
    monkeypatch.setattr(access_service, "get_user", careless_get_user)
    report = await walk(client, app, container, a, b, b_ids)
    assert any(
        f.startswith("GET /api/v1/users/{user_id}: foreign id answered 200")
        for f in report.failures
    ), report.failures
    assert any("rows in users changed" in f for f in report.failures), report.failures


async def test_unknown_ids_answer_404_problem(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], container: Container
) -> None:
    _, client = app_and_client
    a = await make_tenant(container)
    for path in (
        "/api/v1/contacts/ct_nope",
        "/api/v1/conversations/cv_nope",
        "/api/v1/messages/msg_nope",
        "/api/v1/users/usr_nope",
    ):
        r = await client.get(path, headers=a.headers)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 404


async def test_contacts_service_is_scoped(container: Container) -> None:
    a = await make_tenant(container)
    b = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        contact = await contacts_service.create_contact(session, tenant_id=b.tenant_id, name="B")
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await contacts_service.get_contact(
                session, tenant_id=a.tenant_id, contact_id=contact.id
            )


async def test_foreign_ids_in_bodies_and_filters_are_not_found(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], container: Container
) -> None:
    """Ids also travel in bodies and query strings; those must be scoped too."""
    _, client = app_and_client
    a = await make_tenant(container, "tenant-a")
    b = await make_tenant(container, "tenant-b")
    b_ids = await populate(container, client, b)
    own = (await client.post("/api/v1/contacts", headers=a.headers, json={"name": "A"})).json()
    for suffix in ("merge/preview", "merge"):
        r = await client.post(
            f"/api/v1/contacts/{own['id']}/{suffix}",
            headers=a.headers,
            json={"other_id": b_ids["contact_id"]},
        )
        assert r.status_code == 404, (suffix, r.text)
    r = await client.get(
        "/api/v1/conversations", headers=a.headers, params={"contact_id": b_ids["contact_id"]}
    )
    assert r.status_code == 200 and r.json()["items"] == []
