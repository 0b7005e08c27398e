"""API schemas for tenants."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    name: str
    timezone: str
    locale: str
    country: str | None
    receptionist_mode: str
    reopen_window_hours: int
    created_at: datetime
    updated_at: datetime


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    locale: Literal["es", "en"] | None = None
    receptionist_mode: Literal["ai_first", "staff_first", "after_hours_only"] | None = None
    reopen_window_hours: int | None = Field(default=None, ge=0, le=24 * 90)
