"""API schemas for surveys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SurveyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    interaction_id: str | None
    conversation_id: str
    contact_id: str
    agent_id: str | None
    queue_id: str | None
    channel: str
    kind: str
    status: str
    reason: str | None
    message_id: str | None
    language: str | None
    sent_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    score: int | None
    answer_text: str | None
    invalid_replies: int
