"""Signing and verifying: the header format, two secrets, tolerance, tampering (pure)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from centralita.webhooks import signing
from tests.webhooks.receiver import verify as receiver_verify

BODY = b'{"id":"evt_1","type":"contact.created","data":{"contact_id":"ct_1"}}'
NOW = 1_765_115_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"whsec_abc", b"1765115000." + BODY, hashlib.sha256).hexdigest()
    assert signing.compute("whsec_abc", NOW, BODY) == expected
    assert signing.sign(["whsec_abc"], NOW, BODY) == f"t={NOW},v1={expected}"


def test_two_secrets_give_two_v1_and_either_verifies() -> None:
    header = signing.sign(["whsec_new", "whsec_old"], NOW, BODY)
    assert header.count("v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        assert signing.verify(secret, header, BODY, now=NOW) == NOW
    with pytest.raises(signing.SignatureMismatch, match="no signature matches"):
        signing.verify("whsec_other", header, BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "body", "now", "error"),
    [
        (None, BODY + b" ", NOW, "no signature matches"),  # tampered body
        (None, BODY, NOW + 301, "tolerance"),  # too old
        (None, BODY, NOW - 301, "tolerance"),  # from the future
        ("v1=abc", BODY, NOW, "no timestamp"),
        (f"t={NOW}", BODY, NOW, "no v1"),
        (f"t={NOW},v0=abc", BODY, NOW, "no v1"),  # other schemes are ignored
        ("t=soon,v1=abc", BODY, NOW, "unix timestamp"),
        ("garbage", BODY, NOW, "malformed"),
    ],
)
def test_bad_requests_are_refused(header: str | None, body: bytes, now: int, error: str) -> None:
    header = header or signing.sign(["whsec_abc"], NOW, BODY)
    with pytest.raises(signing.SignatureMismatch, match=error):
        signing.verify("whsec_abc", header, body, now=now)


def test_within_tolerance_and_unknown_items_are_accepted() -> None:
    header = signing.sign(["whsec_abc"], NOW, BODY) + ",v9=future"
    assert signing.verify("whsec_abc", header, BODY, now=NOW + 300) == NOW


def test_the_doc_receiver_agrees_with_the_signer() -> None:
    header = signing.sign(["whsec_new", "whsec_old"], NOW, BODY)
    assert receiver_verify(["whsec_old"], header, BODY, NOW, 300) == ""
    assert receiver_verify(["whsec_x"], header, BODY, NOW, 300) == "no signature matches"
    assert receiver_verify(["whsec_old"], header, BODY, NOW + 400, 300) != ""


def test_new_secrets_are_long_random_and_prefixed() -> None:
    a, b = signing.new_secret(), signing.new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 40
