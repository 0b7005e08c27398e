"""API shapes of campaigns, recipients and the opt-out ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=1600)]
Channel = Literal["sms", "whatsapp", "email"]
Flag = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class WhatsAppTemplateRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    language: Annotated[str, StringConstraints(min_length=2, max_length=15)] = "es"
    parameters: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=list, description="Each may use the body's {variables}."
    )


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    channel: Channel = "sms"
    body: Body = Field(description="Text with {name}, {first_name}, {attributes.x} ...")
    segment: dict[str, Any] = Field(default_factory=dict, description="docs/campaigns.md")
    whatsapp_template: WhatsAppTemplateRef | None = None
    consent_flag: Flag = "marketing"
    start_at: AwareDatetime | None = None
    pace_per_minute: int = Field(default=60, ge=1, le=6000)
    max_attempts: int = Field(default=3, ge=1, le=10)


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    channel: Channel | None = None
    body: Body | None = None
    segment: dict[str, Any] | None = None
    whatsapp_template: WhatsAppTemplateRef | None = None
    consent_flag: Flag | None = None
    start_at: AwareDatetime | None = None
    pace_per_minute: int | None = Field(default=None, ge=1, le=6000)
    max_attempts: int | None = Field(default=None, ge=1, le=10)


class Progress(BaseModel):
    total: int = 0
    pending: int = 0
    deferred: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    done_ratio: float = 0.0


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    channel: str
    body: str
    segment: dict[str, Any]
    whatsapp_template: dict[str, Any] | None
    consent_flag: str
    status: str
    start_at: datetime | None
    pace_per_minute: int
    max_attempts: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    progress: Progress | None = None


class PreviewRead(BaseModel):
    matched: int
    eligible: int
    skipped: dict[str, int]
    missing_variable: int
    sample: list[dict[str, Any]]
    message: str | None = None


class RecipientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    contact_id: str
    status: str
    reason: str | None
    detail: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    message_id: str | None


class OptOutRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    contact_id: str | None
    address: str | None
    channel: str
    action: str
    source: str
    keyword: str | None
    actor: str
    at: datetime


class OptOutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["all", "sms", "whatsapp", "email"] = "all"
    # how the contact told us; "written" and "web_form" opt-ins also set marketing consent
    source: Literal["manual", "verbal", "written", "web_form", "import"] = "manual"
