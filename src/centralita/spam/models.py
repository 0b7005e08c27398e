"""Agents' spam feedback, and the current spam verdict of each conversation."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centralita.db.base import Base, TenantScoped, Timestamps, id_column


class SpamFeedback(TenantScoped, Timestamps, Base):
    """An agent said a conversation was (not) spam. Append-only: the newest row per sender
    wins, and the texts are the examples the NLU compares new messages with."""

    __tablename__ = "spam_feedback"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # The sender in comparable form: an E.164 phone (WhatsApp ids too), an email, "web:<id>".
    address: Mapped[str | None] = mapped_column(String(254), default=None)
    text: Mapped[str] = mapped_column(Text, default="")  # inbound texts, at most TEXT_LIMIT
    is_spam: Mapped[bool]
    actor: Mapped[str] = mapped_column(String(80))

    __table_args__ = (Index("ix_spam_feedback_tenant_address", "tenant_id", "address"),)


class SpamVerdict(TenantScoped, Timestamps, Base):
    """The current verdict of one conversation; each new decision overwrites it."""

    __tablename__ = "spam_verdicts"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(8))  # spam | ham
    source: Mapped[str] = mapped_column(String(8))  # list | model | agent | caller
    score: Mapped[float] = mapped_column(default=0.0)
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
