"""Raw RFC 5322 mail as plain data: who, what, which thread, which files. Pure: stdlib only.

Parsed with ``policy.compat32`` and headers read raw (``raw_items``): the modern policy parses
headers lazily and some malformed ones raise on access, long after we decided to take the mail.

Mail in the wild is messy, so nothing here crashes on it. Charsets: the declared one when
Python knows it (ISO-8859-1 read as its superset windows-1252, as browsers do), otherwise and
for undeclared 8-bit text UTF-8 if it decodes, else windows-1252. Headers with raw 8-bit
bytes get the same treatment. Only two things make a mail unusable (``MalformedMail``): no
sender address, and a multipart body whose boundary never appears (its parts cannot be
told apart, so storing it would store garbage).
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import errors as email_errors
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from centralita.channels.base import Attachment
from centralita.channels.email.html_text import html_to_text
from centralita.channels.email.quotes import strip_quoted

MAX_REFERENCES = 50
_ANGLE_ID = re.compile(r"<([^<>\s]{1,998})>")
_FILENAME_JUNK = re.compile(r"[\x00-\x1f\x7f/\\]+")
_LATIN1 = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"})


class MalformedMail(ValueError):
    """The bytes are not a mail we can take; the message says why, for the sender."""


@dataclass(frozen=True)
class ParsedMail:
    from_address: str
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str | None
    message_id: str | None  # without the angle brackets
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]  # as in the header: oldest first
    date: datetime | None
    text: str  # the whole body as text
    reply: str  # the new part: quoted history and signature removed
    html: bool  # the text came from an HTML body
    attachments: tuple[Attachment, ...]
    automatic: str | None  # "auto_reply" or "bounce": no person wrote it
    defects: tuple[str, ...]


# ---- decoding -----------------------------------------------------------------------------


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in its declared charset, else UTF-8, else windows-1252; never raises."""
    name = (charset or "").strip().strip('"').lower()
    if name in _LATIN1:
        name = "windows-1252" if not data.isascii() else "ascii"
    if name and name != "ascii":
        try:
            codecs.lookup(name)
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown or lying charset: guess as for an undeclared one
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


def _header_text(value: str) -> str:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes guessed like bodies."""
    if any("\udc80" <= c <= "\udcff" for c in value):  # raw 8-bit, kept as surrogates
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    if "=?" in value:
        with contextlib.suppress(LookupError, ValueError, email_errors.HeaderParseError):
            value = str(make_header(decode_header(value)))
    return " ".join(value.split())


def _raw_header(message: Message, name: str) -> str | None:
    """The first ``name`` header exactly as sent (unfolded), or None; never parses it."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs in a header: the <…> tokens, or bare words when a client forgot them."""
    if not value:
        return ()
    found = _ANGLE_ID.findall(value) or [w.strip("<>,;") for w in value.split()]
    return tuple(dict.fromkeys(i for i in found if i and len(i) <= 998))


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw_header(message, name)
    if raw is None:
        return []
    pairs = getaddresses([_header_text(raw)])
    return [(n.strip(), a.strip()) for n, a in pairs if "@" in a]


def _date(message: Message) -> datetime | None:
    raw = _raw_header(message, "date")
    try:
        return parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# ---- body and files -----------------------------------------------------------------------


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_param("charset"))  # type: ignore[arg-type]


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if _filename(part) is not None:
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (LookupError, ValueError, TypeError, email_errors.HeaderParseError):
        name = None
    if not name:
        return None
    clean = _FILENAME_JUNK.sub("_", _header_text(str(name))).strip(" .")
    return clean[-200:] or None


def _body_parts(message: Message, inner: set[int]) -> tuple[Message | None, Message | None]:
    """The first text/plain and text/html parts that are not attachments (nor inside one)."""
    plain = html = None
    for part in message.walk():
        if id(part) in inner or part.is_multipart() or _is_attachment(part):
            continue
        subtype = part.get_content_subtype()
        if subtype == "plain" and plain is None:
            plain = part
        elif subtype == "html" and html is None:
            html = part
    return plain, html


