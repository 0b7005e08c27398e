"""WhatsApp Business Cloud API: the handshake, signed webhooks, replies, templates and media.

Account (tenant YAML ``channels``): ``provider: meta``, ``kind: whatsapp``, ``address`` the
``phone_number_id``, ``secret`` the app secret (it signs the webhooks), ``settings``:
``verify_token`` (the string you type in the app's webhook settings), ``access_token_env``
(the environment variable holding the system user's access token; it is read when a message
is sent, never stored), ``graph_api_url`` (default ``https://graph.facebook.com``) and
``graph_api_version`` (default ``v21.0``).

- ``GET`` with ``hub.mode=subscribe``, ``hub.verify_token`` and ``hub.challenge``: the
  challenge is echoed when the token matches, otherwise 403.
- ``POST`` with ``X-Hub-Signature-256``: ``entry[].changes[].value`` with ``messages`` (text,
  interactive button and list replies, template quick-reply buttons, media as metadata,
  reactions as events) and ``statuses`` (sent, delivered, read, failed with their errors).
- Outbound: ``POST {graph}/{version}/{phone_number_id}/messages`` with a bearer token: text,
  reply buttons (up to 3 choices), a list (4 to 10) or a template (``payloads``). Free text,
  buttons and lists only within 24 hours of the customer's last message (the customer-service
  window); outside it the account's ``reengagement_template`` is sent instead, or the message
  fails with that reason.
- Media: ``fetch_media`` reads ``GET /{media_id}`` and then the file itself (``media``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from centralita.channels.base import (
    AccountConfig,
    Address,
    Capabilities,
    ChannelKind,
    DeliveryStatus,
    FetchedMedia,
    HttpInbound,
    HttpOutbound,
    InboundMessage,
    MalformedRequest,
    OutboundMessage,
    ParsedRequest,
    SendResult,
    SignatureError,
    TransientSendError,
)
from centralita.channels.meta import media as meta_media
from centralita.channels.meta import payloads, signature
from centralita.channels.meta.graph import REENGAGEMENT, Graph

MAX_TEXT = payloads.MAX_TEXT
# Meta's default Cloud API throughput per business phone number.
MESSAGES_PER_SECOND = 80.0
_MEDIA = ("image", "audio", "video", "document", "sticker")
_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRequest(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedRequest(f"{where}: expected a list")
    return value


def _str(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRequest(f"{where}.{name}: required string")
    return value


def _when(data: dict[str, Any]) -> datetime | None:
    raw = data.get("timestamp")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC) if raw is not None else None
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedRequest("timestamp: not a Unix time") from exc


class WhatsAppCloudAdapter:
    provider = "meta"
    capabilities = Capabilities(
        buttons=True,
        templates=True,
        media=True,
        max_text_length=MAX_TEXT,
        max_messages_per_second=MESSAGES_PER_SECOND,
    )

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    # ---- the verification handshake --------------------------------------------------------

    def handshake(self, request: HttpInbound, account: AccountConfig) -> HttpOutbound:
        """Answer Meta's GET: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
        query = request.query
        expected = str(account.settings.get("verify_token") or "")
        if (
            query.get("hub.mode") != "subscribe"
            or not expected
            or query.get("hub.verify_token") != expected
        ):
            raise SignatureError("hub.verify_token does not match")
        challenge = query.get("hub.challenge", "")
        if not challenge or len(challenge) > 200:
            raise MalformedRequest("hub.challenge: required, at most 200 characters")
        return HttpOutbound(200, challenge.encode(), "text/plain")

    # ---- inbound ----------------------------------------------------------------------------

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        given = request.headers.get(signature.HEADER, "")
        if not signature.valid(account.secret, request.body, given):
            raise SignatureError("bad or missing X-Hub-Signature-256")

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        try:
            data = _dict(json.loads(request.body), "body")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedRequest(f"body: not JSON ({exc})") from exc
        if data.get("object") != "whatsapp_business_account":
            raise MalformedRequest("object: expected whatsapp_business_account")
        messages: list[InboundMessage] = []
        statuses: list[DeliveryStatus] = []
        for i, entry in enumerate(_list(data.get("entry"), "entry")):
            for j, change in enumerate(
                _list(_dict(entry, f"entry[{i}]").get("changes"), "changes")
            ):
                where = f"entry[{i}].changes[{j}].value"
                value = _dict(_dict(change, where).get("value"), where)
                meta = value.get("metadata")
                number_id = meta.get("phone_number_id") if isinstance(meta, dict) else None
                if number_id is not None and number_id != account.address:
                    raise MalformedRequest(f"{where}.metadata.phone_number_id: not this account's")
                names = {
                    c.get("wa_id"): (c.get("profile") or {}).get("name")
                    for c in _list(value.get("contacts"), f"{where}.contacts")
                    if isinstance(c, dict)
                }
                for k, raw in enumerate(_list(value.get("messages"), f"{where}.messages")):
                    messages.append(
                        self._message(_dict(raw, f"{where}.messages[{k}]"), names, account)
                    )
                for k, raw in enumerate(_list(value.get("statuses"), f"{where}.statuses")):
                    statuses.append(self._status(_dict(raw, f"{where}.statuses[{k}]")))
        return ParsedRequest(messages=tuple(messages), statuses=tuple(statuses))

    def _message(
        self, raw: dict[str, Any], names: dict[Any, Any], account: AccountConfig
    ) -> InboundMessage:
        wamid = _str(raw, "id", "message")
        sender = _str(raw, "from", "message")
        kind = raw.get("type")
        text, message_kind = "", "text"
        metadata: dict[str, Any] = {}
        if kind == "text":
            text = _str(_dict(raw.get("text"), "message.text"), "body", "message.text")
        elif kind == "interactive":
            reply = _dict(raw.get("interactive"), "message.interactive")
            chosen = reply.get("button_reply") or reply.get("list_reply")
            chosen = _dict(chosen, "message.interactive.button_reply")
            text = _str(chosen, "title", "message.interactive")
            metadata = {"reply_id": chosen.get("id"), "reply_type": reply.get("type")}
        elif kind == "button":  # a template's quick-reply button
            button = _dict(raw.get("button"), "message.button")
            text = _str(button, "text", "message.button")
            metadata = {"reply_id": button.get("payload"), "reply_type": "button"}
        elif kind in _MEDIA:
            media = _dict(raw.get(kind), f"message.{kind}")
            caption = media.get("caption")
            text = caption if isinstance(caption, str) else ""
            message_kind = "media" if not text else "text"
            metadata = {
                "media": [
                    {
                        "id": media.get("id"),
                        "type": kind,
                        "mime_type": media.get("mime_type"),
                        "sha256": media.get("sha256"),
                        "filename": media.get("filename"),
                    }
                ]
            }
        elif kind == "reaction":
            reaction = _dict(raw.get("reaction"), "message.reaction")
            text = str(reaction.get("emoji") or "")
            message_kind = "event"
            metadata = {"reaction_to": reaction.get("message_id"), "emoji": text}
        else:
            message_kind = "event"
            metadata = {"unsupported_type": str(kind)}
        return InboundMessage(
            channel=ChannelKind.WHATSAPP,
            provider_message_id=wamid,
            sender=Address("whatsapp", sender),
            text=text,
            received_at=_when(raw),
            sender_name=names.get(sender) if isinstance(names.get(sender), str) else None,
            recipient=account.address,
            kind=message_kind,
            metadata=metadata,
        )

    @staticmethod
    def _status(raw: dict[str, Any]) -> DeliveryStatus:
        wamid = _str(raw, "id", "status")
        status = _STATUSES.get(str(raw.get("status")))
        if status is None:
            raise MalformedRequest(f"status.status: unknown value {raw.get('status')!r}")
        error = None
        errors = raw.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            error = (
                f"WhatsApp error {first.get('code')}: {first.get('title') or first.get('message')}"
            )
            if first.get("code") == REENGAGEMENT:
                error = f"{payloads.WINDOW_REASON} (WhatsApp error {REENGAGEMENT})"
        return DeliveryStatus(wamid, status, error)

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        return HttpOutbound(200, b"", "text/plain")

    # ---- outbound ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        graph = Graph.for_account(account, self._transport)
        if not graph.token:
            name = account.settings.get("access_token_env") or "access_token_env"
            return SendResult("", "failed", error=f"no access token (set {name})")
        try:
            built = payloads.build(message, account.settings)
        except payloads.Refused as exc:
            return SendResult("", "failed", error=str(exc))
        result = await graph.post_message(account.address, built.payload)
        return replace(result, details=built.details) if built.details else result

    # ---- media ------------------------------------------------------------------------------

    async def fetch_media(
        self, media: Mapping[str, Any], account: AccountConfig, *, max_bytes: int
    ) -> FetchedMedia:
        graph = Graph.for_account(account, self._transport)
        if not graph.token:
            raise TransientSendError("no access token: set the account's access_token_env")
        return await meta_media.fetch(graph, media, max_bytes=max_bytes)
