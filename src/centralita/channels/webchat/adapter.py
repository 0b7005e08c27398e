"""Web chat wire format: JSON frames on a WebSocket, visitors identified by a signed token.

A visitor is a server-issued id (``wv_`` + random) carried in a token signed with the channel
account's secret. The MAC covers the tenant, the account and the visitor, so a token of one
widget is useless on another (of the same tenant or another one).

Client → server frames::

    {"type": "message", "id": "<client uuid>", "text": "Hola"}
    {"type": "resume", "after": "<last message id seen, or null>"}
    {"type": "typing"}

Server → client frames::

    {"type": "message", "id": "msg_…", "author": "bot|agent|contact", "text": "…", "at": "…"}
    {"type": "ack", "id": "<client uuid>", "message_id": "msg_…"}
    {"type": "error", "reason": "…"}

A message frame reaches the shared ingest pipeline as an ``HttpInbound`` whose body is the
frame and whose ``x-webchat-token`` header is the token, so ``verify`` is the same as for
every provider. Its provider message id is the visitor id and the client id: a frame resent
after a lost acknowledgement is stored once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from centralita.channels.base import (
    AccountConfig,
    Address,
    Capabilities,
    ChannelKind,
    HttpInbound,
    HttpOutbound,
    InboundMessage,
    MalformedRequest,
    OutboundMessage,
    ParsedRequest,
    SendResult,
    SignatureError,
)

PROVIDER = "webchat"
TOKEN_HEADER = "x-webchat-token"
VISITOR_PREFIX = "wv_"
MAX_TEXT = 4096
MAX_FRAME_BYTES = 20_000  # 4,096 characters of 4-byte UTF-8 plus the JSON around them
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VISITOR = re.compile(r"^wv_[A-Za-z0-9_-]{16,40}$")
_TOKEN_VERSION = "v1"


def new_visitor_id() -> str:
    return VISITOR_PREFIX + secrets.token_urlsafe(18)


def _mac(account: AccountConfig, visitor_id: str) -> str:
    message = f"webchat:{_TOKEN_VERSION}:{account.tenant_id}:{account.id}:{visitor_id}"
    digest = hmac.new(account.secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(account: AccountConfig, visitor_id: str) -> str:
    """The visitor's credential for this widget only; the browser keeps it."""
    if not account.secret:
        raise SignatureError("the widget has no secret yet")
    return f"{_TOKEN_VERSION}.{visitor_id}.{_mac(account, visitor_id)}"


def visitor_from_token(token: str, account: AccountConfig) -> str:
    """The visitor id a token proves, for this account; raise ``SignatureError`` otherwise."""
    version, _, rest = (token or "").partition(".")
    visitor_id, _, mac = rest.partition(".")
    if version != _TOKEN_VERSION or not _VISITOR.match(visitor_id) or not mac:
        raise SignatureError("missing or malformed visitor token")
    if not account.secret or not hmac.compare_digest(mac, _mac(account, visitor_id)):
        raise SignatureError("the visitor token is not valid for this widget")
    return visitor_id


# ---- frames -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageFrame:
    client_id: str
    text: str


@dataclass(frozen=True)
class ResumeFrame:
    after: str | None


@dataclass(frozen=True)
class TypingFrame:
    pass


Frame = MessageFrame | ResumeFrame | TypingFrame


def parse_frame(raw: str | bytes) -> Frame:
    """One client frame; ``MalformedRequest`` names what is wrong."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_FRAME_BYTES:
        raise MalformedRequest(f"frame: at most {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"frame: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MalformedRequest("frame: expected a JSON object")
    kind = data.get("type")
    if kind == "message":
        client_id = data.get("id")
        if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
            raise MalformedRequest("id: 1-64 letters, digits, _ or -")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise MalformedRequest("text: a non-empty string")
        if len(text) > MAX_TEXT:
            raise MalformedRequest(f"text: at most {MAX_TEXT} characters")
        return MessageFrame(client_id, text.strip())
    if kind == "resume":
        after = data.get("after")
        if after is not None and (not isinstance(after, str) or len(after) > 64):
            raise MalformedRequest("after: a message id or null")
        return ResumeFrame(after or None)
    if kind == "typing":
        return TypingFrame()
    raise MalformedRequest("type: one of message, resume, typing")


def provider_message_id(visitor_id: str, client_id: str) -> str:
    return f"{visitor_id}:{client_id}"


def visitor_of(provider_message_id: str | None) -> str | None:
    """Which visitor sent a stored inbound message (None for other channels' ids)."""
    visitor, sep, _ = (provider_message_id or "").partition(":")
    return visitor if sep and visitor.startswith(VISITOR_PREFIX) else None


def message_frame(
    *, message_id: str, author: str, text: str, at: datetime, client_id: str | None = None
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "message",
        "id": message_id,
        "author": author,
        "text": text,
        "at": at.isoformat(),
    }
    if client_id:
        frame["client_id"] = client_id
    return frame


def ack_frame(client_id: str, message_id: str | None) -> dict[str, Any]:
    return {"type": "ack", "id": client_id, "message_id": message_id}


def error_frame(reason: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "reason": reason}
    if client_id:
        frame["id"] = client_id
    return frame


# ---- the adapter ------------------------------------------------------------------------------


class WebChatAdapter:
    provider = PROVIDER
    capabilities = Capabilities(max_text_length=MAX_TEXT)

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        visitor_from_token(request.headers.get(TOKEN_HEADER, ""), account)

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        visitor_id = visitor_from_token(request.headers.get(TOKEN_HEADER, ""), account)
        frame = parse_frame(request.body)
        if not isinstance(frame, MessageFrame):
            raise MalformedRequest("type: only message frames are stored")
        return ParsedRequest(
            messages=(
                InboundMessage(
                    channel=ChannelKind.WEBCHAT,
                    provider_message_id=provider_message_id(visitor_id, frame.client_id),
                    sender=Address("web", visitor_id),
                    text=frame.text,
                    recipient=account.address,
                    metadata={"client_id": frame.client_id},
                ),
            )
        )

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        acks = [ack_frame(str(m.metadata.get("client_id", "")), None) for m in parsed.messages]
        return HttpOutbound(200, json.dumps(acks[0] if len(acks) == 1 else acks).encode())

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        """Nothing leaves here: the message stays in the database and the visitor's socket
        pushes it (and marks it delivered then), in whichever server process holds it."""
        return SendResult(provider_message_id="", status="sent")
