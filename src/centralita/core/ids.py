"""Time-sortable, prefixed identifiers (``ct_01J...``) that do not reveal counts."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
_ID = re.compile(ID_PATTERN)


def looks_like_id(value: str) -> bool:
    """Ids are short and plain; anything else is unknown without asking the database."""
    return bool(_ID.match(value))


def new_id(prefix: str) -> str:
    """Return ``prefix_`` + 26 chars: 48-bit milliseconds then 80 random bits."""
    millis = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(millis, 10)}{_encode(rand, 16)}"
