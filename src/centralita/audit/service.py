"""Write and read audit entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.audit.models import AuditEntry
from centralita.core.ids import new_id


def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        id=new_id("aud"),
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data or {},
    )
    session.add(entry)
    return entry


async def list_entries(
    session: AsyncSession, *, tenant_id: str, object_id: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())
