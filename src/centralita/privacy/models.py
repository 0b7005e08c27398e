"""Erasure requests and the per-tenant salt of the suppression hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, id_column

STATUSES = ("blocked", "destroyed")
# GDPR art. 17(1): why the data goes (a code, never free text: the row must not name anyone)
GROUNDS = ("request", "consent_withdrawn", "objection", "unlawful", "legal_obligation")


class ErasureRequest(TenantScoped, Base):
    """One erasure: blocked at once, destroyed when ``destroy_after`` passes (or on demand).

    It never names the person: ``contact_id`` is an opaque id whose row is gone, and the
    ``summary`` holds counts only. While blocked, ``sealed_file`` names the archive kept for
    legal claims (LOPDGDD art. 32); destroying deletes it and clears the name."""

    __tablename__ = "erasure_requests"

    id: Mapped[str] = id_column()  # era_...
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(12), default="blocked")
    requested_by: Mapped[str] = mapped_column(String(80))
    ground: Mapped[str] = mapped_column(String(24), default="request")  # GROUNDS
    blocked_at: Mapped[datetime]
    destroy_after: Mapped[datetime]
    destroyed_at: Mapped[datetime | None] = mapped_column(default=None)
    sealed_file: Mapped[str | None] = mapped_column(String(80), default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rows touched, per kind

    __table_args__ = (Index("ix_erasure_requests_due", "status", "destroy_after"),)


class SuppressionSalt(Base):
    """The random salt of one tenant's address hashes (an opt-out outlives the erased contact
    as ``sha256(salt + address)`` in the opt-out ledger)."""

    __tablename__ = "suppression_salts"

    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
