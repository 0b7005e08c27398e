"""Drivers for the channel contract suite: each one speaks one adapter's wire format.

A driver knows how to build a signed inbound request for its provider (and a tampered or
malformed one), which address the customer gets, and how to see what the customer received
(through the provider stand-in). ``test_contract.py`` runs the same promises against each.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlencode

from centralita.channels.meta import signature as meta_signature
from centralita.channels.simulator.adapter import sign as simulator_sign
from centralita.channels.twilio import signature as twilio_signature
from centralita.tenants.config.schema import ChannelConfig
from tests.channels.fake_graph import fake_graph
from tests.channels.fake_twilio import fake_twilio

PUBLIC = "http://testserver"  # the test container's public_base_url
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, a Monday: open


@dataclass(frozen=True)
class Wire:
    """One HTTP request as the provider sends it to ``/hooks/{account_id}{suffix}``."""

    body: bytes
    headers: dict[str, str]
    suffix: str = ""  # a query string, for providers that put state in the URL


@dataclass
class Received:
    """What the customer's device got, as the provider stand-in saw it."""

    texts: list[str] = field(default_factory=list)


class Driver(Protocol):
    name: str
    channel: str  # the ChannelKind value stored on messages
    address_kind: str
    customer: str  # the customer's address as stored
    inline: bool  # the reply is the webhook's response (voice)
    public: str  # the public base URL the provider calls (Twilio signs it)

    def account(self, stand_in_url: str) -> ChannelConfig: ...

    def stand_in(self) -> Any: ...  # a context manager yielding an object with ``url``

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        """A signed request carrying one customer message; ``secret`` overrides the key."""

    def unsigned(self, wire: Wire) -> Wire: ...

    def malformed(self, account_id: str) -> Wire:
        """Correctly signed, but not a message the provider could have sent."""

    def received(self, stand_in: Any) -> list[str]: ...


@contextmanager
def _nothing() -> Iterator[Any]:
    class _None:
        url = ""

    yield _None()


class SimulatorDriver:
    name = "simulator"
    public = PUBLIC
    channel = "whatsapp"
    address_kind = "whatsapp"
    customer = "34611000001"
    inline = False
    secret = "simulator-contract-secret-0001"

    def __init__(self) -> None:
        self.adapter: Any = None

    def account(self, stand_in_url: str) -> ChannelConfig:
        return ChannelConfig(
            name="contract", kind="multi", provider="simulator", address="sim", secret=self.secret
        )

    def stand_in(self) -> Any:
        return _nothing()

    def _json(self, data: dict[str, Any], secret: str) -> Wire:
        body = json.dumps(data).encode()
        return Wire(
            body,
            {
                "Content-Type": "application/json",
                "X-Simulator-Signature": simulator_sign(secret, body),
            },
        )

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        data = {
            "id": msg_id,
            "channel": "whatsapp",
            "text": text,
            "from": {"kind": "whatsapp", "value": self.customer},
        }
        return self._json(data, secret or self.secret)

    def unsigned(self, wire: Wire) -> Wire:
        return Wire(wire.body, {"Content-Type": "application/json"}, wire.suffix)

    def malformed(self, account_id: str) -> Wire:
        return self._json({"id": "x", "channel": "fax", "text": "hola", "from": {}}, self.secret)

    def received(self, stand_in: Any) -> list[str]:
        sent = self.adapter.delivered  # the simulator is its own stand-in
        return [m.text for (_, to), msgs in sent.items() if to == self.customer for m in msgs]


class _TwilioBase:
    sid = "AC" + "fedcba9876543210" * 2
    token = "twilio-contract-token-00000001"
    customer = "+34611000002"
    address_kind = "phone"
    public = PUBLIC  # the benchmark points it at its server's public_base_url

    def stand_in(self) -> Any:
        return fake_twilio(self.sid, self.token)

    def _form(self, account_id: str, params: dict[str, str], secret: str, suffix: str) -> Wire:
        url = f"{self.public}/hooks/{account_id}{suffix}"
        sig = twilio_signature.compute(secret, url, {k: [v] for k, v in params.items()})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
        return Wire(urlencode(params).encode(), headers, suffix)

    def unsigned(self, wire: Wire) -> Wire:
        headers = {k: v for k, v in wire.headers.items() if k != "X-Twilio-Signature"}
        return Wire(wire.body, headers, wire.suffix)


