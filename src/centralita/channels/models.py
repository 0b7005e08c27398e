"""Channel accounts: one configured endpoint (a number, a WhatsApp id, a mailbox, a widget)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
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


_BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER


class InboxRequest(TenantScoped, Base):
    """A verified provider webhook stored as received, waiting to be processed
    (``ingest_mode = "inbox"``, channels/inbox.py).

    The webhook answers 2xx once this row commits; a worker then parses it again and stores
    its messages and statuses in the same transaction that deletes the row. Rows with one
    ``order_key`` (an account and a customer's address) are processed in ``id`` order. A row
    that keeps failing is kept as ``dead`` with its error, never dropped.
    """

    __tablename__ = "inbox_requests"

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    channel_account_id: Mapped[str] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE")
    )
    order_key: Mapped[str] = mapped_column(String(400))
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_inbox_requests_due", "state", "next_attempt_at", "id"),
        Index("ix_inbox_requests_order", "order_key", "state", "id"),
    )
