"""Pure rules: validate a key, fingerprint a request, decide what a claim on a key means."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

MAX_KEY_LENGTH = 255
IN_PROGRESS = "in_progress"
COMMITTED = "committed"  # the request's transaction committed; its response is not stored yet
COMPLETED = "completed"


class InvalidKey(ValueError):
    """The Idempotency-Key header is unusable."""


def validate_key(raw: str) -> str:
    """Return the key, or raise with a message a client can act on."""
    key = raw.strip()
    if not key:
        raise InvalidKey("the Idempotency-Key header is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"the Idempotency-Key header is longer than {MAX_KEY_LENGTH} characters")
    if any(not (0x20 <= ord(ch) <= 0x7E) for ch in key):
        raise InvalidKey("the Idempotency-Key header may hold printable ASCII characters only")
    return key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """sha256 over method, path, query and body; JSON bodies are compared by value.

    Two JSON bodies that differ only in key order or whitespace are the same request.
    """
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class KeyState:
    """What is stored for a key, as the decision needs it."""

    fingerprint: str
    state: str
    locked_until: datetime | None
    expires_at: datetime


class Outcome(enum.Enum):
    PROCEED = "proceed"  # no live record: run the request
    TAKE_OVER = "take_over"  # an abandoned in-progress claim: run the request again
    REPLAY = "replay"  # completed with the same request: return the stored response
    MISMATCH = "mismatch"  # the key was used for a different request
    IN_PROGRESS = "in_progress"  # the first request with this key is still running
    LOST = "lost"  # it changed data, then its process died before storing the response


def decide(existing: KeyState | None, request_fingerprint: str, now: datetime) -> Outcome:
    if existing is None or existing.expires_at <= now:
        return Outcome.PROCEED
    if existing.fingerprint != request_fingerprint:
        return Outcome.MISMATCH
    if existing.state == COMPLETED:
        return Outcome.REPLAY
    if existing.locked_until is not None and existing.locked_until > now:
        return Outcome.IN_PROGRESS
    if existing.state == COMMITTED:
        return Outcome.LOST  # running it again would do it twice
    return Outcome.TAKE_OVER


def should_store(status: int, *, committed: bool) -> bool:
    """Keep what changed data, and every success; forget failures that changed nothing.

    A failed request (4xx or 5xx) normally rolled its transaction back, so running it again
    is safe, and the client may correct a rejected request and retry under the same key.
    """
    return committed or 200 <= status < 400
