"""Tenant use cases."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.tenants.events import TenantCreated, TenantUpdated
from centralita.tenants.models import Tenant

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def check_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise InvalidInput.for_field("slug", "use 1-63 lower-case letters, digits and dashes")
    return slug


async def create_tenant(session: AsyncSession, *, slug: str, name: str, **fields: Any) -> Tenant:
    check_slug(slug)
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise Conflict(f"tenant {slug} already exists")
    tenant = Tenant(id=new_id("tn"), slug=slug, name=name, config={}, **fields)
    session.add(tenant)
    await session.flush()
    outbox.record(session, TenantCreated(tenant_id=tenant.id, slug=slug))
    return tenant


async def get_tenant(session: AsyncSession, *, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant


async def get_by_slug(session: AsyncSession, *, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"tenant {slug!r} not found")
    return tenant


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """Operator-level listing (CLI); the API only ever shows the caller's own tenant."""
    return list((await session.scalars(select(Tenant).order_by(Tenant.slug))).all())


UPDATABLE = ("name", "timezone", "locale", "country", "receptionist_mode", "reopen_window_hours")


async def update_tenant(session: AsyncSession, *, tenant_id: str, **changes: Any) -> Tenant:
    tenant = await get_tenant(session, tenant_id=tenant_id)
    changed = []
    for key, value in changes.items():
        if key not in UPDATABLE:
            raise InvalidInput.for_field(key, "cannot be changed here")
        if value is not None and getattr(tenant, key) != value:
            setattr(tenant, key, value)
            changed.append(key)
    if changed:
        outbox.record(session, TenantUpdated(tenant_id=tenant.id, fields=changed))
    return tenant
