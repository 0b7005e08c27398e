"""Webhook signatures: HMAC-SHA256 over ``"<unix time>.<raw body>"`` (docs/webhooks.md).

The header carries the timestamp and one ``v1`` signature per live secret, so a receiver that
still has the previous secret keeps verifying while a rotation is under way::

    Centralita-Signature: t=1765115000,v1=5f2b...,v1=9ac0...
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

HEADER = "Centralita-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


class SignatureMismatch(ValueError):
    """The header is malformed, too old, or no signature matches."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex ``v1`` signature of ``body`` sent at ``timestamp`` (the whole secret is the key)."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secrets_: Sequence[str], timestamp: int, body: bytes) -> str:
    """The header value: ``t=<timestamp>`` then a ``v1=`` per secret, the current one first."""
    if not secrets_:
        raise ValueError("at least one secret is needed")
    parts = [f"t={timestamp}"] + [f"{SCHEME}={compute(s, timestamp, body)}" for s in secrets_]
    return ",".join(parts)


def parse(header: str) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures); unknown schemes are ignored for forward compatibility."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureMismatch(f"malformed item {item.strip()!r}")
        if key == "t":
            if not value.isdigit():
                raise SignatureMismatch("t is not a unix timestamp")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureMismatch("no timestamp (t=)")
    if not signatures:
        raise SignatureMismatch("no v1 signature")
    return timestamp, signatures


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Return the timestamp when one ``v1`` matches ``secret`` within ``tolerance`` seconds."""
    timestamp, signatures = parse(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureMismatch(f"timestamp {timestamp} is outside the {tolerance}s tolerance")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureMismatch("no signature matches the secret")
    return timestamp
