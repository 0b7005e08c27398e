"""The channel adapter seam. Providers see only these plain, frozen dataclasses.

The core asks what a channel *can* do (``Capabilities``), never which provider it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class ChannelKind(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    WEBCHAT = "webchat"


# The address kind a customer has on each channel.
SENDER_ADDRESS_KIND: Mapping[ChannelKind, str] = {
    ChannelKind.VOICE: "phone",
    ChannelKind.SMS: "phone",
    ChannelKind.WHATSAPP: "whatsapp",
    ChannelKind.EMAIL: "email",
    ChannelKind.WEBCHAT: "web",
}


@dataclass(frozen=True)
class Capabilities:
    voice: bool = False
    buttons: bool = False
    templates: bool = False
    media: bool = False
    max_text_length: int = 4096
    # The provider's default sending pace per account; an account's ``rate_per_second``
    # setting overrides it. None: no limit of our own.
    max_messages_per_second: float | None = None


@dataclass(frozen=True)
class AccountConfig:
    """What an adapter may know about its channel account: no ORM row crosses the seam."""

    id: str
    tenant_id: str
    kind: str  # a ChannelKind, or "multi" for accounts that carry several (the simulator)
    provider: str
    address: str
    secret: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpInbound:
    method: str
    url: str  # the public URL the provider called (rebuilt from the public base URL)
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpOutbound:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass(frozen=True)
class Address:
    kind: str  # phone | email | whatsapp | web
    value: str


@dataclass(frozen=True)
class Attachment:
    """A file that arrived inside the request (an email attachment). Ingest stores the bytes
    in the tenant's file store and keeps only their description in the message."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMessage:
    """One customer message, provider-neutral."""

    channel: ChannelKind
    provider_message_id: str
    sender: Address
    text: str
    received_at: datetime | None = None
    sender_name: str | None = None
    recipient: str | None = None
    kind: str = "text"  # text | media | event
    language: str | None = None
    thread_key: str | None = None  # e.g. an email References chain or a call id
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Email threading: the Message-IDs this message answers (In-Reply-To first, then
    # References, newest first) and its subject; other channels leave them empty.
    references: tuple[str, ...] = ()
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class DeliveryStatus:
    provider_message_id: str
    status: str  # queued | sent | delivered | read | failed
    error: str | None = None


@dataclass(frozen=True)
class Choice:
    """One answer the customer can pick: a reply button or a list row where the channel has
    them, a numbered line of text where it does not."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class TemplateRef:
    """A message template approved at the provider, with its body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    to: Address
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Only for channels whose capabilities have ``buttons`` / ``templates``; the core turns
    # choices into numbered lines (``text_with_choices``) for the others.
    choices: tuple[Choice, ...] = ()
    template: TemplateRef | None = None


def text_with_choices(text: str, choices: tuple[Choice, ...]) -> str:
    """The choices as numbered lines under the text, for channels without buttons."""
    if not choices:
        return text
    lines = [
        f"{n}. {c.title}" + (f" ({c.description})" if c.description else "")
        for n, c in enumerate(choices, start=1)
    ]
    return "\n".join([text, "", *lines]) if text else "\n".join(lines)


@dataclass(frozen=True)
class SendResult:
    """What the provider said. ``failed`` with an ``error`` is final; an adapter raises
    instead when the provider could not take the message now, so that it is retried."""

    provider_message_id: str
    status: str = "sent"
    error: str | None = None
    # What the provider was actually sent when it differs from what was asked, e.g. the
    # re-engagement template instead of free text; kept in the message's metadata.
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spoken:
    """What the receptionist says back on a channel whose reply is the webhook's own response
    (voice), in which language ("es" or "en"); ``notice`` is said first (the recording notice
    at call start); ``end_call`` hangs up after it."""

    texts: tuple[str, ...]
    language: str
    end_call: bool = False
    notice: tuple[str, ...] = ()
    # a person to connect the caller to after the words: an E.164 number or a SIP URI, and
    # the id the callee's whisper (the intake summary) is fetched by
    dial: str | None = None
    whisper_id: str | None = None
    # after the words, when nobody can be dialled: wait in this queue, or leave a voicemail
    enqueue: str | None = None
    voicemail: bool = False
    # while waiting in a queue: offer the callback choice, or leave the queue (callback taken)
    ask_callback: bool = False
    leave_queue: bool = False


@dataclass(frozen=True)
class CallEvent:
    """Something that happened to a call already under way, not the caller's words: a status
    change, the end of a wait in a queue or of a transfer, a recording, its transcription, a
    request for the queue's wait music. It updates the call's interaction and never starts a
    conversation. ``event_id`` is unique per account (redeliveries are applied once); ``None``
    for requests that store nothing (the wait music, a choice made while waiting)."""

    call_id: str
    kind: str  # status | queue_result | dialed | recording | transcription | queue_wait
    event_id: str | None
    caller: str | None = None
    # status: a call status (in-progress, completed, busy, no-answer, failed, canceled, ...);
    # queue_result: answered | abandoned | callback | failed | redirected;
    # dialed: answered | failed; transcription: completed | failed
    outcome: str | None = None
    at: datetime | None = None  # when it happened, if the provider said
    seconds: int | None = None  # call length, time in the queue, talk time, recording length
    turn: int = 0
    text: str = ""  # a transcription, or what the caller said while waiting
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedRequest:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[DeliveryStatus, ...] = ()


# A problem with a channel account's entry in the tenant file: the path below the entry
# (("settings", "account_sid")) and what is wrong. Each provider folder has a ``config.py``.
ConfigProblem = tuple[tuple[str, ...], str]


class TransientSendError(Exception):
    """The provider could not take an outbound message now (5xx, 429, network): the delivery
    counts the attempt and the outbox tries again later. A final refusal is a ``SendResult``
    with status ``failed`` instead."""


def json_object(body: bytes) -> dict[str, Any]:
    """A provider's JSON response body as a dict; anything else (HTML, empty, a list) as {}."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class FetchedMedia:
    """A customer's file fetched from the provider (``MediaSource.fetch_media``)."""

    data: bytes
    content_type: str
    filename: str | None = None


class MediaRefused(Exception):
    """The provider's file will not be stored (unsupported type, too large, gone, corrupt):
    final, and the reason is kept on the message. Anything else raised is retried."""


class SignatureError(Exception):
    """The request is not from the provider: answer 403 and store nothing."""


class MalformedRequest(Exception):
    """The request is from the provider but cannot be understood: answer 400."""


class ChannelAdapter(Protocol):
    """One provider's wire format. Adapters never touch the database or decide identity."""

    provider: str
    capabilities: Capabilities

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        """Raise ``SignatureError`` unless ``request`` is authentic for ``account``."""

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        """Turn the request into provider-neutral events; raise ``MalformedRequest``."""

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        """The response the provider expects once the request is durably stored."""

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        """Deliver one outbound message through the provider."""


@runtime_checkable
class SentLookup(Protocol):
    """An adapter that can ask its provider which messages it already took.

    After a crash between the provider's answer and our commit, a sender does not know whether
    a message went out. Where the provider lists what it sent, the retry asks first and sends
    only when nothing matches, so a customer gets the message once.
    """

    async def find_sent(
        self, message: OutboundMessage, account: AccountConfig, *, since: datetime
    ) -> list[str]:
        """Provider ids of messages to ``message.to`` with its text, created at ``since`` or
        later, newest first; raise ``TransientSendError`` if the provider cannot say now."""


class MediaSource(Protocol):
    """An adapter that can fetch the files customers send (``capabilities.media``)."""

    async def fetch_media(
        self, media: Mapping[str, Any], account: AccountConfig, *, max_bytes: int
    ) -> FetchedMedia:
        """Fetch the file a parsed message described in ``metadata["media"]``.

        Raise ``MediaRefused`` for a final refusal (unsupported type, more than
        ``max_bytes``, gone), ``TransientSendError`` when the provider may succeed later.
        """
