"""Events of the webhooks domain (internal only: none of them is in the public catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class WebhookCreated(Event):
    name: ClassVar[str] = "webhook.created"
    webhook_id: str
    events: list[str]


@dataclass(frozen=True, kw_only=True)
class WebhookUpdated(Event):
    name: ClassVar[str] = "webhook.updated"
    webhook_id: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class WebhookDeleted(Event):
    name: ClassVar[str] = "webhook.deleted"
    webhook_id: str


@dataclass(frozen=True, kw_only=True)
class WebhookSecretRotated(Event):
    """A new secret signs from now on; the old one also signs until ``previous_expires_at``."""

    name: ClassVar[str] = "webhook.secret_rotated"
    webhook_id: str
    previous_expires_at: str | None


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryReplayed(Event):
    name: ClassVar[str] = "webhook.delivery_replayed"
    webhook_id: str
    delivery_id: str
    event_id: str


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryDied(Event):
    """A delivery was given up after its last retry: the receiver never took it."""

    name: ClassVar[str] = "webhook.delivery_died"
    webhook_id: str
    delivery_id: str
    event_id: str
    attempts: int
    last_error: str | None
