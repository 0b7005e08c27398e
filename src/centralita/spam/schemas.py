"""API schemas for spam verdicts and agents' spam feedback."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class SpamMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spam: StrictBool = Field(description="true: spam; false: not spam (never again for them).")


class SpamVerdictRead(BaseModel):
    conversation_id: str
    verdict: str | None = Field(description="spam or ham; null before the first decision.")
    source: str | None = Field(description="list, model, caller (earlier feedback) or agent.")
    score: float | None
    reason: str | None
    updated_at: datetime | None


class SpamFeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    contact_id: str | None
    address: str | None
    text: str
    is_spam: bool
    actor: str
    created_at: datetime
