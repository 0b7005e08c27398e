"""Drivers for the channel contract suite: each one speaks one adapter's wire format.

A driver knows how to build a signed inbound request for its provider (and a tampered or
malformed one), which address the customer gets, and how to see what the customer received
(through the provider stand-in). ``test_contract.py`` runs the same promises against each.
"""

from __future__ import annotations

import email
import email.message
import hashlib
import hmac
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlencode

from aiosmtpd.controller import Controller

from centralita.bootstrap import Container
from centralita.channels.base import AccountConfig
from centralita.channels.email.adapter import sign as email_sign
from centralita.channels.meta import signature as meta_signature
from centralita.channels.simulator.adapter import sign as simulator_sign
from centralita.channels.twilio import signature as twilio_signature
from centralita.channels.webchat import adapter as webchat
from centralita.channels.webchat_service import open_widget, visible_lines
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

    def bind(self, account_id: str, tenant_id: str) -> None:
        """Told each account the test created (the web chat's tokens name the tenant)."""

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        """The texts the customer's device got."""


class _Unbound:
    def bind(self, account_id: str, tenant_id: str) -> None:
        return None


@contextmanager
def _nothing() -> Iterator[Any]:
    class _None:
        url = ""

    yield _None()


class SimulatorDriver(_Unbound):
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

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        sent = self.adapter.delivered  # the simulator is its own stand-in
        return [m.text for (_, to), msgs in sent.items() if to == self.customer for m in msgs]


class _TwilioBase(_Unbound):
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

    async def received(self, stand_in: Any, container: Container) -> list[str]:
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

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        return []  # spoken in the webhook's TwiML, never sent through the REST API


class WhatsAppDriver(_Unbound):
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

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        return [
            m["text"]["body"]
            for m in stand_in.sent
            if m.get("to") == self.customer and m.get("type") == "text"
        ]


class _SmtpStandIn:
    """A local SMTP server (aiosmtpd, in its own thread) that keeps every mail it is given."""

    def __init__(self) -> None:
        self.mails: list[email.message.Message] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     server_hostname="contract-smtp")  # fmt: skip

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_stand_in() -> Iterator[_SmtpStandIn]:
    stand_in = _SmtpStandIn()
    stand_in.controller.start()  # type: ignore[no-untyped-call]
    try:
        yield stand_in
    finally:
        stand_in.controller.stop()  # type: ignore[no-untyped-call]


class EmailDriver(_Unbound):
    """Raw MIME to the hook, as our SMTP receiver and IMAP poller (or a relay) hand it over,
    signed with the account's secret; replies go out by SMTP to a local server."""

    name = "email"
    public = PUBLIC
    channel = "email"
    address_kind = "email"
    customer = "cliente.contrato@correo.example"
    inline = False
    mailbox = "contrato@sonrisa.example"
    secret = "mail-contract-secret-00000001"

    def account(self, stand_in_url: str) -> ChannelConfig:
        port = int(stand_in_url.rsplit(":", 1)[1])
        return ChannelConfig(
            name="contract",
            kind="email",
            provider="smtp",
            address=self.mailbox,
            secret=self.secret,
            settings={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False},
        )

    def stand_in(self) -> Any:
        return smtp_stand_in()

    def _signed(self, raw: bytes, secret: str) -> Wire:
        headers = {
            "Content-Type": "message/rfc822",
            "X-Centralita-Signature": email_sign(secret, raw),
        }
        return Wire(raw, headers)

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        message_id = f"<{hashlib.sha256(msg_id.encode()).hexdigest()[:32]}@correo.example>"
        raw = raw_email(self.customer, self.mailbox, "Consulta", text, message_id)
        return self._signed(raw, secret or self.secret)

    def unsigned(self, wire: Wire) -> Wire:
        return Wire(wire.body, {"Content-Type": "message/rfc822"}, wire.suffix)

    def malformed(self, account_id: str) -> Wire:
        raw = b"To: " + self.mailbox.encode() + b"\r\nSubject: no sender\r\n\r\nHola\r\n"
        return self._signed(raw, self.secret)

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        texts = []
        for mail in stand_in.mails:
            if mail["To"] and self.customer in mail["To"]:
                payload = mail.get_payload(decode=True)
                texts.append(payload.decode(mail.get_content_charset() or "utf-8").strip())
        return texts


class WebChatDriver:
    """A widget's message frame, as its WebSocket hands it to ingest: the JSON frame with the
    visitor's signed token in ``X-Webchat-Token``. The visitor reads what their socket would
    push (the same query the socket runs)."""

    name = "webchat"
    public = PUBLIC
    channel = "webchat"
    address_kind = "web"
    inline = False
    secret = "webchat-contract-secret-00001"

    def __init__(self) -> None:
        self.customer = "wv_" + "contractvisitor0001"
        self.tenants: dict[str, str] = {}

    def bind(self, account_id: str, tenant_id: str) -> None:
        self.tenants[account_id] = tenant_id

    def account(self, stand_in_url: str) -> ChannelConfig:
        return ChannelConfig(
            name="contract", kind="webchat", provider="webchat", address="contrato.example",
            secret=self.secret, settings={"allowed_origins": ["https://contrato.example"]},
        )  # fmt: skip

    def stand_in(self) -> Any:
        return _nothing()

    def _config(self, account_id: str, secret: str) -> AccountConfig:
        tenant_id = self.tenants.get(account_id, "ten_unknown")
        return AccountConfig(
            account_id, tenant_id, "webchat", "webchat", "contrato.example", secret
        )

    def _frame(self, token: str, frame: dict[str, Any]) -> Wire:
        headers = {"Content-Type": "application/json", webchat.TOKEN_HEADER: token}
        return Wire(json.dumps(frame).encode(), headers)

    def inbound(self, account_id: str, msg_id: str, text: str, secret: str | None = None) -> Wire:
        token = webchat.issue_token(self._config(account_id, secret or self.secret), self.customer)
        client_id = hashlib.sha256(msg_id.encode()).hexdigest()[:32]
        return self._frame(token, {"type": "message", "id": client_id, "text": text})

    def unsigned(self, wire: Wire) -> Wire:
        return Wire(wire.body, {"Content-Type": "application/json"}, wire.suffix)

    def malformed(self, account_id: str) -> Wire:
        token = webchat.issue_token(self._config(account_id, self.secret), self.customer)
        return self._frame(token, {"type": "message", "id": "no spaces allowed", "text": ""})

    async def received(self, stand_in: Any, container: Container) -> list[str]:
        account_id = list(self.tenants)[-1]  # the suite binds the other tenant's first
        async with container.sessions() as session:
            widget = await open_widget(session, account_id=account_id, now=NOW)
            lines = await visible_lines(session, widget=widget, visitor_id=self.customer)
        return [line.text for line in lines if line.author != "contact"]


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
    return [
        SimulatorDriver(),
        TwilioSmsDriver(),
        TwilioVoiceDriver(),
        WhatsAppDriver(),
        EmailDriver(),
        WebChatDriver(),
    ]
