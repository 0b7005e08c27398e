"""Contacts and their addresses; an address is unique per tenant and kind."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class Contact(TenantScoped, Timestamps, Base):
    __tablename__ = "contacts"

    id: Mapped[str] = id_column()
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vip: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    last_contact_at: Mapped[datetime | None] = mapped_column(default=None)

    addresses: Mapped[list[ContactAddress]] = relationship(
        back_populates="contact", lazy="selectin", order_by="ContactAddress.created_at"
    )


class ContactAddress(TenantScoped, Timestamps, Base):
    __tablename__ = "contact_addresses"

    id: Mapped[str] = id_column()
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(254))
    label: Mapped[str | None] = mapped_column(String(40), default=None)

    contact: Mapped[Contact] = relationship(back_populates="addresses")

    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)


class ContactMerge(TenantScoped, Base):
    """One merge, with enough of a snapshot to undo it."""

    __tablename__ = "contact_merges"

    id: Mapped[str] = id_column()
    winner_id: Mapped[str] = mapped_column(String(40), index=True)
    loser_id: Mapped[str] = mapped_column(String(40), index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    performed_by: Mapped[str] = mapped_column(String(80))
    performed_at: Mapped[datetime]
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
