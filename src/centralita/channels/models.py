"""Channel accounts: one configured endpoint (a number, a WhatsApp id, a mailbox, a widget)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
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


class ImapMailboxState(TenantScoped, Base):
    """How far the IMAP poller has read one account's mailbox. UIDs only mean something
    within one UIDVALIDITY: when the server changes it, reading starts again from the top
    (what was stored already is recognised by its Message-ID)."""

    __tablename__ = "imap_mailbox_states"

    channel_account_id: Mapped[str] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(default=0)  # mails that could not be taken
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)  # one poller at a time
    polled_at: Mapped[datetime | None] = mapped_column(default=None)
