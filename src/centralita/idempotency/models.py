"""One row per (tenant, principal, Idempotency-Key): the request's fingerprint and outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.core.clock import utcnow
from centralita.db.base import Base, TenantScoped, id_column


class IdempotencyKey(TenantScoped, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "principal", "key", name="uq_idempotency_keys_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[str] = id_column()
    principal: Mapped[str] = mapped_column(String(80))  # Principal.actor: "user:…", "api_key:…"
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    state: Mapped[str] = mapped_column(String(12))  # "in_progress" | "completed"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # an in-progress claim whose process died is released when its lease runs out
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
