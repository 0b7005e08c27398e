"""Meta's webhook signature, ``X-Hub-Signature-256: sha256=<hex>``: the HMAC-SHA256 of the raw
request body keyed with the app secret. Pure: the standard library only."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "x-hub-signature-256"


def compute(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def valid(app_secret: str, body: bytes, given: str) -> bool:
    if not app_secret or not given:
        return False
    return hmac.compare_digest(compute(app_secret, body), given.strip())
