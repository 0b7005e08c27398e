"""Test factories: real rows through the real service functions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.core.ids import new_id
from centralita.tenants import service as tenants_service


@dataclass(frozen=True)
class TenantKit:
    tenant_id: str
    slug: str
    api_key: str
    simulator_account_id: str
    simulator_secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_tenant(
    container: Container, slug: str | None = None, *, role: str = "admin"
) -> TenantKit:
    slug = slug or f"t-{secrets.token_hex(4)}"
    async with container.sessions() as session, session.begin():
        tenant = await tenants_service.create_tenant(
            session,
            slug=slug,
            name=slug.title(),
            timezone="Europe/Madrid",
            locale="es",
            country="ES",
        )
        issued = await access_service.create_api_key(
            session, tenant_id=tenant.id, name="tests", role=role
        )
        secret = secrets.token_hex(16)
        account = ChannelAccount(
            id=new_id("chn"),
            tenant_id=tenant.id,
            name="simulator",
            kind="multi",
            provider="simulator",
            address="simulator",
            secret=secret,
            settings={},
        )
        session.add(account)
    return TenantKit(tenant.id, slug, issued.secret, account.id, secret)
