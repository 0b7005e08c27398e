"""A survey sent after an interaction, and its answer (one row: a survey is answered once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, id_column


class Survey(TenantScoped, Base):
    __tablename__ = "surveys"

    id: Mapped[str] = id_column()
    interaction_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)
    contact_id: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40), default=None)  # who handled it
    queue_id: Mapped[str | None] = mapped_column(String(40), default=None)
    channel: Mapped[str] = mapped_column(String(20))  # where the question went
    kind: Mapped[str] = mapped_column(String(8))  # csat (1-5) | nps (0-10) | ces (1-7)
    # sent | answered | expired | skipped (could not be sent; ``reason`` says why)
    status: Mapped[str] = mapped_column(String(12), default="sent")
    message_id: Mapped[str | None] = mapped_column(String(40), default=None)  # the question
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    score: Mapped[int | None] = mapped_column(default=None)
    answer_text: Mapped[str | None] = mapped_column(Text, default=None)
    invalid_replies: Mapped[int] = mapped_column(default=0)
    language: Mapped[str | None] = mapped_column(String(8), default=None)  # of the question
    reason: Mapped[str | None] = mapped_column(String(200), default=None)  # why skipped

    __table_args__ = (
        Index("ix_surveys_pending", "tenant_id", "contact_id", "status"),
        Index("ix_surveys_answered", "tenant_id", "answered_at"),
        # one survey per interaction: a redelivered close event sends nothing more
        UniqueConstraint("tenant_id", "interaction_id", name="uq_surveys_interaction"),
    )
