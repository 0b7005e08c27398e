"""Telnyx's request signature, for TeXML webhooks (``settings.signature: telnyx``).

Telnyx signs each webhook with Ed25519 and sends two headers: ``telnyx-timestamp``, the Unix
time in seconds when it signed, and ``telnyx-signature-ed25519``, the Base64 of the 64-byte
signature. The signed message is the timestamp exactly as sent, a ``|``, then the raw request
body. It is verified with the Telnyx account's public key (Base64 of 32 bytes, from Mission
Control → Keys & Credentials). A timestamp more than ``TOLERANCE_SECONDS`` away from now is
refused, so that a captured request cannot be replayed later.

Pure: no I/O; the caller passes the current time.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE_SECONDS = 300
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def public_key_problem(value: object) -> str | None:
    """What is wrong with a public key from the tenant file, or None when it is usable."""
    if not isinstance(value, str) or not value.strip():
        return "required when signature is telnyx: the account's public key (Base64)"
    raw = _b64(value)
    if raw is None:
        return "not Base64: paste the public key from Mission Control → Keys & Credentials"
    if len(raw) != PUBLIC_KEY_BYTES:
        return f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes; this one is {len(raw)}"
    return None


def signed_message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("ascii") + b"|" + body


def fresh(timestamp: str, now: datetime, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``timestamp`` (Unix seconds) is within ``tolerance`` seconds of ``now``."""
    if not re.fullmatch(r"[0-9]{1,12}", timestamp):
        return False
    return abs(now.timestamp() - int(timestamp)) <= tolerance


def valid(
    public_key: str,
    *,
    body: bytes,
    signature: str,
    timestamp: str,
    now: datetime,
) -> bool:
    """True when ``signature`` is the account's Ed25519 signature of ``timestamp|body`` and
    the timestamp is fresh. Any malformed part (key, signature, timestamp) is simply False."""
    if not signature or not timestamp or not fresh(timestamp, now):
        return False
    key_bytes = _b64(public_key) if public_key else None
    sig_bytes = _b64(signature)
    if key_bytes is None or len(key_bytes) != PUBLIC_KEY_BYTES:
        return False
    if sig_bytes is None or len(sig_bytes) != SIGNATURE_BYTES:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(key_bytes)
        key.verify(sig_bytes, signed_message(timestamp, body))
    except (InvalidSignature, ValueError):
        return False
    return True
