"""Tenant rows. Everything else in the database hangs off a tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, Timestamps, id_column


class Tenant(Timestamps, Base):
    __tablename__ = "tenants"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    receptionist_mode: Mapped[str] = mapped_column(String(20), default="ai_first")
    reopen_window_hours: Mapped[int] = mapped_column(default=72)
    # The validated configuration-as-code document (hours, holidays, FAQ, ...), as applied.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disabled: Mapped[bool] = mapped_column(default=False)
