"""Secrets never reach the logs: every log record's text is redacted when it is created.

Redaction works on the formatted message (and any traceback), so a secret is caught however
it got there: an f-string, a ``%s`` of a headers dict, a URL with a token in its query. It
knows the shapes secrets take here (our API keys, bearer and basic credentials, cookies,
``name=value`` / ``"name": "value"`` pairs whose name says secret, signature headers) and,
besides, the exact values registered with ``install`` (the settings' own secrets).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

MASK = "[redacted]"
_NAME = (
    r"[\w-]*(?:password|passwd|secret|token|api[_-]?key|signature|authorization|cookie"
    r"|centralita_session|centralita_csrf|sig)(?:-\d+)?"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Our own API keys, wherever they appear.
    (re.compile(r"\bck_[A-Za-z0-9_-]{16,}"), "ck_" + MASK),
    # Credentials after an HTTP auth scheme.
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + MASK),
    # A cookie header or dict: every value after a cookie name we set.
    (
        re.compile(r"(?i)\b(centralita_session|centralita_csrf)(=|['\"]?\s*:\s*['\"])[^;\s'\",}]+"),
        r"\1\2" + MASK,
    ),
    # name=value, name: value, "name": "value", (b'name', b'value') with a secret-ish name.
    # A quoted value is masked whole, spaces and all.
    (
        re.compile(
            r"(?i)(\b" + _NAME + r"\b['\"]?\s*(?:[:=]|,)\s*(?:b(?=['\"]))?)"
            r"(\"[^\"]*\"|'[^']*'|[^'\"\s,;&}\[\])]+)"
        ),
        r"\1" + MASK,
    ),
)
_MIN_EXACT = 8  # shorter registered values would blank out ordinary words
# Database drivers log statements with their bound parameters at DEBUG: a stored secret is
# just a value there. Every quoted value without spaces (tokens, hashes, ids) is masked; the
# statements themselves, which have spaces, stay readable.
_PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")
_LITERAL = re.compile(r"""(?<![\w])(['"])(?:(?!\1)[^\s\\]){8,}\1""")


def redact(text: str, exact: Iterable[str] = ()) -> str:
    """``text`` with every secret-looking value and every ``exact`` value masked."""
    for value in exact:
        if len(value) >= _MIN_EXACT and value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _Redactor:
    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.exact: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it later, as usual
            return record
        redacted = redact(message, self.exact)
        if record.name.startswith(_PARAMETER_LOGGERS):
            redacted = _LITERAL.sub(lambda m: m.group(1) + MASK + m.group(1), redacted)
        if redacted != message:
            if isinstance(record.args, tuple) and record.name.startswith("uvicorn.access"):
                # uvicorn's access formatter unpacks the arguments: redact them one by one
                record.args = tuple(
                    redact(a, self.exact) if isinstance(a, str) else a for a in record.args
                )
            else:
                record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.exact)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.exact)
        return record


_LOCK = threading.Lock()


def install(secrets: Iterable[str] = ()) -> None:
    """Redact every log record from now on (idempotent); ``secrets`` are masked verbatim."""
    with _LOCK:
        factory = logging.getLogRecordFactory()
        if not isinstance(factory, _Redactor):
            factory = _Redactor(factory)
            logging.setLogRecordFactory(factory)
        factory.exact.update(s for s in secrets if s)
