"""Channel accounts: one configured endpoint (a number, a WhatsApp id, a mailbox, a widget)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class ChannelAccount(TenantScoped, Timestamps, Base):
    __tablename__ = "channel_accounts"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(100))  # unique per tenant; the YAML key
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(254))
    # Verifying provider signatures needs the secret itself, so it cannot be hashed.
    secret: Mapped[str] = mapped_column(String(255), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
