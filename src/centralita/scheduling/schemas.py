"""API schemas for appointments, callbacks, free slots and calendar feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Key = Annotated[
    str,
    Field(min_length=1, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"),
]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Kind = Literal["appointment", "callback"]
Status = Literal["booked", "cancelled", "completed", "no_show"]
PartOfDay = Literal["morning", "afternoon", "evening"]


class AppointmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "appointment"
    start: AwareDatetime = Field(
        description="Exactly a free slot's start (see /availability), with its offset.",
        examples=["2026-11-17T10:00:00+01:00"],
    )
    service_key: Key | None = Field(
        default=None, description="Default: the tenant's booking.default_service."
    )
    staff_key: Key | None = Field(
        default=None, description="Default: the first of the service's staff who is free."
    )
    contact_id: Id | None = None
    phone: str | None = Field(
        default=None,
        max_length=32,
        description="Number to call back (E.164 or national); default: the contact's phone.",
    )
    notes: str | None = Field(default=None, max_length=2000)


class AppointmentReschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(examples=["2026-11-18T10:00:00+01:00"])


class AppointmentCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class AppointmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str
    contact_id: str | None
    conversation_id: str | None
    staff_key: str | None
    service_key: str | None
    start_at: datetime
    end_at: datetime
    phone: str | None
    notes: str | None
    source: str
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    rescheduled_from: datetime | None = Field(description="The start before the last move.")
    version: int
    created_at: datetime
    updated_at: datetime


class SlotRead(BaseModel):
    start: datetime
    end: datetime
    staff_key: str | None = Field(description="Who is free then; null: no particular person.")


class AvailabilityRead(BaseModel):
    slots: list[SlotRead]


class CalendarFeedRead(BaseModel):
    id: str
    staff_key: str
    url: str = Field(description="Secret iCal URL, shown once; creating another revokes it.")
    created_at: datetime
