"""Events emitted by the campaigns domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class CampaignCreated(Event):
    name: ClassVar[str] = "campaign.created"
    campaign_id: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class CampaignUpdated(Event):
    name: ClassVar[str] = "campaign.updated"
    campaign_id: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class CampaignStatusChanged(Event):
    """scheduled, running, paused, completed or cancelled."""

    name: ClassVar[str] = "campaign.status_changed"
    campaign_id: str
    status: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class CampaignRecipientsMaterialized(Event):
    name: ClassVar[str] = "campaign.recipients_materialized"
    campaign_id: str
    total: int
    pending: int
    skipped: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class CampaignMessageSent(Event):
    """A recipient's message was handed to delivery (``message.queued`` follows)."""

    name: ClassVar[str] = "campaign.message_sent"
    campaign_id: str
    recipient_id: str
    contact_id: str
    message_id: str
    attempt: int


@dataclass(frozen=True, kw_only=True)
class CampaignRecipientUpdated(Event):
    """A recipient was skipped, deferred, delivered, failed or put back for a retry."""

    name: ClassVar[str] = "campaign.recipient_updated"
    campaign_id: str
    recipient_id: str
    contact_id: str
    status: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class ContactOptedOut(Event):
    name: ClassVar[str] = "contact.opted_out"
    contact_id: str | None
    channel: str
    source: str
    keyword: str | None


@dataclass(frozen=True, kw_only=True)
class ContactOptedIn(Event):
    name: ClassVar[str] = "contact.opted_in"
    contact_id: str | None
    channel: str
    source: str
    keyword: str | None


@dataclass(frozen=True, kw_only=True)
class AppointmentReminderSent(Event):
    name: ClassVar[str] = "appointment.reminder_sent"
    appointment_id: str
    contact_id: str
    hours_before: int
    status: str
    message_id: str | None
