"""Twilio-compatible SMS: inbound webhook, outbound Messages REST API, status callbacks.

``TwilioAdapter`` serves the provider's voice accounts too, through ``voice.py``.

Account (tenant YAML ``channels``): ``provider: twilio``, ``kind: sms``, ``address`` our number
in E.164, ``secret`` the auth token (it signs the webhooks and authenticates API calls), and
``settings.account_sid`` (``AC…``, or the UUID SignalWire and Telnyx use);
``settings.api_base_url`` points the REST calls elsewhere (a regional edge, SignalWire's
``https://<space>.signalwire.com/api/laml``, or the local stand-in the tests use).
``settings.api_token_env`` names the environment variable holding the REST API token when it
is not the secret (SignalWire signs webhooks with the signing key, and its API takes the API
token). ``settings.signature`` says who signs the webhooks: ``twilio`` (the default; also
SignalWire,
``X-Twilio-Signature`` or ``X-SignalWire-Signature``, keyed with the secret) or ``telnyx``
(TeXML voice: Ed25519, checked with ``settings.telnyx_public_key``, ``telnyx.py``).

Point the number's "A message comes in" webhook and nothing else at
``{public_base_url}/hooks/{account_id}``: outbound messages ask for their status callbacks at
the same URL.

On a voice account the same REST credentials move a live call elsewhere (``redirect_call``:
Twilio's "update a call" request), which is how a caller waiting in a queue is connected to
the agent the ACD assigned.

Inbound (form-encoded POST): ``MessageSid``, ``From``, ``To``, ``Body``, ``NumMedia`` and
``MediaUrl{n}``/``MediaContentType{n}``. A status callback carries ``MessageStatus`` instead
of a body worth storing. We answer an empty TwiML ``<Response/>``: the receptionist's reply
goes out through the REST API like any other outbound message, after the inbound message is
stored.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

from centralita.channels.base import (
    AccountConfig,
    Address,
    CallEvent,
    Capabilities,
    ChannelKind,
    DeliveryStatus,
    HttpInbound,
    HttpOutbound,
    InboundMessage,
    MalformedRequest,
    OutboundMessage,
    ParsedRequest,
    SendResult,
    SignatureError,
    Spoken,
    TransientSendError,
    json_object,
)
from centralita.channels.twilio import calls, signature, telnyx, voice
from centralita.core.clock import utcnow
from centralita.core.errors import Conflict

DEFAULT_API_BASE = "https://api.twilio.com"
MAX_BODY = 1600  # Twilio's limit for one message's Body
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SEND_TIMEOUT_SECONDS = 15.0
# Clocks differ: a message Twilio dated this much before our attempt began still counts.
LOOKUP_SKEW = timedelta(seconds=5)

# Twilio's MessageStatus values, mapped to ours. "receiving"/"received" are inbound states.
_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _check_account(form: dict[str, list[str]], account: AccountConfig) -> None:
    """A request that names an account (``AccountSid``) must name this one. SIDs and UUIDs
    are compared without regard to case: a UUID may be pasted in capitals."""
    expected = str(account.settings.get("account_sid") or "")
    given = _one(form, "AccountSid")
    if expected and given is not None and given.lower() != expected.lower():
        raise MalformedRequest("AccountSid: not this account's")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every send: httpx builds a new one per client otherwise, loading the
    CA bundle each time (about 20 ms of CPU per message)."""
    return httpx.create_ssl_context()


CALL_NOT_IN_PROGRESS = 21220  # Twilio's error when a call to update has ended


class CallNotRedirected(Conflict):
    """Twilio refused to move the call (a 4xx), or we could not ask (no credentials). Final:
    retrying cannot help. ``gone`` when the call has ended or never existed (a 404, error
    21220 "Call is not in-progress"), as opposed to a refusal of the request itself."""

    def __init__(self, detail: str, *, status: int, code: object = None) -> None:
        super().__init__(detail)
        self.http_status = status
        self.code = code

    @property
    def gone(self) -> bool:
        return self.http_status == 404 or self.code == CALL_NOT_IN_PROGRESS


def api_token(account: AccountConfig) -> str:
    """The REST API's password: the variable ``api_token_env`` names, else the secret."""
    name = str(account.settings.get("api_token_env") or "")
    return os.environ.get(name, "") if name else account.secret