class TwilioSmsDriver(_TwilioBase):
    name = "twilio-sms"
    channel = "sms"
    inline = False
    number = "+34910000091"

    def account(self, stand_in_url: str) -> ChannelConfig:
        return ChannelConfig(
            name="contract",
            kind="sms",
            provider="twilio",
            address=self.number,
            secret=self.token,
            settings={"account_sid": self.sid, "api_base_url": stand_in_url},
        )

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        sid = "SM" + hashlib.md5(msg_id.encode()).hexdigest()
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.sid,
            "From": self.customer,
            "To": self.number,
            "Body": text,
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
        return self._form(account_id, params, secret or self.token, "")

    def malformed(self, account_id: str) -> Wire:
        params = {"AccountSid": self.sid, "From": self.customer, "Body": "no MessageSid"}
        return self._form(account_id, params, self.token, "")

    def received(self, stand_in: Any) -> list[str]:
        return [m["Body"] for m in stand_in.sent if m.get("To") == self.customer]


class TwilioVoiceDriver(_TwilioBase):
    name = "twilio-voice"
    channel = "voice"
    inline = True
    number = "+34910000092"

    def account(self, stand_in_url: str) -> ChannelConfig:
        return ChannelConfig(
            name="contract",
            kind="voice",
            provider="twilio",
            address=self.number,
            secret=self.token,
            settings={"account_sid": self.sid, "voice_language": "es-ES"},
        )

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        # each message is the first words of its own call
        params = {
            "CallSid": "CA" + hashlib.md5(msg_id.encode()).hexdigest(),
            "AccountSid": self.sid,
            "From": self.customer,
            "To": self.number,
            "CallStatus": "in-progress",
            "SpeechResult": text,
            "Confidence": "0.9",
        }
        return self._form(account_id, params, secret or self.token, "?turn=1")

    def malformed(self, account_id: str) -> Wire:
        params = {"AccountSid": self.sid, "From": self.customer, "CallStatus": "in-progress"}
        return self._form(account_id, params, self.token, "")

    def received(self, stand_in: Any) -> list[str]:
        return []  # spoken in the webhook's TwiML, never sent through the REST API


class WhatsAppDriver:
    name = "meta-whatsapp"
    public = PUBLIC
    channel = "whatsapp"
    address_kind = "whatsapp"
    customer = "34611000003"
    inline = False
    number_id = "109876543210987"
    app_secret = "meta-contract-app-secret-0001"
    token = "contract-graph-token"
    token_env = "CONTRACT_WA_TOKEN"

    def account(self, stand_in_url: str) -> ChannelConfig:
        os.environ[self.token_env] = self.token
        return ChannelConfig(
            name="contract",
            kind="whatsapp",
            provider="meta",
            address=self.number_id,
            secret=self.app_secret,
            settings={
                "verify_token": "v",
                "access_token_env": self.token_env,
                "graph_api_url": stand_in_url,
                "graph_api_version": "v21.0",
            },
        )

    def stand_in(self) -> Any:
        return fake_graph(self.number_id, self.token)

    def _signed(self, payload: dict[str, Any], secret: str) -> Wire:
        body = json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return Wire(
            body, {"Content-Type": "application/json", meta_signature.HEADER: "sha256=" + digest}
        )

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        wamid = "wamid." + hashlib.sha256(msg_id.encode()).hexdigest()[:40]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34910000093", "phone_number_id": self.number_id},
            "contacts": [{"profile": {"name": "Contrato"}, "wa_id": self.customer}],
            "messages": [
                {
                    "from": self.customer,
                    "id": wamid,
                    "timestamp": str(int(NOW.timestamp())),
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
        }
        return self._signed(payload, secret or self.app_secret)

    def unsigned(self, wire: Wire) -> Wire:
        return Wire(wire.body, {"Content-Type": "application/json"}, wire.suffix)

    def malformed(self, account_id: str) -> Wire:
        return self._signed({"object": "page", "entry": []}, self.app_secret)

    def received(self, stand_in: Any) -> list[str]:
        return [
            m["text"]["body"]
            for m in stand_in.sent
            if m.get("to") == self.customer and m.get("type") == "text"
        ]


def raw_email(
    sender: str, to: str, subject: str, text: str, message_id: str | None = None
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(NOW)
    mail["Message-ID"] = message_id or make_msgid(domain="customer.example")
    mail.set_content(text)
    return bytes(mail)


def drivers() -> list[Driver]:
    """A fresh set per test: drivers keep per-test state (the simulator adapter)."""
    return [SimulatorDriver(), TwilioSmsDriver(), TwilioVoiceDriver(), WhatsAppDriver()]
