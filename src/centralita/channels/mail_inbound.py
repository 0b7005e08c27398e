"""Mail into the email channel: our own SMTP receiver and an IMAP poller.

Both are thin shells around the one ingress pipeline: each raw mail is signed with the
account's secret and handed to ``channels.ingress.ingest`` exactly as an external relay
would POST it to ``/hooks/{account_id}``, so verification, parsing, idempotency (the
Message-ID) and attachments work the same on every path.

- **SMTP** (``SmtpReceiver``, aiosmtpd on the application's event loop, since the database
  engine belongs to it): RCPT TO only for an enabled ``smtp`` email account's address, else
  ``550 5.1.1``; a mail over the size limit gets ``552``; ``250`` only after the transaction
  that stored it committed; a mail we cannot read gets ``550 5.6.0 <why>``; a database or
  disk problem gets ``451``, so the sending server tries again later.
- **IMAP** (``ImapPoller``): for each enabled ``imap`` account, the UIDs above the last one
  read (within the mailbox's UIDVALIDITY), each fetched without marking it read, ingested,
  and only after commit remembered and flagged ``\\Seen``. A mail that cannot be parsed is
  logged, counted and skipped (left unread for a person), never retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aioimaplib import aioimaplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import DBAPIError, IntegrityError

from centralita.channels import service as channels_service
from centralita.channels.base import (
    AccountConfig,
    HttpInbound,
    MalformedRequest,
    SignatureError,
)
from centralita.channels.email.adapter import SIGNATURE_HEADER, sign
from centralita.channels.ingress import ingest
from centralita.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
IMAP_BATCH = 200  # mails read per account and poll; the rest wait for the next one
IMAP_TIMEOUT = 60.0
IMAP_LEASE = timedelta(minutes=10)  # longer than one poll of one account can take
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"\bUID (\d+)")


def _request(account_id: str, secret: str, raw: bytes, via: str) -> HttpInbound:
    """The mail as the hook would receive it from a relay: signed with the account secret."""
    return HttpInbound(
        method=via,
        url=f"{via.lower()}://centralita/{account_id}",
        headers={SIGNATURE_HEADER: sign(secret, raw), "content-type": "message/rfc822"},
        body=raw,
    )


# ---- SMTP -----------------------------------------------------------------------------------


class _Handler:
    """aiosmtpd hooks: who may receive, then store before saying yes."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def _accounts(self, address: str) -> list[AccountConfig]:
        async with self.container.sessions() as session:
            rows = await channels_service.mail_accounts_for(
                session, provider="smtp", address=address
            )
            return [channels_service.to_config(r) for r in rows]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            accounts = await self._accounts(address)
        except DBAPIError:
            log.exception("SMTP receiver: looking up %s failed", address)
            return "451 4.3.0 Temporary failure, try again later"
        if not accounts:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        # the final delivery agent records the envelope sender (RFC 5321 4.4); "<>" is a bounce
        sender = envelope.mail_from or ""
        raw = f"Return-Path: <{sender}>\r\n".encode("utf-8", "replace") + raw
        try:
            accounts = {a.id: a for rcpt in envelope.rcpt_tos for a in await self._accounts(rcpt)}
            if not accounts:  # disabled since RCPT TO
                return "550 5.1.1 No such mailbox here"
            for account in accounts.values():
                await ingest(
                    self.container.sessions,
                    self.container.adapters,
                    account_id=account.id,
                    request=_request(account.id, account.secret, raw, "SMTP"),
                    blobs=self.container.blobs,
                    clock=self.container.clock,
                )
        except MalformedRequest as exc:
            return f"550 5.6.0 {_one_line(str(exc))}"
        except (InvalidInput, SignatureError, NotFound) as exc:
            log.warning("SMTP receiver: mail refused for now: %s", exc)
            return "451 4.3.5 Mailbox not ready, try again later"
        except (DBAPIError, IntegrityError, OSError):
            # nothing of this attempt was committed for the failing account; what was for
            # another recipient is found again by its Message-ID when the sender retries
            log.exception("SMTP receiver: storing a mail failed")
            return "451 4.3.0 Temporary failure, try again later"
        return "250 2.0.0 OK: stored"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


