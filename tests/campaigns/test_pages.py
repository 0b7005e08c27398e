"""The campaign pages: a list with progress bars, one campaign's results; supervisors only."""

from __future__ import annotations

import re

import httpx

from centralita.bootstrap import Container
from centralita.campaigns import service as campaigns_service
from centralita.contacts import service as contacts_service
from centralita.core.clock import utcnow
from tests.factories import make_tenant
from tests.web.forms import make_user, sign_in


async def test_list_and_detail_pages(container: Container, client: httpx.AsyncClient) -> None:
    kit = await make_tenant(container)
    now = utcnow()
    async with container.sessions() as session, session.begin():
        for i, consent in enumerate(({"marketing": True}, {}, {})):
            await contacts_service.create_contact(
                session, tenant_id=kit.tenant_id, name=f"C{i}", tags=["promo"], consent=consent,
                addresses=[("phone", f"+3460000010{i}")],
            )  # fmt: skip
        campaign = await campaigns_service.create_campaign(
            session, tenant_id=kit.tenant_id, name="Promo <otoño>", channel="sms",
            body="Hola {first_name}", segment={"tags": {"any": ["promo"]}},
            created_by="tests", now=now,
        )  # fmt: skip
        await campaigns_service.start_campaign(
            session, tenant_id=kit.tenant_id, campaign_id=campaign.id, now=now
        )
    await make_user(container, kit.tenant_id, role="supervisor")
    assert (await sign_in(client, kit.slug)).status_code in (302, 303)

    page = await client.get("/campaigns?lang=en")
    assert page.status_code == 200
    assert "Promo &lt;otoño&gt;" in page.text and "Running" in page.text
    assert re.search(r'<progress max="3" value="2"', page.text)
    assert "style=" not in page.text

    detail = await client.get(f"/campaigns/{campaign.id}?lang=es")
    assert detail.status_code == 200
    assert 'data-reason="no_consent">2<' in detail.text
    assert 'data-status="pending">1<' in detail.text
    assert "Sin consentimiento" in detail.text
    assert (await client.get("/campaigns/cmp_nope")).status_code == 404


async def test_agents_get_403_and_strangers_sign_in(
    container: Container, client: httpx.AsyncClient
) -> None:
    r = await client.get("/campaigns")
    assert r.status_code == 303 and r.headers["location"].endswith("/login")
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id, role="agent")
    await sign_in(client, kit.slug)
    assert (await client.get("/campaigns")).status_code == 403
