"""Campaigns, their recipients, the opt-out ledger and the reminders already sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, Timestamps, id_column

STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled")
RECIPIENT_STATUSES = ("pending", "sent", "delivered", "failed", "skipped")
SKIP_REASONS = ("no_consent", "opted_out", "missing_variable", "no_address")


class Campaign(TenantScoped, Timestamps, Base):
    """One proactive send to a segment. Only ``campaigns.service`` writes these rows."""

    __tablename__ = "campaigns"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    # WhatsApp: {"name", "language", "parameters": ["{first_name}", ...]} for outside the window
    whatsapp_template: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent_flag: Mapped[str] = mapped_column(String(40), default="marketing")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    start_at: Mapped[datetime | None] = mapped_column(default=None)
    pace_per_minute: Mapped[int] = mapped_column(default=60)
    max_attempts: Mapped[int] = mapped_column(default=3)
    created_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # the latest progress snapshot ({status: n, "skipped.<reason>": n}); the tick refreshes it
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_campaigns_status", "status"),)


class CampaignRecipient(TenantScoped, Base):
    __tablename__ = "campaign_recipients"

    id: Mapped[str] = id_column()
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # skipped: why; pending: "quiet_hours" while deferred to next_attempt_at
    reason: Mapped[str | None] = mapped_column(String(40), default=None)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipients_due", "campaign_id", "status", "next_attempt_at"),
    )


class OptOut(TenantScoped, Base):
    """The append-only consent ledger: every opt-out and opt-in, newest wins per channel.

    ``channel`` is a channel kind or "all". A row names a contact, an address, or both (an
    address outlives a deleted or merged contact)."""

    __tablename__ = "opt_outs"

    id: Mapped[str] = id_column()
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    address: Mapped[str | None] = mapped_column(String(254), default=None, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="all")
    action: Mapped[str] = mapped_column(String(8))  # opt_out | opt_in
    source: Mapped[str] = mapped_column(String(16))  # keyword | manual
    keyword: Mapped[str | None] = mapped_column(String(60), default=None)
    message_id: Mapped[str | None] = mapped_column(String(40), default=None, unique=True)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    at: Mapped[datetime]


class ReminderSent(TenantScoped, Base):
    """One appointment reminder per appointment, start time and offset: sending is idempotent
    and a rescheduled appointment gets reminded of its new time."""

    __tablename__ = "appointment_reminders"

    id: Mapped[str] = id_column()
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime]
    hours_before: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # sent | skipped
    reason: Mapped[str | None] = mapped_column(String(40), default=None)
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    message_id: Mapped[str | None] = mapped_column(String(40), default=None)
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("appointment_id", "start_at", "hours_before"),)