class SmtpReceiver:
    """The email channel's SMTP server, on the running event loop."""

    def __init__(self, container: Container, *, max_bytes: int | None = None) -> None:
        self.container = container
        self.max_bytes = max_bytes or container.settings.smtp_receiver_max_bytes
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); returns the port."""
        handler = _Handler(self.container)
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            return SMTP(
                handler,
                data_size_limit=self.max_bytes,
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname="centralita",  # no DNS lookup of our own name
                ident="Centralita ESMTP",
                loop=loop,
            )

        self._server = await loop.create_server(protocol, host=host, port=port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("SMTP receiver listening on %s:%d", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None


# ---- IMAP -----------------------------------------------------------------------------------


@dataclass
class PollResult:
    stored: int = 0
    skipped: int = 0
    error: str | None = None


class ImapError(Exception):
    """The IMAP server refused or broke off; the poll stops and tries again next time."""


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        lines = b" ".join(bytes(line) for line in response.lines)[:200]
        raise ImapError(f"{what}: {response.result} {lines.decode('utf-8', 'replace')}")
    return response


def _literal(response: Any) -> bytes | None:
    """The message bytes of a one-message FETCH response."""
    for line in response.lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


class ImapPoller:
    """Reads new mail of every enabled ``imap`` account into the channel."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def poll_all(self) -> dict[str, PollResult]:
        async with self.container.sessions() as session:
            rows = await channels_service.list_enabled_accounts(session, provider="imap")
            accounts = [channels_service.to_config(r) for r in rows]
        results: dict[str, PollResult] = {}
        for account in accounts:
            results[account.id] = await self.poll(account)
        return results

    async def poll(self, account: AccountConfig) -> PollResult:
        folder = str(account.settings.get("imap_folder") or "INBOX")
        now = self.container.clock()
        async with self.container.sessions() as session, session.begin():
            state = await channels_service.claim_mailbox(
                session, account=account, folder=folder, now=now, lease=IMAP_LEASE
            )
            if state is None:
                return PollResult(error="another poller is reading this mailbox")
            uidvalidity, last_uid = state.uidvalidity, state.last_uid
        result = PollResult()
        try:
            await self._read(account, folder, uidvalidity, last_uid, result)
        except (ImapError, aioimaplib.AioImapException, OSError, TimeoutError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("IMAP poll of %s stopped: %s", account.id, result.error)
        except (DBAPIError, IntegrityError) as exc:
            result.error = f"database: {type(exc).__name__}"
            log.exception("IMAP poll of %s: storing failed; it is read again next time", account.id)
        finally:
            async with self.container.sessions() as session, session.begin():
                await channels_service.release_mailbox(
                    session, account_id=account.id, now=self.container.clock(), error=result.error
                )
        return result

    async def _connect(self, account: AccountConfig) -> aioimaplib.IMAP4:
        settings = account.settings
        use_ssl = bool(settings.get("imap_ssl", True))
        port = int(settings.get("imap_port") or (993 if use_ssl else 143))
        host = str(settings.get("imap_host") or "")
        cls = aioimaplib.IMAP4_SSL if use_ssl else aioimaplib.IMAP4
        client = cls(host=host, port=port, timeout=IMAP_TIMEOUT)
        await client.wait_hello_from_server()
        env = str(settings.get("imap_password_env") or "")
        password = os.environ.get(env, "") if env else ""
        _ok(await client.login(str(settings.get("imap_username") or ""), password), "LOGIN")
        return client

    async def _read(
        self, account: AccountConfig, folder: str, uidvalidity: int, last_uid: int, out: PollResult
    ) -> None:
        client = await self._connect(account)
        try:
            selected = _ok(await client.select(folder), f"SELECT {folder}")
            found = _UIDVALIDITY.search(b" ".join(bytes(x) for x in selected.lines))
            validity = int(found.group(1)) if found else 0
            if validity != uidvalidity:
                last_uid = 0  # new UIDs: read from the top; Message-IDs catch what we have
            for uid in (await self._new_uids(client, last_uid))[:IMAP_BATCH]:
                await self._take(client, account, validity, uid, out)
        finally:
            with contextlib.suppress(Exception):
                await client.logout()

    async def _new_uids(self, client: aioimaplib.IMAP4, last_uid: int) -> list[int]:
        # "n:*" always includes the newest mail, even below n: filter here (RFC 3501 6.4.8).
        # Only UIDs: aioimaplib's test server marks a mail \Seen when RFC822.SIZE is asked.
        listing = _ok(await client.uid("fetch", f"{last_uid + 1}:*", "(UID)"), "FETCH")
        found = {int(m.group(1)) for line in listing.lines if (m := _FETCH_UID.search(bytes(line)))}
        return sorted(uid for uid in found if uid > last_uid)

    async def _take(
        self,
        client: aioimaplib.IMAP4,
        account: AccountConfig,
        validity: int,
        uid: int,
        out: PollResult,
    ) -> None:
        limit = self.container.settings.smtp_receiver_max_bytes
        problem: str | None = None
        raw = _literal(_ok(await client.uid("fetch", str(uid), "(BODY.PEEK[])"), "FETCH"))
        if raw is None:
            problem = "the server sent no message body"  # expunged meanwhile
        elif len(raw) > limit:
            problem, raw = f"{len(raw)} bytes; at most {limit} are taken", None
        if raw is not None:
            try:
                await ingest(
                    self.container.sessions,
                    self.container.adapters,
                    account_id=account.id,
                    request=_request(account.id, account.secret, raw, "IMAP"),
                    blobs=self.container.blobs,
                    clock=self.container.clock,
                )
            except MalformedRequest as exc:
                problem = str(exc)
            except (SignatureError, NotFound, InvalidInput) as exc:
                raise ImapError(f"the account cannot take mail now: {exc}") from exc
        async with self.container.sessions() as session, session.begin():
            await channels_service.record_mailbox_progress(
                session, account_id=account.id, uidvalidity=validity, uid=uid,
                skipped_error=problem,
            )  # fmt: skip
        if problem is not None:
            out.skipped += 1
            log.warning("IMAP %s UID %d skipped: %s", account.id, uid, problem)
            return
        out.stored += 1
        _ok(await client.uid("store", str(uid), "+FLAGS", r"(\Seen)"), "STORE")


async def run_imap_poller(container: Container, stopping: asyncio.Event) -> None:
    """The worker task: poll every ``imap`` account each ``imap_poll_seconds``."""
    poller = ImapPoller(container)
    while not stopping.is_set():
        try:
            await poller.poll_all()
        except asyncio.CancelledError:
            raise
        except Exception:  # a worker must outlive any one bad poll
            log.exception("IMAP poll failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), container.settings.imap_poll_seconds)
