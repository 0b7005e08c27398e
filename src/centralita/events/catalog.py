"""The public event catalog: which internal events integrators see, under what name and shape.

Internal events (``*/events.py``) may change freely; the names, versions and payload fields
declared here are a contract (docs/webhooks.md). A public event is built from the internal
event's payload by picking the declared fields, renaming some, and nothing else: a field that
is not declared never leaves the system. Changing a field's meaning or removing one needs a new
version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "string[]"]

_JSON_TYPES: dict[FieldType, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "string[]": {"type": "array", "items": {"type": "string"}},
}


@dataclass(frozen=True)
class PublicField:
    """One payload field; ``source`` names the internal field when it differs."""

    name: str
    type: FieldType
    description: str
    nullable: bool = False
    source: str | None = None

    @property
    def internal(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class PublicEvent:
    name: str
    version: int
    description: str
    source: str  # the internal event name it is built from
    fields: tuple[PublicField, ...]
    # Some internal events only partly concern integrators (an internal note is not a message
    # sent to the customer): this decides from the internal payload.
    when: Callable[[Mapping[str, Any]], bool] | None = None

    def build(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The public ``data`` object: declared fields only, missing optional ones as null."""
        return {f.name: payload.get(f.internal) for f in self.fields}

    def json_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for f in self.fields:
            schema = dict(_JSON_TYPES[f.type])
            if f.nullable:
                schema = {"anyOf": [schema, {"type": "null"}]}
            properties[f.name] = {**schema, "description": f.description}
        return {
            "title": f"{self.name} v{self.version}",
            "description": self.description,
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields],
            "additionalProperties": False,
        }


def _f(
    name: str, type_: FieldType, description: str, *, nullable: bool = False, source: str = ""
) -> PublicField:
    return PublicField(name, type_, description, nullable, source or None)


_CONVERSATION = _f("conversation_id", "string", "The conversation (a customer's thread).")
_CONTACT = _f("contact_id", "string", "The contact (the customer).")
_CHANNEL = _f("channel", "string", "sms, whatsapp, voice, email or webchat.")
_INTERACTION = _f("interaction_id", "string", "The channel session (a call, a chat).")
_APPOINTMENT = (
    _f("appointment_id", "string", "The appointment or callback."),
    _f("kind", "string", "appointment or callback."),
    _f("contact_id", "string", "Who it is for.", nullable=True),
    _f("staff_key", "string", "The staff member's key in the directory.", nullable=True),
    _f("service_key", "string", "The service booked.", nullable=True),
    _f("start", "datetime", "Start, ISO 8601 with offset."),
    _f("end", "datetime", "End, ISO 8601 with offset."),
)
_STAFF_MESSAGE = _f("staff_message_id", "string", "The message taken.", source="message_id")


def _outbound_to_customer(payload: Mapping[str, Any]) -> bool:
    return payload.get("direction") == "outbound"


def _reported_status(payload: Mapping[str, Any]) -> bool:
    return payload.get("status") in {"sent", "delivered", "read", "failed"}


