"""Email: raw MIME in (our SMTP receiver, our IMAP poller, or a relay), plain text out by SMTP.

Account (tenant YAML ``channels``): ``kind: email``, ``provider: smtp`` (mail reaches our
built-in SMTP receiver) or ``imap`` (we poll a mailbox), ``address`` the mailbox address,
``secret`` the key that signs each raw mail handed to ``/hooks/{account_id}``. ``settings``
for sending: ``smtp_host``, ``smtp_port``, ``smtp_username``, ``smtp_password_env`` (the
environment variable holding the password, read when sending), ``smtp_starttls``,
``display_name``; without ``smtp_host`` the process-wide ``CENTRALITA_SMTP_*`` are used.

- Inbound: ``Content-Type: message/rfc822`` with ``X-Centralita-Signature: sha256=<hex>``,
  the HMAC-SHA256 of the raw mail keyed with the account secret.
- Mail a person did not write (auto-replies, bounces, our own mail coming back) is stored as
  an event, which the receptionist never answers: two robots must not talk forever.
- Outbound: a fresh ``Message-ID`` (the provider id, so the customer's reply finds its
  thread), ``In-Reply-To``/``References``/``Subject: Re: …`` from the message's metadata.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import aiosmtplib

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
    TransientSendError,
)
from centralita.channels.email.mime import MalformedMail, ParsedMail, parse_mail
from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.core.subjects import reply_subject

SIGNATURE_HEADER = "x-centralita-signature"
MAX_TEXT = 100_000  # characters of a mail body kept in the message (the full text too)
MAX_ID = 255  # the provider id column
MAX_REFERENCES_SENT = 20  # a References header keeps the thread's root and its latest ids
SMTP_TIMEOUT = 30.0


def sign(secret: str, raw: bytes) -> str:
    """``sha256=<hex>``: what our SMTP receiver and IMAP poller (or a relay) send with a mail."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def signature_valid(secret: str, raw: bytes, given: str) -> bool:
    if not secret or not given:
        return False
    return hmac.compare_digest(sign(secret, raw), given.strip())


def provider_id(message_id: str | None, raw: bytes = b"") -> str:
    """A mail's id in storage: its Message-ID, hashed when too long; without one, the hash of
    the bytes (a redelivery of the same bytes is still found)."""
    if not message_id:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(message_id) > MAX_ID:
        return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return message_id


@dataclass(frozen=True)
class SmtpServer:
    """Where outbound mail goes when an account names no server of its own."""

    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False


def _server_for(account: AccountConfig, default: SmtpServer) -> SmtpServer:
    settings = account.settings
    host = str(settings.get("smtp_host") or "")
    if not host:
        return default
    env = str(settings.get("smtp_password_env") or "")
    return SmtpServer(
        host=host,
        port=int(settings.get("smtp_port") or 587),
        username=str(settings.get("smtp_username") or ""),
        password=os.environ.get(env, "") if env else "",
        starttls=bool(settings.get("smtp_starttls", True)),
    )


def _automatic(mail: ParsedMail, sender: str, account: AccountConfig) -> str | None:
    if sender == account.address.strip().lower():
        return "own_address"  # our own reply came back (a forwarding loop)
    return mail.automatic


def _references(mail: ParsedMail) -> tuple[str, ...]:
    """In-Reply-To first, then References newest first; as stored provider ids."""
    ordered = (*mail.in_reply_to, *reversed(mail.references))
    return tuple(dict.fromkeys(provider_id(i) for i in ordered))


