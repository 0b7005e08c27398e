"""API schemas for webhooks, their deliveries and the public event catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventNames = list[str]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="https URL to POST events to")
    events: EventNames = Field(
        min_length=1, max_length=100, description='Public event names, or ["*"] for all'
    )
    description: str = Field(default="", max_length=200)
    enabled: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: EventNames | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookIssued(WebhookRead):
    """Returned on creation and rotation only: the secret is never shown again."""

    secret: str


class SecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_hours: float = Field(
        default=24,
        ge=0,
        le=168,
        description="How long the old secret keeps signing too (0: stop at once)",
    )


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    subscription_id: str
    event_id: str
    event_name: str
    event_version: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    deadline: datetime
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    succeeded_at: datetime | None
    created_at: datetime


class WebhookAttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class WebhookDeliveryDetail(WebhookDeliveryRead):
    payload: dict[str, Any]
    attempt_log: list[WebhookAttemptRead]


DeliveryStatus = Literal["pending", "failed", "succeeded", "dead"]


class PublicEventRead(BaseModel):
    name: str
    version: int
    description: str
    payload_schema: dict[str, Any]
