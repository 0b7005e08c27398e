"""API shapes of the privacy endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Ground = Literal["request", "consent_withdrawn", "objection", "unlawful", "legal_obligation"]


class ErasureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ground: Ground = Field(default="request", description="GDPR art. 17(1): why it goes.")
    destroy_now: bool = Field(
        default=False,
        strict=True,
        description="Skip the blocking period: keep no sealed copy for legal claims.",
    )


class ErasureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    contact_id: str
    status: str
    ground: str
    requested_by: str
    blocked_at: datetime
    destroy_after: datetime
    destroyed_at: datetime | None
    sealed: bool = Field(description="A sealed copy is held for legal claims.")
    summary: dict[str, Any] = Field(description="Rows deleted or scrubbed, per kind.")

    @classmethod
    def of(cls, row: Any) -> ErasureRead:
        return cls.model_validate(
            {**{k: getattr(row, k) for k in cls.model_fields if k != "sealed"},
             "sealed": row.sealed_file is not None}
        )  # fmt: skip


class LedgerEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    channel: str
    action: str
    source: str
    keyword: str | None
    actor: str
    at: datetime


class ConsentRead(BaseModel):
    contact_id: str
    flags: dict[str, Any] = Field(description="What the contact agreed to receive.")
    channels: dict[str, Literal["opted_out", "not_opted_out"]] = Field(
        description="Per outbound channel, what the ledger says now."
    )
    ledger: list[LedgerEntry] = Field(description="Every opt-in and opt-out, oldest first.")