class EmailAdapter:
    capabilities = Capabilities(max_text_length=MAX_TEXT)  # plain text out; no files yet

    def __init__(self, provider: str, *, smtp: SmtpServer | None = None) -> None:
        self.provider = provider
        self._smtp = smtp or SmtpServer()

    # ---- inbound ----------------------------------------------------------------------------

    def verify(self, request: HttpInbound, account: AccountConfig) -> None:
        if not signature_valid(
            account.secret, request.body, request.headers.get(SIGNATURE_HEADER, "")
        ):
            raise SignatureError("bad or missing X-Centralita-Signature")

    def parse(self, request: HttpInbound, account: AccountConfig) -> ParsedRequest:
        try:
            mail = parse_mail(request.body)
            sender = normalise_email(mail.from_address, field="from")
        except MalformedMail as exc:
            raise MalformedRequest(str(exc)) from exc
        except InvalidInput as exc:
            raise MalformedRequest(f"From: {mail.from_address[:100]} is not an address") from exc
        automatic = _automatic(mail, sender, account)
        metadata: dict[str, Any] = {
            "message_id": mail.message_id,
            "from": sender,
            "subject": mail.subject,
            "to": list(mail.to[:50]),
            "cc": list(mail.cc[:50]),
            "date": mail.date.isoformat() if mail.date else None,
            "references": list(mail.references[-MAX_REFERENCES_SENT:]),
            "full_text": mail.text[:MAX_TEXT],
            "html": mail.html,
        }
        if automatic:
            metadata["automatic"] = automatic
        if mail.defects:
            metadata["defects"] = list(mail.defects)
        references = _references(mail)
        inbound = InboundMessage(
            channel=ChannelKind.EMAIL,
            provider_message_id=provider_id(mail.message_id, request.body),
            sender=Address("email", sender),
            sender_name=mail.from_name[:200] if mail.from_name else None,
            text=(mail.reply or mail.subject or "")[:MAX_TEXT],
            recipient=account.address,
            kind="event" if automatic else "text",
            thread_key=references[-1][:128] if references else None,  # the thread's root
            metadata=metadata,
            references=references,
            subject=mail.subject,
            attachments=mail.attachments,
        )
        return ParsedRequest(messages=(inbound,))

    def acknowledge(self, parsed: ParsedRequest, account: AccountConfig) -> HttpOutbound:
        body = json.dumps({"stored": len(parsed.messages)}).encode()
        return HttpOutbound(200, body, "application/json")

    # ---- outbound ---------------------------------------------------------------------------

    def build(
        self, message: OutboundMessage, account: AccountConfig, now: datetime
    ) -> EmailMessage:
        """The mail as it goes on the wire (without sending it)."""
        meta: Mapping[str, Any] = message.metadata
        domain = account.address.rpartition("@")[2] or "localhost"
        mail = EmailMessage()
        display = str(account.settings.get("display_name") or "")
        mail["From"] = formataddr((display, account.address)) if display else account.address
        mail["To"] = message.to.value
        mail["Subject"] = reply_subject(meta.get("subject"))
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = make_msgid(domain=domain)
        in_reply_to = meta.get("in_reply_to")
        if in_reply_to:
            mail["In-Reply-To"] = f"<{in_reply_to}>"
            chain = [str(i) for i in meta.get("references") or [] if i != in_reply_to]
            chain = [*chain, str(in_reply_to)]
            if len(chain) > MAX_REFERENCES_SENT:  # RFC 5322: keep the root, then the newest
                chain = [chain[0], *chain[-(MAX_REFERENCES_SENT - 1) :]]
            mail["References"] = " ".join(f"<{i}>" for i in chain)
        if meta.get("auto_submitted"):
            # RFC 3834: an automatic answer; autoresponders must not answer it back
            mail["Auto-Submitted"] = "auto-replied"
            mail["X-Auto-Response-Suppress"] = "All"  # the same request in Exchange's words
        mail["X-Centralita-Message"] = message.message_id
        mail.set_content(message.text, charset="utf-8")
        return mail

    async def send(self, message: OutboundMessage, account: AccountConfig) -> SendResult:
        server = _server_for(account, self._smtp)
        if not server.host:
            return SendResult(
                "", "failed", "email is not configured: set the account's smtp_host or "
                "CENTRALITA_SMTP_HOST",
            )  # fmt: skip
        mail = self.build(message, account, datetime.now(UTC))
        sent_id = str(mail["Message-ID"]).strip().strip("<>")
        try:
            await aiosmtplib.send(
                mail,
                hostname=server.host,
                port=server.port,
                username=server.username or None,
                password=server.password or None,
                use_tls=server.port == 465,  # port 465 speaks TLS from the first byte
                start_tls=server.starttls and server.port != 465,
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:500]
            if all(500 <= c < 600 for c in codes):
                return SendResult("", "failed", f"SMTP {reason}")
            raise TransientSendError(f"SMTP {reason}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return SendResult("", "failed", f"SMTP {exc.code} {exc.message}"[:500])
            raise TransientSendError(f"SMTP {exc.code} {exc.message}"[:500]) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}"[:500]) from exc
        return SendResult(sent_id, "sent")
