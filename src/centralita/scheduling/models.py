"""Appointments and callbacks, and the secret URLs of each staff member's calendar feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, Timestamps, id_column

KINDS = ("appointment", "callback")
STATUSES = ("booked", "cancelled", "completed", "no_show")
SOURCES = ("receptionist", "api", "agent")


class Appointment(TenantScoped, Timestamps, Base):
    """A booked time: with a staff member (or the business) for an appointment, or a callback.

    Only ``scheduling.service`` writes these rows. ``version`` grows with every change that
    calendars must notice (time, status); it is the iCal SEQUENCE.
    """

    __tablename__ = "appointments"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(16), default="appointment")
    status: Mapped[str] = mapped_column(String(16), default="booked")
    # Deleting a contact keeps the staff member's appointment but forgets who it was for.
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    staff_key: Mapped[str | None] = mapped_column(String(63), default=None)
    service_key: Mapped[str | None] = mapped_column(String(63), default=None)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    phone: Mapped[str | None] = mapped_column(String(32), default=None)  # E.164, callbacks
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(16), default="receptionist")
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    rescheduled_from: Mapped[datetime | None] = mapped_column(default=None)  # previous start
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        Index("ix_appointments_staff_start", "tenant_id", "staff_key", "start_at"),
        Index("ix_appointments_tenant_created", "tenant_id", "created_at"),  # KPIs
    )


class CalendarFeed(TenantScoped, Base):
    """One secret iCal URL for a staff member. Only the token's sha256 is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[str] = id_column()
    staff_key: Mapped[str] = mapped_column(String(63))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
