"""A browser session may read the API, but changing data also needs the CSRF header."""

from __future__ import annotations

import httpx

from centralita.bootstrap import Container
from tests.factories import make_tenant
from tests.simulator_client import simulator_request
from tests.web.forms import make_user, meta_token, sign_in


async def test_cookie_session_needs_csrf_header_to_change_data(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id, role="agent")
    body, headers = simulator_request(kit.simulator_secret, text="hola")
    await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert (await sign_in(client, kit.slug)).status_code == 303

    convs = await client.get("/api/v1/conversations")
    assert convs.status_code == 200
    conv_id = convs.json()["items"][0]["id"]

    no_token = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"body": "hi", "kind": "note"}
    )
    assert no_token.status_code == 403
    assert "CSRF" in no_token.json()["detail"]

    token = meta_token((await client.get("/simulator")).text)
    ok = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "hi", "kind": "note"},
        headers={"X-CSRF-Token": token},
    )
    assert ok.status_code == 201, ok.text
