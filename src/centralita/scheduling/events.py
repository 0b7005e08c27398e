"""Events emitted by the scheduling domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class AppointmentEvent(Event):
    """What every appointment event says about the appointment; times are ISO in the payload."""

    appointment_id: str
    kind: str
    contact_id: str | None
    staff_key: str | None
    service_key: str | None
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(AppointmentEvent):
    name: ClassVar[str] = "appointment.booked"
    source: str


@dataclass(frozen=True, kw_only=True)
class AppointmentRescheduled(AppointmentEvent):
    name: ClassVar[str] = "appointment.rescheduled"
    previous_start: datetime
    actor: str


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(AppointmentEvent):
    name: ClassVar[str] = "appointment.cancelled"
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class AppointmentConfirmed(AppointmentEvent):
    name: ClassVar[str] = "appointment.confirmed"


@dataclass(frozen=True, kw_only=True)
class CalendarFeedCreated(Event):
    """A new feed URL was issued for a staff member; earlier ones stopped working."""

    name: ClassVar[str] = "calendar_feed.created"
    feed_id: str
    staff_key: str
