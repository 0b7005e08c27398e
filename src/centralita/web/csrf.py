"""CSRF protection for browser posts: a signed token bound to a random per-browser cookie.

Double submit, signed. The ``centralita_csrf`` cookie holds a random value; every form
carries that value signed with the secret key (hidden field ``csrf_token``), and JSON calls
send it in the ``X-CSRF-Token`` header. Another site can make the browser send the cookie, but
it can neither read it nor sign a value of its own, so it cannot produce a matching token.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.datastructures import FormData

CSRF_COOKIE = "centralita_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SALT = "centralita.web.csrf.v1"
_STATE = "csrf_browser_value"  # request.state attribute: a value minted during this request


class CsrfError(Exception):
    """A post without a valid token: answer 403 and change nothing."""


class CsrfSigner:
    """Signs and checks tokens; pure, so it is tested without HTTP."""

    def __init__(self, secret_key: str, *, max_age_seconds: int) -> None:
        if not secret_key:
            raise ValueError("CSRF tokens need a secret key (CENTRALITA_SECRET_KEY)")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self._max_age = max_age_seconds

    def token_for(self, browser_value: str) -> str:
        return self._serializer.dumps(browser_value)

    def check(self, token: str | None, browser_value: str | None) -> None:
        if not token or not browser_value:
            raise CsrfError("missing CSRF token or cookie")
        try:
            signed = self._serializer.loads(token, max_age=self._max_age)
        except BadData as exc:
            raise CsrfError("invalid or expired CSRF token") from exc
        if not isinstance(signed, str) or not hmac.compare_digest(signed, browser_value):
            raise CsrfError("CSRF token does not match this browser")


def browser_value(request: Request) -> str:
    """This browser's random value: from its cookie, or minted now (``set_cookie`` stores it)."""
    minted: str | None = getattr(request.state, _STATE, None)
    if minted:
        return minted
    value = request.cookies.get(CSRF_COOKIE)
    if value and 20 <= len(value) <= 100:
        return value
    value = secrets.token_urlsafe(32)
    setattr(request.state, _STATE, value)
    return value


def rotate(request: Request) -> str:
    """Mint a fresh value (on login), so a value planted before login is worth nothing after."""
    value = secrets.token_urlsafe(32)
    setattr(request.state, _STATE, value)
    return value


def set_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Store a value minted during this request; a browser session cookie, HttpOnly."""
    minted: str | None = getattr(request.state, _STATE, None)
    if minted:
        response.set_cookie(
            CSRF_COOKIE, minted, httponly=True, samesite="lax", secure=secure, path="/"
        )


def check_form(signer: CsrfSigner, request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    signer.check(token if isinstance(token, str) else None, request.cookies.get(CSRF_COOKIE))


def check_header(signer: CsrfSigner, request: Request) -> None:
    signer.check(request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE))
