"""Keyset pagination over time-sortable ids, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

R = TypeVar("R")


@dataclass(frozen=True)
class Slice(Generic[R]):
    items: list[R]
    next_cursor: str | None


async def paginate(
    session: AsyncSession, stmt: Select[Any], id_column: Any, *, limit: int, cursor: str | None
) -> Slice[Any]:
    if cursor:
        stmt = stmt.where(id_column < cursor)
    rows = list((await session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Slice(rows, rows[-1].id if more and rows else None)