CATALOG: tuple[PublicEvent, ...] = (
    PublicEvent(
        "conversation.created",
        1,
        "A customer started a new conversation.",
        "conversation.started",
        (_CONVERSATION, _CONTACT, _CHANNEL),
    ),
    PublicEvent(
        "conversation.reopened",
        1,
        "A closed conversation was reopened by the customer writing or calling again.",
        "conversation.reopened",
        (_CONVERSATION, _CONTACT, _CHANNEL),
    ),
    PublicEvent(
        "conversation.closed",
        1,
        "A conversation was closed.",
        "conversation.closed",
        (_CONVERSATION,),
    ),
    PublicEvent(
        "conversation.handoff_requested",
        1,
        "The virtual receptionist handed a conversation over to people.",
        "conversation.handoff_requested",
        (
            _CONVERSATION,
            _CHANNEL,
            _f("queue_key", "string", "The queue asked for.", nullable=True),
            _f("staff_key", "string", "The staff member asked for.", nullable=True),
            _f("urgency", "string", "low, normal, high or emergency."),
        ),
    ),
    PublicEvent(
        "message.received",
        1,
        "A customer's message arrived on any channel.",
        "message.received",
        (
            _f("message_id", "string", "The message."),
            _CONVERSATION,
            _INTERACTION,
            _CONTACT,
            _CHANNEL,
            _f("body", "string", "The text (a call's transcription, an email's text)."),
        ),
    ),
    PublicEvent(
        "message.sent",
        1,
        "A message to the customer was written and queued for delivery.",
        "message.queued",
        (
            _f("message_id", "string", "The message."),
            _CONVERSATION,
            _CHANNEL,
            _f("kind", "string", "The kind of message: text for plain text."),
        ),
        when=_outbound_to_customer,
    ),
    PublicEvent(
        "message.status_changed",
        1,
        "The channel reported progress of a message to the customer.",
        "message.status_changed",
        (
            _f("message_id", "string", "The message."),
            _f("conversation_id", "string", "Its conversation.", nullable=True),
            _f("status", "string", "sent, delivered, read or failed."),
        ),
        when=_reported_status,
    ),
    PublicEvent(
        "interaction.started",
        1,
        "A channel session began (a call rang, a chat opened).",
        "interaction.started",
        (_INTERACTION, _CONVERSATION, _CHANNEL),
    ),
    PublicEvent(
        "interaction.closed",
        1,
        "A channel session ended: how, and how long it lasted.",
        "interaction.ended",
        (
            _INTERACTION,
            _CONVERSATION,
            _f("ended_at", "datetime", "When it ended."),
            _f("disposition", "string", "How it ended (wrap-up code).", nullable=True),
            _f("duration_seconds", "integer", "Length by the provider's count.", nullable=True),
        ),
    ),
    PublicEvent(
        "routing.queued",
        1,
        "A conversation entered a queue to wait for an agent.",
        "routing.queued",
        (_CONVERSATION, _f("queue_id", "string", "The queue.")),
    ),
    PublicEvent(
        "routing.assigned",
        1,
        "A conversation was assigned to an agent.",
        "routing.assigned",
        (
            _CONVERSATION,
            _f("agent_id", "string", "The agent (staff member id)."),
            _f("queue_id", "string", "The queue it came from."),
            _f("waited_seconds", "number", "Time spent waiting in the queue."),
            _f("callback", "boolean", "True when the agent is to call the customer back."),
        ),
    ),
    PublicEvent(
        "routing.released",
        1,
        "A conversation left routing (resolved, abandoned or closed).",
        "routing.released",
        (
            _CONVERSATION,
            _f("agent_id", "string", "The agent who had it.", nullable=True),
            _f("reason", "string", "Why it left."),
        ),
    ),
    PublicEvent(
        "appointment.booked",
        1,
        "An appointment or callback was booked.",
        "appointment.booked",
        (*_APPOINTMENT, _f("source", "string", "Who booked: receptionist, agent, api...")),
    ),
    PublicEvent(
        "appointment.rescheduled",
        1,
        "An appointment or callback moved to another time.",
        "appointment.rescheduled",
        (*_APPOINTMENT, _f("previous_start", "datetime", "The start it had before.")),
    ),
    PublicEvent(
        "appointment.cancelled",
        1,
        "An appointment or callback was cancelled.",
        "appointment.cancelled",
        (*_APPOINTMENT, _f("reason", "string", "Why, when given.", nullable=True)),
    ),
    PublicEvent(
        "appointment.confirmed",
        1,
        "The customer confirmed an appointment.",
        "appointment.confirmed",
        _APPOINTMENT,
    ),
    PublicEvent(
        "staff_message.taken",
        1,
        "The receptionist took a message for a staff member.",
        "staff_message.created",
        (
            _STAFF_MESSAGE,
            _CONVERSATION,
            _f("recipient_key", "string", "The staff member it is for.", nullable=True),
            _f("urgency", "string", "low, normal, high or emergency."),
        ),
    ),
    PublicEvent(
        "staff_message.acknowledged",
        1,
        "A staff member acknowledged a message taken for them.",
        "staff_message.acknowledged",
        (_STAFF_MESSAGE,),
    ),
    PublicEvent(
        "staff_message.escalated",
        1,
        "Nobody acknowledged a message in time; it went to the backup, if any.",
        "staff_message.escalated",
        (
            _STAFF_MESSAGE,
            _f("recipient_key", "string", "Who it was for.", nullable=True),
            _f("escalated_to_key", "string", "The backup it went to.", nullable=True),
        ),
    ),
    PublicEvent(
        "survey.answered",
        1,
        "A customer answered a satisfaction survey.",
        "survey.answered",
        (
            _f("survey_id", "string", "The survey."),
            _f("interaction_id", "string", "The session surveyed.", nullable=True),
            _CONVERSATION,
            _f("agent_id", "string", "Who handled it.", nullable=True),
            _f("kind", "string", "csat (1-5), nps (0-10) or ces (1-7)."),
            _f("score", "integer", "The answer."),
        ),
    ),
    PublicEvent(
        "contact.created",
        1,
        "A contact was created.",
        "contact.created",
        (_CONTACT, _f("source", "string", "How: inbound, api, import...")),
    ),
    PublicEvent(
        "contact.updated",
        1,
        "A contact's details changed; fetch the contact for the new values.",
        "contact.updated",
        (_CONTACT, _f("fields", "string[]", "The names of the fields that changed.")),
    ),
    PublicEvent(
        "contact.merged",
        1,
        "Two contacts were merged into one.",
        "contact.merged",
        (
            _f("merge_id", "string", "The merge (it can be undone)."),
            _f("winner_id", "string", "The contact that remains."),
            _f("loser_id", "string", "The contact merged into it."),
        ),
    ),
    PublicEvent(
        "contact.deleted",
        1,
        "A contact was deleted.",
        "contact.deleted",
        (_CONTACT,),
    ),
)

BY_NAME: dict[str, PublicEvent] = {e.name: e for e in CATALOG}
# One public event per internal one, so the public event id can be the internal event's id.
BY_SOURCE: dict[str, PublicEvent] = {e.source: e for e in CATALOG}
assert len(BY_NAME) == len(BY_SOURCE) == len(CATALOG), "catalog names and sources are unique"

PUBLIC_NAMES: frozenset[str] = frozenset(BY_NAME)
SOURCE_NAMES: frozenset[str] = frozenset(BY_SOURCE)
WILDCARD = "*"


@dataclass(frozen=True)
class PublicMessage:
    name: str
    version: int
    data: dict[str, Any]


def to_public(internal_name: str, payload: Mapping[str, Any]) -> PublicMessage | None:
    """The public event an internal one becomes; None for internal-only events."""
    event = BY_SOURCE.get(internal_name)
    if event is None or (event.when is not None and not event.when(payload)):
        return None
    return PublicMessage(event.name, event.version, event.build(payload))


def unknown_names(names: list[str]) -> list[str]:
    """Names that are neither catalog events nor the wildcard."""
    return [n for n in names if n != WILDCARD and n not in BY_NAME]


def matches(subscribed: list[str], name: str) -> bool:
    return WILDCARD in subscribed or name in subscribed
