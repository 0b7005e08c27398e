"""API schemas for contacts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AddressKindName = Literal["phone", "email", "whatsapp", "web"]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AddressKindName
    value: str = Field(min_length=1, max_length=254)
    label: str | None = Field(default=None, max_length=40)


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    value: str
    label: str | None


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    language: Literal["es", "en"] | None = None
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)
    value: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    consent: dict[str, bool] = Field(default_factory=dict)
    vip: bool = False


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None
    language: str | None
    addresses: list[AddressRead]
    attributes: dict[str, Any]
    tags: list[str]
    value: Decimal
    consent: dict[str, Any]
    vip: bool
    merged_into_id: str | None
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime
