"""Jinja2 page rendering with the language, the CSRF token and the security headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from centralita import __version__
from centralita.web import csrf
from centralita.web.csrf import CsrfSigner
from centralita.web.i18n import LANGUAGES, from_accept_language, pick_language, strings

LANG_COOKIE = "centralita_lang"
# No inline script or style anywhere: every asset is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_ENV = Environment(
    loader=PackageLoader("centralita.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES = Jinja2Templates(env=_ENV)


def page_language(request: Request, *, tenant_locale: str | None = None) -> str:
    """An explicit ``?lang=``, then the remembered toggle, the tenant's locale, the browser."""
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        tenant_locale,
        from_accept_language(request.headers.get("accept-language", "")),
    )


def _lang_links(request: Request) -> dict[str, str]:
    links = {}
    for code in LANGUAGES:
        query = {**request.query_params, "lang": code}
        links[code] = request.url.path + "?" + urlencode(query)
    return links


def harden(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _secure(request: Request) -> bool:
    return bool(request.app.state.container.settings.cookie_secure)


def finish(request: Request, response: Response, *, lang: str | None = None) -> Response:
    """Headers and cookies every page response gets (CSRF value, remembered language)."""
    harden(response)
    csrf.set_cookie(request, response, secure=_secure(request))
    if lang and request.query_params.get("lang") == lang:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )
    return response


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    lang: str,
    status_code: int = 200,
) -> Response:
    signer: CsrfSigner | None = getattr(request.app.state, "csrf_signer", None)
    values: dict[str, Any] = {
        "lang": lang,
        "t": strings(lang),
        "csrf_field": csrf.CSRF_FIELD,
        "csrf_token": signer.token_for(csrf.browser_value(request)) if signer else "",
        "version": __version__,
        "lang_links": _lang_links(request),
        "simulator_enabled": request.app.state.container.settings.simulator_enabled,
    }
    values.update(context or {})
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request, template, values, status_code=status_code
    )
    return finish(request, response, lang=lang)


def redirect(request: Request, url: str) -> Response:
    """303 See Other: after a post, and for pages that need a session."""
    return finish(request, RedirectResponse(url, status_code=303))
