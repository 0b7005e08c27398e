"""The one tenant-scoped lookup by id every service's ``get_*`` goes through."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.errors import NotFound
from centralita.core.ids import looks_like_id

M = TypeVar("M")


async def get_scoped(
    session: AsyncSession, model: type[M], *, tenant_id: str, id: str, label: str
) -> M:
    """Row ``id`` of ``model`` inside ``tenant_id``; anything else (foreign, unknown) is 404."""
    row = None
    if looks_like_id(id):
        entity: Any = model
        row = await session.scalar(
            select(entity).where(entity.tenant_id == tenant_id, entity.id == id)
        )
    if row is None:
        raise NotFound(f"{label} {id} not found")
    return row  # type: ignore[no-any-return]