def _attachments(message: Message, body: set[int]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in message.walk():
        if id(part) in body or (
            part.is_multipart() and part.get_content_type() != "message/rfc822"
        ):
            continue
        if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers"):
            continue  # a bounce's machine-readable report, not a customer's file
        if not _is_attachment(part):
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            item = inner[0] if isinstance(inner, list) and inner else None
            data = item.as_bytes() if isinstance(item, Message) else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(_filename(part), part.get_content_type(), data))
    return tuple(found)


def _inside_rfc822(message: Message) -> set[int]:
    """Parts of attached mails: they travel inside their attachment, not as files of their own."""
    inner: set[int] = set()
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            for sub in part.walk():
                if sub is not part:
                    inner.add(id(sub))
    return inner


# ---- automatic mail -----------------------------------------------------------------------


def _automatic(message: Message, sender: str) -> str | None:
    """Why no person wrote this (RFC 3834 headers, bounces), or None."""
    if message.get_content_type() == "multipart/report":
        return "bounce"
    local = sender.partition("@")[0].lower()
    if local in ("mailer-daemon", "mailer_daemon") or _raw_header(message, "return-path") in (
        "<>",
        "",
    ):
        return "bounce"
    submitted = (_raw_header(message, "auto-submitted") or "no").strip().lower()
    if not submitted.startswith("no"):
        return "auto_reply"
    precedence = (_raw_header(message, "precedence") or "").strip().lower()
    if precedence in ("bulk", "auto_reply", "junk", "list"):
        return "auto_reply"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if _raw_header(message, name) is not None:
            return "auto_reply"
    return None


# ---- the whole mail -----------------------------------------------------------------------


def _check_structure(message: Message) -> None:
    for part in message.walk():
        if part.get_content_maintype() != "multipart":
            continue
        kinds = {type(d) for d in part.defects}
        if part.get_boundary() is None or email_errors.StartBoundaryNotFoundDefect in kinds:
            raise MalformedMail("a multipart body without its boundary: its parts cannot be read")


def parse_mail(raw: bytes) -> ParsedMail:
    """Raises ``MalformedMail``."""
    if not raw.strip():
        raise MalformedMail("empty message")
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    senders = _addresses(message, "from") or _addresses(message, "sender")
    if not senders:
        raw_from = _raw_header(message, "from")
        name, address = parseaddr(_header_text(raw_from or ""))
        if "@" not in address:
            raise MalformedMail("no sender address (From)")
        senders = [(name, address)]
    _check_structure(message)
    from_name, from_address = senders[0]
    inner = _inside_rfc822(message)
    plain, html_part = _body_parts(message, inner)
    is_html = plain is None and html_part is not None
    if plain is not None:
        text = _part_text(plain).replace("\r\n", "\n").strip()
        reply = strip_quoted(text)
    elif html_part is not None:
        converted = html_to_text(_part_text(html_part))
        text, reply = converted.full, strip_quoted(converted.reply or converted.full)
    else:
        text = reply = ""
    body_ids = {id(p) for p in (plain, html_part) if p is not None} | inner
    subject = _raw_header(message, "subject")
    return ParsedMail(
        from_address=from_address,
        from_name=from_name or None,
        to=tuple(a for _, a in _addresses(message, "to")),
        cc=tuple(a for _, a in _addresses(message, "cc")),
        subject=_header_text(subject) if subject is not None else None,
        message_id=next(iter(_ids(_raw_header(message, "message-id"))), None),
        in_reply_to=_ids(_raw_header(message, "in-reply-to"))[:MAX_REFERENCES],
        references=_ids(_raw_header(message, "references"))[-MAX_REFERENCES:],
        date=_date(message),
        text=text,
        reply=reply,
        html=is_html,
        attachments=_attachments(message, body_ids),
        automatic=_automatic(message, from_address),
        defects=tuple(sorted({type(d).__name__ for p in message.walk() for d in p.defects})),
    )
