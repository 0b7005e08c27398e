"""Web pages are mounted here: static files, sign-in, home and (when enabled) the simulator."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from starlette.staticfiles import StaticFiles

from centralita.analytics.pages import router as analytics_pages_router
from centralita.api.errors import problem
from centralita.campaigns.pages import router as campaign_pages_router
from centralita.desk.pages import router as desk_pages_router
from centralita.web.csrf import CsrfError, CsrfSigner
from centralita.web.deps import WebDisabled
from centralita.web.pages import router as pages_router
from centralita.web.rendering import harden, page_language, render
from centralita.web.simulator import router as simulator_router

log = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/simulator/api/") or request.headers.get(
        "content-type", ""
    ).startswith("application/json")


def install(app: FastAPI) -> None:
    settings = app.state.container.settings
    secret = settings.secret_key.get_secret_value()
    if secret:
        max_age = settings.session_absolute_hours * 3600
        app.state.csrf_signer = CsrfSigner(secret, max_age_seconds=max_age)
    else:
        # Nothing insecure is derived: the pages answer 503 and say how to fix it.
        app.state.csrf_signer = None
        log.error("web sign-in is disabled: CENTRALITA_SECRET_KEY is empty")

    app.mount("/static", StaticFiles(packages=[("centralita.web", "static")]), name="static")
    app.include_router(pages_router)
    app.include_router(desk_pages_router)
    app.include_router(analytics_pages_router)
    app.include_router(campaign_pages_router)
    if settings.simulator_enabled:
        app.include_router(simulator_router)

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError) -> Response:
        log.info("CSRF check failed on %s: %s", request.url.path, exc)
        if _wants_json(request):
            return harden(problem(403, "Forbidden", f"CSRF check failed: {exc}"))
        lang = page_language(request)
        return render(request, "csrf.html", lang=lang, status_code=403)

    @app.exception_handler(WebDisabled)
    async def web_disabled(request: Request, exc: WebDisabled) -> Response:
        if _wants_json(request):
            return harden(problem(503, "Service unavailable", str(exc)))
        return render(request, "disabled.html", lang=page_language(request), status_code=503)
