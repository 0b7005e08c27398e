"""The pure rules, table-driven: key validation, fingerprints, decisions, what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.idempotency.rules import (
    COMMITTED,
    COMPLETED,
    IN_PROGRESS,
    InvalidKey,
    KeyState,
    Outcome,
    decide,
    fingerprint,
    should_store,
    validate_key,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
FP = "a" * 64


@pytest.mark.parametrize(
    "raw, key",
    [
        ("abc", "abc"),
        ("  6f1c9a52-0b8e-4f57  ", "6f1c9a52-0b8e-4f57"),
        ("x" * 255, "x" * 255),
        ("with space ~!", "with space ~!"),
    ],
)
def test_valid_keys(raw: str, key: str) -> None:
    assert validate_key(raw) == key


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 256, "longer than 255"),
        ("caf\u00e9", "printable ASCII"),
        ("a\x7fb", "printable ASCII"),
        ("a\tb", "printable ASCII"),
    ],
)
def test_invalid_keys(raw: str, message: str) -> None:
    with pytest.raises(InvalidKey, match=message):
        validate_key(raw)


def test_fingerprint_compares_json_by_value() -> None:
    a = fingerprint("POST", "/api/v1/contacts", "", b'{"name": "Ana", "vip": true}')
    b = fingerprint("post", "/api/v1/contacts", "", b'{"vip":true,"name":"Ana"}')
    assert a == b


@pytest.mark.parametrize(
    "other",
    [
        ("POST", "/api/v1/contacts", "", b'{"name": "Eva"}'),  # body
        ("POST", "/api/v1/users", "", b'{"name": "Ana"}'),  # path
        ("POST", "/api/v1/contacts", "dry_run=1", b'{"name": "Ana"}'),  # query
        ("PUT", "/api/v1/contacts", "", b'{"name": "Ana"}'),  # method
        ("POST", "/api/v1/contact", "s", b'{"name": "Ana"}'),  # parts do not run together
    ],
)
def test_fingerprint_tells_requests_apart(other: tuple[str, str, str, bytes]) -> None:
    base = fingerprint("POST", "/api/v1/contacts", "", b'{"name": "Ana"}')
    assert fingerprint(*other) != base


def test_fingerprint_of_non_json_bodies_is_bytewise() -> None:
    assert fingerprint("POST", "/p", "", b"a=1&b=2") != fingerprint("POST", "/p", "", b"b=2&a=1")


def _state(
    state: str = COMPLETED,
    fp: str = FP,
    locked_until: datetime | None = None,
    expires_at: datetime = NOW + timedelta(hours=1),
) -> KeyState:
    return KeyState(fp, state, locked_until, expires_at)


@pytest.mark.parametrize(
    "existing, outcome",
    [
        (None, Outcome.PROCEED),
        (_state(), Outcome.REPLAY),
        (_state(fp="b" * 64), Outcome.MISMATCH),
        (
            _state(IN_PROGRESS, fp="b" * 64, locked_until=NOW + timedelta(seconds=5)),
            Outcome.MISMATCH,
        ),
        (_state(IN_PROGRESS, locked_until=NOW + timedelta(seconds=5)), Outcome.IN_PROGRESS),
        (_state(IN_PROGRESS, locked_until=NOW), Outcome.TAKE_OVER),  # lease ran out
        (_state(IN_PROGRESS, locked_until=None), Outcome.TAKE_OVER),
        (_state(COMMITTED, locked_until=NOW + timedelta(seconds=5)), Outcome.IN_PROGRESS),
        (_state(COMMITTED, locked_until=NOW), Outcome.LOST),  # died after its commit
        (_state(COMMITTED, fp="b" * 64, locked_until=NOW), Outcome.MISMATCH),
        (_state(COMMITTED, expires_at=NOW), Outcome.PROCEED),
        (_state(expires_at=NOW), Outcome.PROCEED),  # retention over: a new key
        (_state(fp="b" * 64, expires_at=NOW - timedelta(seconds=1)), Outcome.PROCEED),
    ],
)
def test_decide(existing: KeyState | None, outcome: Outcome) -> None:
    assert decide(existing, FP, NOW) is outcome


@pytest.mark.parametrize(
    "status, committed, stored",
    [
        (200, False, True),
        (201, False, True),
        (204, False, True),
        (303, False, True),
        (400, False, False),
        (404, False, False),
        (409, False, False),
        (422, False, False),
        (500, False, False),
        (503, False, False),
        (0, False, False),  # no response at all
        (422, True, True),  # it changed data before failing: never run it again
        (500, True, True),
    ],
)
def test_what_is_stored(status: int, committed: bool, stored: bool) -> None:
    assert should_store(status, committed=committed) is stored
