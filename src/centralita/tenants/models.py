"""Tenant rows, and the directory, services, FAQ and queues its YAML file describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, JSONType, TenantScoped, Timestamps, id_column


class Tenant(Timestamps, Base):
    __tablename__ = "tenants"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    receptionist_mode: Mapped[str] = mapped_column(String(20), default="ai_first")
    reopen_window_hours: Mapped[int] = mapped_column(default=72)
    # The validated configuration-as-code document (hours, holidays, FAQ, ...), as applied.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disabled: Mapped[bool] = mapped_column(default=False)


# ---- configuration-as-code rows (see tenants/config) ---------------------------------------
# ``key`` is the stable name from the tenant's YAML file and ``position`` its order there.


class StaffMember(TenantScoped, Timestamps, Base):
    """A person in the directory: who callers ask for and where calls are transferred."""

    __tablename__ = "staff_members"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(63))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    role: Mapped[str | None] = mapped_column(String(200), default=None)  # job title
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)  # E.164
    sip: Mapped[str | None] = mapped_column(String(254), default=None)
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)  # skill -> proficiency 1-5
    hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    user_role: Mapped[str | None] = mapped_column(String(20), default=None)
    user_id: Mapped[str | None] = mapped_column(String(40), default=None)  # access.User
    # channel -> conversations at once; NULL: the routing reader's defaults (DEFAULT_CAPACITY)
    capacity: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class Service(TenantScoped, Timestamps, Base):
    """Something the business offers: what the receptionist can describe, price and book."""

    __tablename__ = "services"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(63))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[dict[str, Any]] = mapped_column()  # {"es": ..., "en": ...}
    description: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    duration_minutes: Mapped[int | None] = mapped_column(default=None)
    price_cents: Mapped[int | None] = mapped_column(default=None)  # in profile.currency
    price_from: Mapped[bool] = mapped_column(default=False)
    bookable: Mapped[bool] = mapped_column(default=True)
    staff_keys: Mapped[list[str]] = mapped_column(default=list)

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class FaqEntry(TenantScoped, Timestamps, Base):
    __tablename__ = "faq_entries"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(63))
    position: Mapped[int] = mapped_column(default=0)
    question: Mapped[dict[str, Any]] = mapped_column()  # {"es": ..., "en": ...}
    answer: Mapped[dict[str, Any]] = mapped_column()
    tags: Mapped[list[str]] = mapped_column(default=list)

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class Queue(TenantScoped, Timestamps, Base):
    """Where hand-offs wait for an agent with the right skills."""

    __tablename__ = "queues"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(63))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(default=0)  # higher is served first
    sla_seconds: Mapped[int] = mapped_column(default=30)
    sla_target: Mapped[float] = mapped_column(default=0.8)  # share answered within sla_seconds
    channels: Mapped[list[str]] = mapped_column(default=list)  # empty: every kind
    hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    callback: Mapped[bool] = mapped_column(default=False)
    overflow: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The ACD's settings (routing.model.QueueConfig); server defaults fill rows made before them.
    strategy: Mapped[str] = mapped_column(
        String(20), default="longest_idle", server_default="longest_idle"
    )
    offer_timeout_seconds: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    wrapup_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    aging_per_minute: Mapped[float] = mapped_column(default=0.0, server_default=text("0"))
    min_proficiency: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    max_missed_offers: Mapped[int] = mapped_column(default=3, server_default=text("3"))  # 0 never

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
