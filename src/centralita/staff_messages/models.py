"""A message taken for a member of staff, and one row per channel it is delivered on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, Timestamps, id_column

URGENCIES = ("low", "normal", "high", "emergency")
STATUSES = ("pending", "delivered", "acknowledged", "escalated", "failed")
CHANNELS = ("email", "webhook", "in_app")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class StaffMessage(TenantScoped, Timestamps, Base):
    __tablename__ = "staff_messages"

    id: Mapped[str] = id_column()  # smsg_...
    # Plain ids, not foreign keys: conversations and contacts belong to other domains.
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    # None only when the tenant has nobody in its directory: the message is still kept.
    recipient_key: Mapped[str | None] = mapped_column(String(63), default=None)
    recipient_name: Mapped[str | None] = mapped_column(String(200), default=None)
    caller_name: Mapped[str | None] = mapped_column(String(200), default=None)
    caller_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    caller_email: Mapped[str | None] = mapped_column(String(254), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    intent: Mapped[str | None] = mapped_column(String(40), default=None)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    summary: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="es")
    transcript_url: Mapped[str | None] = mapped_column(String(500), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime]  # acknowledge before this, or the backup is told
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80), default=None)
    escalated_to_key: Mapped[str | None] = mapped_column(String(63), default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_staff_messages_tenant_recipient", "tenant_id", "recipient_key"),
        Index("ix_staff_messages_open", "escalated_at", "acknowledged_at", "due_at"),
        Index("ix_staff_messages_tenant_created", "tenant_id", "created_at"),  # KPIs
    )


class StaffMessageDelivery(TenantScoped, Timestamps, Base):
    """One channel of one message: sent once, retried with backoff while it fails."""

    __tablename__ = "staff_message_deliveries"

    id: Mapped[str] = id_column()  # smd_...
    message_id: Mapped[str] = mapped_column(
        ForeignKey("staff_messages.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))  # email address, webhook URL or staff key
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when an attempt starts (a lease: a crashed sender's claim expires) and after a
    # failure (the backoff); None means never tried.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    escalation: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_staff_message_deliveries_due", "status", "next_attempt_at"),)
