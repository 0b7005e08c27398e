"""Simulator wire format: JSON signed with HMAC-SHA256 of the raw body.

Request body::

    {"id": "sim-…", "channel": "whatsapp", "from": {"kind": "whatsapp", "value": "34600…"},
     "name": "Ana", "text": "Hola", "timestamp": "2026-11-21T10:00:00Z"}

Header ``X-Simulator-Signature: sha256=<hex>``. The account secret is the HMAC key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections import defaultdict
from datetime import datetime
from typing import Any

from centralita.channels.base import (
    SENDER_ADDRESS_KIND,
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

SIGNATURE_HEADER = "x-simulator-signature"
MAX_TEXT = 4096


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise MalformedRequest(f"{name}: required {kind.__name__}")
    return value


class SimulatorAdapter:
    provider = "simulator"
    capabilities = Capabilities(buttons=True, media=False, max_text_length=MAX_TEXT)

    def __init__(self) -> None:
        # What the simulated customer's device received, per (account, address).
        self.delivered: dict[tuple[str, str], list[OutboundMessage]] = defaultdict(list)

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not account.secret or not hmac.compare_digest(given, sign(account.secret, request.body)):
            raise SignatureError("bad or missing X-Simulator-Signature")

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedRequest(f"body: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise MalformedRequest("body: expected a JSON object")
        msg_id = _field(data, "id", str)
        if not 1 <= len(msg_id) <= 200:
            raise MalformedRequest("id: 1-200 characters")
        try:
            channel = ChannelKind(_field(data, "channel", str))
        except ValueError as exc:
            raise MalformedRequest("channel: one of " + ", ".join(ChannelKind)) from exc
        sender = _field(data, "from", dict)
        kind = sender.get("kind") or SENDER_ADDRESS_KIND[channel]
        value = sender.get("value")
        if not isinstance(kind, str) or not isinstance(value, str) or not value:
            raise MalformedRequest("from.value: required string")
        text = _field(data, "text", str)
        if len(text) > MAX_TEXT:
            raise MalformedRequest(f"text: at most {MAX_TEXT} characters")
        received_at = None
        if isinstance(data.get("timestamp"), str):
            try:
                received_at = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise MalformedRequest("timestamp: not ISO 8601") from exc
        name = data.get("name") if isinstance(data.get("name"), str) else None
        return ParsedRequest(
            messages=(
                InboundMessage(
                    channel=channel,
                    provider_message_id=msg_id,
                    sender=Address(kind, value),
                    text=text,
                    received_at=received_at,
                    sender_name=name,
                    recipient=account.address,
                ),
            )
        )

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        ids = [m.provider_message_id for m in parsed.messages]
        return HttpOutbound(200, json.dumps({"accepted": ids}).encode())

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        self.delivered[(account.id, message.to.value)].append(message)
        return SendResult(provider_message_id="simout-" + os.urandom(8).hex(), status="delivered")
