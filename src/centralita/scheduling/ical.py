"""A staff member's appointments as an iCalendar feed (RFC 5545) that calendar apps subscribe to.

Pure: takes plain entries and returns bytes. The feed URL is a bearer secret that may leak
(shared screens, synced devices), so an event names the service and the caller's first name
only: never a phone number, an email address or free-text notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODID = "-//Centralita//Appointments//EN"
UID_DOMAIN = "centralita"

_DEFAULT_TITLE = {
    ("appointment", "es"): "Cita",
    ("appointment", "en"): "Appointment",
    ("callback", "es"): "Devolver llamada",
    ("callback", "en"): "Callback",
}


@dataclass(frozen=True)
class CalendarEntry:
    """One appointment as the feed shows it."""

    id: str
    kind: str  # appointment | callback
    status: str  # booked | cancelled | completed | no_show
    start: datetime  # aware
    end: datetime  # aware
    version: int
    last_modified: datetime  # aware
    confirmed: bool = False
    service_name: str | None = None  # in the tenant's language
    caller_name: str | None = None  # full name; only its first word is shown


def first_name(name: str | None) -> str | None:
    words = (name or "").split()
    return words[0] if words else None


def summary(entry: CalendarEntry, *, locale: str = "es") -> str:
    """``"Limpieza dental · María"``: what the event is and, if known, who it is for."""
    language = locale if locale in ("es", "en") else "en"
    title = entry.service_name or _DEFAULT_TITLE.get((entry.kind, language), entry.kind)
    if entry.service_name and entry.kind == "callback":
        title = f"{_DEFAULT_TITLE[('callback', language)]}: {title}"
    caller = first_name(entry.caller_name)
    return f"{title} · {caller}" if caller else title


def ical_status(entry: CalendarEntry) -> str:
    if entry.status == "cancelled":
        return "CANCELLED"
    if entry.status == "booked" and not entry.confirmed:
        return "TENTATIVE"
    return "CONFIRMED"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return value.astimezone(UTC)


def render_calendar(
    name: str, appointments: Iterable[CalendarEntry], *, timezone: str, locale: str = "es"
) -> bytes:
    """The whole feed: one VEVENT per entry, times in UTC, the tenant's zone as a hint.

    Callers pass cancelled entries for a while after the cancellation (the service keeps 30
    days) so that subscribed calendars see STATUS:CANCELLED and drop the event.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    for entry in sorted(appointments, key=lambda e: (e.start, e.id)):
        event = Event()
        event.add("uid", f"{entry.id}@{UID_DOMAIN}")
        # Without a METHOD, DTSTAMP is the last modification (RFC 5545 §3.8.7.2).
        event.add("dtstamp", _utc(entry.last_modified))
        event.add("last-modified", _utc(entry.last_modified))
        event.add("dtstart", _utc(entry.start))
        event.add("dtend", _utc(entry.end))
        event.add("summary", summary(entry, locale=locale))
        event.add("status", ical_status(entry))
        event.add("sequence", entry.version)
        event.add("transp", "TRANSPARENT" if entry.status == "cancelled" else "OPAQUE")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
