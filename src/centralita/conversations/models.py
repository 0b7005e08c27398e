"""A conversation is a customer's thread across channels; an interaction is one channel session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.core.clock import utcnow
from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class Conversation(TenantScoped, Timestamps, Base):
    __tablename__ = "conversations"

    id: Mapped[str] = id_column()
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | pending | closed
    owner_type: Mapped[str] = mapped_column(String(8), default="bot")  # bot | queue | agent
    owner_id: Mapped[str | None] = mapped_column(String(40), default=None)
    last_channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    subject: Mapped[str | None] = mapped_column(String(300), default=None)
    intake: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sentiment: Mapped[float | None] = mapped_column(default=None)
    tags: Mapped[list[str]] = mapped_column(default=list)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_conversations_contact_status", "tenant_id", "contact_id", "status"),
        # /metrics: conversations waiting in a queue or owned by an agent, every tenant.
        Index("ix_conversations_owner", "owner_type", "status"),
    )


class Interaction(TenantScoped, Base):
    """One channel session: the record KPIs are computed from. Append-only once closed."""

    __tablename__ = "interactions"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_account_id: Mapped[str | None] = mapped_column(String(40), default=None)
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    queue_id: Mapped[str | None] = mapped_column(String(40), default=None)
    agent_id: Mapped[str | None] = mapped_column(String(40), default=None)
    disposition: Mapped[str | None] = mapped_column(String(60), default=None)
    arrived_at: Mapped[datetime]
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    offered_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    abandoned_at: Mapped[datetime | None] = mapped_column(default=None)
    wrapup_started_at: Mapped[datetime | None] = mapped_column(default=None)
    wrapup_ended_at: Mapped[datetime | None] = mapped_column(default=None)
    hold_seconds: Mapped[float] = mapped_column(default=0.0)
    handled_by_bot: Mapped[bool] = mapped_column(default=True)
    provider_session_id: Mapped[str | None] = mapped_column(String(128), default=None)

    # KPI reports and today's dashboard read a tenant's interactions by arrival.
    __table_args__ = (Index("ix_interactions_tenant_arrived", "tenant_id", "arrived_at"),)


class Message(TenantScoped, Base):
    __tablename__ = "messages"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    interaction_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_account_id: Mapped[str | None] = mapped_column(String(40), default=None)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound | internal
    kind: Mapped[str] = mapped_column(String(12), default="text")  # text | media | note | event
    author_type: Mapped[str] = mapped_column(
        String(10), default="contact"
    )  # contact|bot|agent|system
    author_id: Mapped[str | None] = mapped_column(String(40), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    sentiment: Mapped[float | None] = mapped_column(default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    delivery_status: Mapped[str] = mapped_column(String(12), default="received")
    delivery_error: Mapped[str | None] = mapped_column(Text, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # When the receptionist answered this inbound message: a redelivered event, however
    # late, finds it set and is not answered twice (receptionist.runtime.take_turn).
    turn_taken_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # Provider redeliveries are stored once. NULL ids (notes, outbound) never collide.
        UniqueConstraint("channel_account_id", "provider_message_id"),
    )
