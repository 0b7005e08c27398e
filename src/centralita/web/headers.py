"""The security headers every response carries, decided from plain values. Pure.

Pages get a Content Security Policy without inline script or style; API answers (JSON, files)
get the tightest policy there is, since a browser should never run or render anything from
them; nothing of ours may be framed except by the sites a tenant lists for its web chat.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; sandbox"
# FastAPI's interactive docs load Swagger UI from its CDN and start it with one inline
# script; that script is allowed by its hash, never by 'unsafe-inline'.
DOCS_CDN = "https://cdn.jsdelivr.net"
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_DOCS_PATHS = frozenset({"/docs", "/redoc"})


def frame_ancestors(origins: Iterable[str]) -> str:
    """``'none'`` unless some sites may frame the response (a widget's allowed origins)."""
    allowed = sorted({o for o in origins if o.startswith(("https://", "http://"))})
    return " ".join(allowed) if allowed else "'none'"


def script_hashes(html: str) -> list[str]:
    """CSP sources for the inline scripts of a page we do not write ourselves (the docs)."""
    found = []
    for body in _INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        found.append(f"'sha256-{digest}'")
    return found


def docs_csp(html: str) -> str:
    scripts = " ".join([DOCS_CDN, *script_hashes(html)])
    return (
        f"default-src 'self'; script-src 'self' {scripts}; "
        f"style-src 'self' {DOCS_CDN} 'unsafe-inline'; img-src 'self' data: https:; "
        "connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


def is_docs(path: str) -> bool:
    return path in _DOCS_PATHS


def security_headers(
    *,
    content_type: str,
    secure: bool,
    frame_origins: Iterable[str] = (),
) -> dict[str, str]:
    """The headers a response should carry; existing ones of the same name win."""
    ancestors = frame_ancestors(frame_origins)
    base = PAGE_CSP if content_type.startswith("text/html") else API_CSP
    headers = {
        "Content-Security-Policy": f"{base}; frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if ancestors == "'none'":
        headers["X-Frame-Options"] = "DENY"
    if secure:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def merge(existing: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    """Only the wanted headers the response does not set itself (case-insensitive)."""
    have = {name.lower() for name in existing}
    return {name: value for name, value in wanted.items() if name.lower() not in have}
