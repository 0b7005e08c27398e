"""Routing's tables: the per-tenant state row, its event log, and projections for people.

The engine's state is event-sourced per tenant. ``routing_states`` holds the number and id of
the tenant's last routing event (the row every routing transaction locks, so a tenant's
events are decided one at a time across processes) and now and then a snapshot of the state.
``routing_events`` is the log a process replays to catch up. The other tables are what the
desktop, the wallboard and KPIs read: open offers, assignments, presence and its log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from centralita.core.clock import utcnow
from centralita.db.base import Base, JSONType, TenantScoped, id_column

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")


class RoutingStateRow(Base):
    __tablename__ = "routing_states"

    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(_BIGINT, default=0)  # the last event applied
    last_event: Mapped[str] = mapped_column(String(40), default="")  # its id
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    snapshot_seq: Mapped[int] = mapped_column(_BIGINT, default=0)
    snapshot_event: Mapped[str] = mapped_column(String(40), default="")
    next_deadline: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingEventRow(Base):
    __tablename__ = "routing_events"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(_BIGINT)
    event_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[float] = mapped_column(Float)  # engine time: epoch seconds
    event: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)


class RoutingOffer(TenantScoped, Base):
    """An open offer, as the agent's inbox shows it. Deleted when it ends."""

    __tablename__ = "routing_offers"

    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(String(40))  # the conversation
    agent_id: Mapped[str] = mapped_column(String(40))  # the staff member
    queue_id: Mapped[str | None] = mapped_column(String(40), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    callback: Mapped[bool] = mapped_column(default=False)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tenant_id", "item_id", "agent_id"),
        Index("ix_routing_offers_agent", "tenant_id", "agent_id"),
    )


class RoutingAssignment(TenantScoped, Base):
    """Every assignment the engine decided, append-only: who got which conversation, when.

    Deliberately without a uniqueness constraint on the conversation, so that the race test
    can count double assignments instead of having the database hide them.
    """

    __tablename__ = "routing_assignments"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(40), index=True)
    agent_id: Mapped[str] = mapped_column(String(40))
    queue_id: Mapped[str | None] = mapped_column(String(40), default=None)
    seq: Mapped[int] = mapped_column(_BIGINT)  # the routing event that decided it
    waited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    callback: Mapped[bool] = mapped_column(default=False)
    predictive: Mapped[bool | None] = mapped_column(default=None)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_reason: Mapped[str | None] = mapped_column(String(30), default=None)
    disposition: Mapped[str | None] = mapped_column(String(40), default=None)  # wrap-up code


class AgentPresence(TenantScoped, Base):
    """An agent's current presence (the engine's view, projected for people)."""

    __tablename__ = "agent_presence"

    agent_id: Mapped[str] = mapped_column(String(40))
    presence: Mapped[str] = mapped_column(String(12), default="offline")
    since: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "agent_id"),)


class PresenceLogEntry(TenantScoped, Base):
    __tablename__ = "presence_log"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(40))
    presence: Mapped[str] = mapped_column(String(12))
    previous: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str | None] = mapped_column(String(40), default=None)

    __table_args__ = (
        Index("ix_presence_log_agent_at", "tenant_id", "agent_id", "at"),
        Index("ix_presence_log_tenant_at", "tenant_id", "at"),  # KPIs: occupancy
    )
