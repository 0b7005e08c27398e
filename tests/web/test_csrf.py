"""The CSRF signer and the page labels: pure, no HTTP."""

from __future__ import annotations

import pytest

from centralita.web.csrf import CsrfError, CsrfSigner
from centralita.web.i18n import STRINGS, from_accept_language, pick_language

SECRET = "test-secret-key-0123456789abcdef"


def test_a_token_is_valid_only_for_its_browser_value() -> None:
    signer = CsrfSigner(SECRET, max_age_seconds=3600)
    token = signer.token_for("browser-a-value-0123456789")
    signer.check(token, "browser-a-value-0123456789")
    with pytest.raises(CsrfError):
        signer.check(token, "browser-b-value-0123456789")


@pytest.mark.parametrize(
    ("token", "value"),
    [
        (None, "browser-a-value-0123456789"),
        ("", "browser-a-value-0123456789"),
        ("not-a-token", "browser-a-value-0123456789"),
        ("VALID", None),
        ("VALID", ""),
    ],
)
def test_missing_or_garbage_tokens_are_refused(token: str | None, value: str | None) -> None:
    signer = CsrfSigner(SECRET, max_age_seconds=3600)
    if token == "VALID":
        token = signer.token_for("browser-a-value-0123456789")
    with pytest.raises(CsrfError):
        signer.check(token, value)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = CsrfSigner("another-secret-key-0123456789", max_age_seconds=3600).token_for("v" * 30)
    with pytest.raises(CsrfError):
        CsrfSigner(SECRET, max_age_seconds=3600).check(token, "v" * 30)


def test_an_old_token_expires() -> None:
    token = CsrfSigner(SECRET, max_age_seconds=3600).token_for("v" * 30)
    with pytest.raises(CsrfError, match="expired"):
        CsrfSigner(SECRET, max_age_seconds=-1).check(token, "v" * 30)


def test_no_secret_no_signer() -> None:
    with pytest.raises(ValueError, match="CENTRALITA_SECRET_KEY"):
        CsrfSigner("", max_age_seconds=3600)


def test_both_languages_have_every_label() -> None:
    assert set(STRINGS["es"]) == set(STRINGS["en"])
    assert all(v.strip() for lang in STRINGS.values() for v in lang.values())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("fr-FR,fr;q=0.9,en;q=0.5,es;q=0.4", "en"),
        ("de, es;q=0.1", "es"),
        ("en;q=0.2, es;q=0.8", "es"),
        ("es;q=0, en;q=0.1", "en"),
        ("fr", None),
        ("", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("en", "es"), "en"),
        ((None, "xx", "es-MX"), "es"),
        ((None, None), "en"),
        (("ES",), "es"),
    ],
)
def test_pick_language(candidates: tuple[str | None, ...], expected: str) -> None:
    assert pick_language(*candidates) == expected
