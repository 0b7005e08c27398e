"""API schemas for staff messages and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StaffMessageStatus = Literal["pending", "delivered", "acknowledged", "escalated", "failed"]


class StaffMessageDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    channel: Literal["email", "webhook", "in_app"]
    target: str = Field(
        description="The email address, the staff key (in_app) or the webhook's host only: "
        "a webhook URL is a secret."
    )
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    escalation: bool = Field(description="Sent to the backup because nobody acknowledged.")
    created_at: datetime


class StaffMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    contact_id: str | None
    recipient_key: str | None = Field(description="The staff key from the tenant's directory.")
    recipient_name: str | None
    caller_name: str | None
    caller_phone: str | None
    caller_email: str | None
    reason: str | None
    intent: str | None
    urgency: Literal["low", "normal", "high", "emergency"]
    summary: str
    language: str
    transcript_url: str | None
    status: StaffMessageStatus
    due_at: datetime = Field(description="Acknowledge before this, or the backup is told.")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_to_key: str | None
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StaffMessageDetail(StaffMessageRead):
    deliveries: list[StaffMessageDeliveryRead]
