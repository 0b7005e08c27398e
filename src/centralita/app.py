"""The ASGI application factory: frameworks live at this edge only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from centralita import __version__
from centralita.analytics.metrics import router as metrics_router
from centralita.api import errors
from centralita.api.health import router as health_router
from centralita.api.limits import RequestLimits
from centralita.api.router import v1_router
from centralita.bootstrap import Container, build_container
from centralita.channels.api import router as hooks_router
from centralita.channels.webchat_api import router as webchat_router
from centralita.config import Settings, load_settings
from centralita.idempotency.middleware import IdempotencyMiddleware
from centralita.realtime.socket import router as desk_socket_router
from centralita.scheduling.api import public_router as ical_router
from centralita.staff_messages.api import router as staff_messages_router
from centralita.staff_messages.pages import router as staff_message_pages_router
from centralita.web.hardening import SecurityHeaders


def create_app(container: Container | None = None, settings: Settings | None = None) -> FastAPI:
    if container is None:
        container = build_container(settings or load_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await container.start()
        try:
            yield
        finally:
            await container.stop()

    app = FastAPI(
        title="Centralita API",
        version=__version__,
        description="AI virtual receptionist and omnichannel contact center.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(health_router)
    # Routes are tried in order: the provider webhooks, the busiest, come before the API's
    # hundred routes (matching them all cost ~0.8 ms per webhook, docs/benchmarks.md).
    app.include_router(hooks_router)
    app.include_router(v1_router())
    app.include_router(webchat_router)
    app.include_router(desk_socket_router)
    app.include_router(staff_messages_router)
    app.include_router(staff_message_pages_router)
    app.include_router(ical_router)
    app.include_router(metrics_router)
    from centralita.web.routes import install as install_web

    install_web(app)
    # Outermost last: limits first, then Idempotency-Key (which needs the checked body).
    app.add_middleware(IdempotencyMiddleware, container=container)
    limits = container.settings
    app.add_middleware(
        RequestLimits,
        max_bytes=limits.max_body_bytes,
        max_json_depth=limits.max_json_depth,
        body_timeout=limits.request_body_timeout_seconds,
    )
    # Outermost: the security headers go on every answer, the limits' 413 and 408 included.
    app.add_middleware(SecurityHeaders, secure=container.settings.cookie_secure)
    return app
