"""A local mail catcher for the demo and tests: a real SMTP server that keeps every mail it
receives as an .eml file, and reads them back for the /mailbox page.

Nothing is relayed anywhere. Files are named by arrival time, so the newest sort last.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MAIL_ID = re.compile(r"^\d{20}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Mail:
    id: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    text: str
    headers: dict[str, str]


class Mailbox:
    """A directory of .eml files: written by the SMTP handler, read by the web page."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def store(self, raw: bytes, *, rcpt_tos: list[str] | None = None) -> str:
        """Keep one message; returns its id. Written whole, then renamed into place."""
        self.directory.mkdir(parents=True, exist_ok=True)
        mail_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        if rcpt_tos:  # the envelope recipients, as a delivering server would record them
            raw = f"X-Original-To: {', '.join(rcpt_tos)}\r\n".encode() + raw
        tmp = self.directory / f".{mail_id}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, self.directory / f"{mail_id}.eml")
        return mail_id

    def ids(self) -> list[str]:
        """Every stored mail's id, newest first."""
        if not self.directory.is_dir():
            return []
        names = [p.stem for p in self.directory.glob("*.eml") if _MAIL_ID.match(p.stem)]
        return sorted(names, reverse=True)

    def recent(self, limit: int = 200) -> list[Mail]:
        """The newest ``limit`` mails, newest first."""
        mails = [self.get(mail_id) for mail_id in self.ids()[:limit]]
        return [m for m in mails if m is not None]

    def get(self, mail_id: str) -> Mail | None:
        if not _MAIL_ID.match(mail_id):
            return None  # also keeps ../ and friends out of the path
        path = self.directory / f"{mail_id}.eml"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        return _parse(mail_id, raw)


def _parse(mail_id: str, raw: bytes) -> Mail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if isinstance(body, EmailMessage):
        try:
            text = str(body.get_content())
        except (LookupError, ValueError):  # an unknown charset: show what we can
            payload = body.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = text.replace("\r\n", "\n")  # as it came over the wire
    return Mail(
        id=mail_id,
        received_at=datetime.fromtimestamp(int(mail_id[:20]) / 1e9, UTC),
        sender=str(message.get("from", "")),
        to=str(message.get("to", "") or message.get("x-original-to", "")),
        subject=str(message.get("subject", "")),
        text=text,
        headers={k: str(v) for k, v in message.items()},
    )


class _Handler:
    """aiosmtpd handler: accept every message and store it."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        await asyncio.to_thread(self.mailbox.store, raw, rcpt_tos=list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class _Catcher(Controller):
    """Listens on port 0 when asked to: the real port is read back from the socket."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it untyped


async def start_mail_catcher(
    directory: Path | str, host: str = "127.0.0.1", port: int = 0
) -> tuple[Controller, int]:
    """Start an SMTP server on ``host:port`` (0: any free port) in its own thread; returns
    the controller (``controller.stop()`` ends it) and the port it listens on."""
    controller = _Catcher(
        _Handler(Mailbox(directory)),
        hostname=host,
        port=port,
        server_hostname="centralita-mailbox",  # skips a DNS lookup of our own name
    )
    await asyncio.to_thread(controller.start)
    return controller, int(controller.port)
