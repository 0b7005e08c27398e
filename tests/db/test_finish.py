"""A unit of work run through ``to_the_end`` commits even when its task is cancelled."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.db.finish import to_the_end
from centralita.tenants.models import Tenant
from tests.factories import make_tenant


async def _rename(container: Container, tenant_id: str, name: str, started: asyncio.Event) -> None:
    async with container.sessions() as session, session.begin():
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.name = name
        await session.flush()
        started.set()
        await asyncio.sleep(0.3)  # the transaction is open, holding SQLite's write lock


async def test_a_cancelled_caller_waits_for_the_unit_to_commit(container: Container) -> None:
    tenant = await make_tenant(container)
    started = asyncio.Event()
    task = asyncio.create_task(to_the_end(_rename(container, tenant.tenant_id, "Renamed", started)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The unit ran to its end: its write is committed and nothing holds the write lock.
    async with container.sessions() as session, session.begin():
        name = await session.scalar(select(Tenant.name).where(Tenant.id == tenant.tenant_id))
        assert name == "Renamed"
        (await session.get(Tenant, tenant.tenant_id)).name = "Again"  # type: ignore[union-attr]


async def test_without_it_the_cancelled_unit_is_lost(container: Container) -> None:
    """The control: cancelled plainly, the same unit never commits (so the test above can fail)."""
    tenant = await make_tenant(container)
    started = asyncio.Event()
    task = asyncio.create_task(_rename(container, tenant.tenant_id, "Renamed", started))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with container.sessions() as session:
        name = await session.scalar(select(Tenant.name).where(Tenant.id == tenant.tenant_id))
        assert name != "Renamed"
