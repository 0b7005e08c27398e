"""Webhook subscriptions, one delivery per (subscription, event), and each attempt's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.core.clock import utcnow
from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class WebhookSubscription(TenantScoped, Timestamps, Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = id_column()
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(default=list)  # public names, or ["*"]
    enabled: Mapped[bool] = mapped_column(default=True)
    # Stored as is: signing needs the secret itself. Shown once, on creation and rotation.
    secret: Mapped[str] = mapped_column(String(100))
    # During a rotation the old secret signs too, until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookDelivery(TenantScoped, Base):
    """One public event for one subscription; retried until it succeeds or its deadline."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = id_column()
    subscription_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(40))  # the public id receivers dedupe on
    event_name: Mapped[str] = mapped_column(String(80))
    event_version: Mapped[int] = mapped_column(default=1)
    payload: Mapped[dict[str, Any]]  # the JSON body, as sent
    # pending (not tried yet) | failed (will retry) | succeeded | dead (given up)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)  # since creation or the last replay
    # when it is due; while an attempt runs, the end of its lease
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]  # no retries after this (three days; a replay restarts it)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    succeeded_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # a redelivered internal event makes no second delivery
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "tenant_id", "subscription_id", "id"),
    )


class WebhookAttempt(TenantScoped, Base):
    """The log of one HTTP attempt: what came back, or what went wrong, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = id_column()
    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    response_excerpt: Mapped[str | None] = mapped_column(String(500), default=None)
