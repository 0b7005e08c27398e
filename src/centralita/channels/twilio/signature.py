"""Twilio's request signature, ``X-Twilio-Signature``; SignalWire's is the same.

For a form-encoded POST, the signed string is the full public URL the provider called, followed
by every POST parameter's name and value, sorted by name (a repeated name contributes each of
its values, in order, sorted by value), with no separators. The signature is the Base64 of the
HMAC-SHA1 of that string keyed with the account's auth token. For a JSON body, the URL carries a
``bodySHA256`` query parameter, the hex SHA-256 of the raw body, and the signed string is the URL
alone.

SignalWire (LaML, now cXML) computes the same signature the same way, keyed with the project's
signing key, and sends it as ``X-SignalWire-Signature``; its libraries also accept it under
``X-Twilio-Signature``. We take whichever of the two headers comes, and when both come, both
must be right.

Pure: the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

HEADER = "x-twilio-signature"
SIGNALWIRE_HEADER = "x-signalwire-signature"
HEADERS = (HEADER, SIGNALWIRE_HEADER)


def signed_string(url: str, params: Mapping[str, Sequence[str]]) -> str:
    pieces = [url]
    for name in sorted(params):
        for value in sorted(params[name]):
            pieces.append(name + value)
    return "".join(pieces)


def compute(auth_token: str, url: str, params: Mapping[str, Sequence[str]]) -> str:
    digest = hmac.new(
        auth_token.encode("utf-8"), signed_string(url, params).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def valid(
    auth_token: str,
    *,
    url: str,
    params: Mapping[str, Sequence[str]],
    body: bytes,
    given: str,
) -> bool:
    """True when ``given`` signs this request. ``params`` are the form fields (empty for a JSON
    body, whose hash must then match the URL's ``bodySHA256``)."""
    if not auth_token or not given:
        return False
    query = parse_qs(urlsplit(url).query)
    if "bodySHA256" in query:
        expected_hash = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(query["bodySHA256"][0], expected_hash):
            return False
        return hmac.compare_digest(compute(auth_token, url, {}), given)
    return hmac.compare_digest(compute(auth_token, url, params), given)


def valid_headers(
    auth_token: str,
    *,
    url: str,
    params: Mapping[str, Sequence[str]],
    body: bytes,
    headers: Mapping[str, str],
) -> bool:
    """True when at least one of ``HEADERS`` is present (``headers`` has lower-cased names)
    and every one present signs this request."""
    given = [headers[name] for name in HEADERS if name in headers]
    return bool(given) and all(
        valid(auth_token, url=url, params=params, body=body, given=value) for value in given
    )