class TwilioAdapter:
    """SMS accounts (this module) and voice accounts (``voice.py``), by the account's kind."""

    provider = "twilio"
    capabilities = Capabilities(media=True, max_text_length=MAX_BODY)

    def __init__(
        self,
        *,
        public_base_url: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._public_base_url = public_base_url.rstrip("/")
        self._transport = transport
        self._clock = clock  # Telnyx's timestamps are checked against it

    # ---- inbound ----------------------------------------------------------------------------

    def _form(self, request: HttpInbound) -> dict[str, list[str]]:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRequest("body: not UTF-8") from exc
        return parse_qs(text, keep_blank_values=True)

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        scheme = account.settings.get("signature") or "twilio"
        if scheme == "telnyx":
            self._verify_telnyx(request, account)
            return
        if scheme != "twilio":  # the tenant file's check prevents it; refuse rather than guess
            raise SignatureError(f"unknown signature scheme {scheme!r}")
        try:
            form = self._form(request)
        except MalformedRequest:
            form = {}
        if not signature.valid_headers(
            account.secret, url=request.url, params=form, body=request.body,
            headers=request.headers,
        ):  # fmt: skip
            raise SignatureError("bad or missing X-Twilio-Signature / X-SignalWire-Signature")

    def _verify_telnyx(self, request: HttpInbound, account: AccountConfig) -> None:
        if not telnyx.valid(
            str(account.settings.get("telnyx_public_key") or ""),
            body=request.body,
            signature=request.headers.get(telnyx.SIGNATURE_HEADER, ""),
            timestamp=request.headers.get(telnyx.TIMESTAMP_HEADER, ""),
            now=self._clock(),
        ):
            raise SignatureError("bad, missing or stale telnyx-signature-ed25519")

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        form = self._form(request)
        _check_account(form, account)
        if account.kind == ChannelKind.VOICE:
            return voice.parse_voice(form, dict(request.query), account)
        sid = _one(form, "MessageSid") or _one(form, "SmsSid")
        if not sid or len(sid) > 64:
            raise MalformedRequest("MessageSid: required, at most 64 characters")
        status = _one(form, "MessageStatus") or _one(form, "SmsStatus")
        if status and status not in ("received", "receiving"):
            mapped = _STATUSES.get(status)
            if mapped is None:
                raise MalformedRequest(f"MessageStatus: unknown value {status!r}")
            code = _one(form, "ErrorCode")
            error = f"Twilio error {code}" if code else None
            if mapped == "failed" and error is None:
                error = f"Twilio status {status}"
            return ParsedRequest(statuses=(DeliveryStatus(sid, mapped, error),))
        sender = _one(form, "From")
        if not sender:
            raise MalformedRequest("From: required")
        body = _one(form, "Body") or ""
        media = self._media(form)
        if not body.strip() and not media:
            raise MalformedRequest("Body: empty, and no media")
        return ParsedRequest(
            messages=(
                InboundMessage(
                    channel=ChannelKind.SMS,
                    provider_message_id=sid,
                    sender=Address("phone", sender),
                    text=body,
                    recipient=_one(form, "To") or account.address,
                    kind="media" if media and not body.strip() else "text",
                    metadata={"media": media} if media else {},
                ),
            )
        )

    @staticmethod
    def _media(form: dict[str, list[str]]) -> list[dict[str, str]]:
        try:
            count = int(_one(form, "NumMedia") or 0)
        except ValueError as exc:
            raise MalformedRequest("NumMedia: not a number") from exc
        found = []
        for n in range(min(max(count, 0), 10)):
            url = _one(form, f"MediaUrl{n}")
            if url:
                found.append({"url": url, "content_type": _one(form, f"MediaContentType{n}") or ""})
        return found

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        return HttpOutbound(200, EMPTY_TWIML, "text/xml")

    # ---- voice: the receptionist answers inside the webhook's response ----------------------

    def answers_inline(self, account: AccountConfig) -> bool:
        return account.kind == ChannelKind.VOICE

    def acknowledge_spoken(
        self, parsed: ParsedRequest, account: AccountConfig, spoken: Spoken | None
    ) -> HttpOutbound:
        hook = f"{self._public_base_url}/hooks/{account.id}"
        return voice.twiml(parsed, account, spoken, hook_url=hook)

    def parse_call_event(
        self, request: HttpInbound, account: AccountConfig, route: str = ""
    ) -> CallEvent | None:
        """A status callback, a queue's, a transfer's or a recording's result, the queue's
        wait music or a transcription (``calls.py``); ``None`` for a turn or an SMS."""
        if account.kind != ChannelKind.VOICE:
            return None
        form = self._form(request)
        _check_account(form, account)
        return calls.parse_call_event(form, dict(request.query), route)

    def acknowledge_call_event(
        self, event: CallEvent, account: AccountConfig, spoken: Spoken | None
    ) -> HttpOutbound:
        hook = f"{self._public_base_url}/hooks/{account.id}"
        return calls.call_twiml(event, account, spoken, hook_url=hook)

    # ---- outbound ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        """POST to the Messages resource. A 4xx is final (the result says why); a 5xx, a 429
        or a network error raises ``TransientSendError`` so that the delivery is retried.
        On a voice account the words were already spoken in the webhook's TwiML."""
        if account.kind == ChannelKind.VOICE:
            return SendResult("", "delivered")
        sid = str(account.settings.get("account_sid") or "")
        token = api_token(account)
        if not sid or not token:
            return SendResult("", "failed", error="account_sid and the auth token are required")
        base = str(account.settings.get("api_base_url") or DEFAULT_API_BASE).rstrip("/")
        data = {"To": message.to.value, "From": account.address, "Body": message.text[:MAX_BODY]}
        if self._public_base_url:
            data["StatusCallback"] = f"{self._public_base_url}/hooks/{account.id}"
        try:
            async with httpx.AsyncClient(
                transport=self._transport, verify=_tls(), timeout=SEND_TIMEOUT_SECONDS
            ) as client:
                response = await client.post(
                    f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
                    data=data,
                    auth=(sid, token),
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        payload = json_object(response.content)
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(f"HTTP {response.status_code}: {_describe(payload)}")
        if response.status_code >= 400:
            return SendResult(
                "", "failed", error=f"HTTP {response.status_code}: {_describe(payload)}"
            )
        provider_id = str(payload.get("sid") or "")
        if not provider_id:
            raise TransientSendError("the response has no sid")
        status = _STATUSES.get(str(payload.get("status") or "queued"), "queued")
        return SendResult(provider_id, "sent" if status == "queued" else status)

    async def find_sent(
        self, message: OutboundMessage, account: AccountConfig, *, since: datetime
    ) -> list[str]:
        """Twilio's "list messages", ``GET …/Messages.json`` filtered by ``To``, ``From`` and
        ``DateSent>`` (a UTC date), newest first: the sids whose body is this message's text
        and that were created at ``since`` or later (``SentLookup``)."""
        if account.kind == ChannelKind.VOICE:
            return []
        sid = str(account.settings.get("account_sid") or "")
        token = api_token(account)
        if not sid or not token:
            return []
        base = str(account.settings.get("api_base_url") or DEFAULT_API_BASE).rstrip("/")
        day = since.astimezone(UTC).date().isoformat()
        query = {"To": message.to.value, "From": account.address, "DateSent>": day,
                 "PageSize": "100"}  # fmt: skip
        try:
            async with httpx.AsyncClient(
                transport=self._transport, verify=_tls(), timeout=SEND_TIMEOUT_SECONDS
            ) as client:
                response = await client.get(
                    f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
                    params=query,
                    auth=(sid, token),
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        payload = json_object(response.content)
        if response.status_code >= 400:
            raise TransientSendError(f"HTTP {response.status_code}: {_describe(payload)}")
        text = message.text[:MAX_BODY]
        found = []
        for item in payload.get("messages") or ():
            if not isinstance(item, dict) or item.get("body") != text or not item.get("sid"):
                continue
            try:
                created = parsedate_to_datetime(str(item.get("date_created") or ""))
            except (TypeError, ValueError):
                continue
            if created >= since - LOOKUP_SKEW:
                found.append(str(item["sid"]))
        return found

    async def redirect_call(self, account: AccountConfig, call_id: str, url: str) -> None:
        """Move a live call to new TwiML (``url``, fetched with POST): Twilio's "update a
        call", ``POST /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json`` with ``Url`` and
        ``Method``. A 4xx is final and raises ``CallNotRedirected`` (the call is over, or the
        account cannot do it); a 5xx, a 429 or a network error raises ``TransientSendError``
        so that the caller tries again."""
        sid = str(account.settings.get("account_sid") or "")
        token = api_token(account)
        if not sid or not token:
            raise CallNotRedirected("account_sid and the auth token are required", status=0)
        if not call_id or len(call_id) > 128:
            raise CallNotRedirected(f"not a call id: {call_id[:64]!r}", status=0)
        base = str(account.settings.get("api_base_url") or DEFAULT_API_BASE).rstrip("/")
        try:
            async with httpx.AsyncClient(
                transport=self._transport, verify=_tls(), timeout=SEND_TIMEOUT_SECONDS
            ) as client:
                response = await client.post(
                    f"{base}/2010-04-01/Accounts/{sid}/Calls/{quote(call_id, safe='')}.json",
                    data={"Url": url, "Method": "POST"},
                    auth=(sid, token),
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        payload = json_object(response.content)
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(f"HTTP {response.status_code}: {_describe(payload)}")
        if response.status_code >= 400:
            raise CallNotRedirected(
                f"HTTP {response.status_code}: {_describe(payload)}",
                status=response.status_code,
                code=payload.get("code"),
            )


def _describe(payload: dict[str, Any]) -> str:
    code, text = payload.get("code"), payload.get("message")
    if code or text:
        return f"Twilio error {code}: {text}"
    return "no error body"
