"""What the policy asks the shell to do. Plain frozen data; the runtime executes them in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from centralita.receptionist.nlu.result import Urgency


@dataclass(frozen=True)
class SlotQuery:
    """Free slots wanted: the shell answers with ``PolicyContext.slots`` and calls again."""

    kind: str = "appointment"  # appointment | callback
    service_key: str | None = None
    staff_key: str | None = None
    preferred: datetime | None = None
    window_end: datetime | None = None
    part_of_day: str | None = None
    exclude_appointment_id: str | None = None


@dataclass(frozen=True)
class NeedSlots:
    query: SlotQuery


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class Book:
    start: datetime
    end: datetime
    staff_key: str | None
    service_key: str | None
    kind: str = "appointment"


@dataclass(frozen=True)
class Reschedule:
    appointment_id: str
    start: datetime


@dataclass(frozen=True)
class CancelAppointment:
    appointment_id: str


@dataclass(frozen=True)
class ConfirmAppointment:
    appointment_id: str


@dataclass(frozen=True)
class TakeMessage:
    recipient_key: str | None
    reason: str
    urgency: Urgency
    summary: str


@dataclass(frozen=True)
class Handoff:
    queue_key: str | None
    staff_key: str | None
    reason: str
    urgency: Urgency
    summary: str


@dataclass(frozen=True)
class NotifyEmergency:
    """An urgent staff message to the tenant's emergency contacts, whatever the hour."""

    summary: str


@dataclass(frozen=True)
class MarkSpam:
    reason: str


@dataclass(frozen=True)
class Close:
    reason: str


Action = (
    NeedSlots
    | Reply
    | Book
    | Reschedule
    | CancelAppointment
    | ConfirmAppointment
    | TakeMessage
    | Handoff
    | NotifyEmergency
    | MarkSpam
    | Close
)
