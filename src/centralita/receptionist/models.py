"""What the receptionist keeps: the dialogue state per conversation, and hand-offs to people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.core.clock import utcnow
from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class DialogueRecord(TenantScoped, Timestamps, Base):
    """The policy's state for one conversation, and the messages it has already answered."""

    __tablename__ = "dialogue_states"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the last inbound message ids answered (a redelivered event is answered once)
    answered: Mapped[list[str]] = mapped_column(default=list)
    last_turn_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)


class Handoff(TenantScoped, Timestamps, Base):
    """A conversation the receptionist passed to people: waits in a queue for an agent.

    Until the ACD routes it, agents see open hand-offs in the API (``/api/v1/handoffs``).
    """

    __tablename__ = "handoffs"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None)
    queue_key: Mapped[str | None] = mapped_column(String(63), default=None)
    staff_key: Mapped[str | None] = mapped_column(String(63), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(12), default="normal")
    summary: Mapped[str] = mapped_column(Text, default="")
    intake: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting | taken | closed
    taken_by: Mapped[str | None] = mapped_column(String(40), default=None)
    taken_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
