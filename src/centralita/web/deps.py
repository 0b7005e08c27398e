"""FastAPI dependencies of the web pages: the signed-in user and the CSRF checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from centralita.access import service as access_service
from centralita.access.principal import Principal
from centralita.api.deps import SESSION_COOKIE, ContainerDep
from centralita.tenants import service as tenants_service
from centralita.web import csrf
from centralita.web.csrf import CsrfSigner


class WebDisabled(Exception):
    """The server has no secret key, so it cannot sign sessions' CSRF tokens: answer 503."""


async def get_signer(request: Request) -> CsrfSigner:
    signer: CsrfSigner | None = getattr(request.app.state, "csrf_signer", None)
    if signer is None:
        raise WebDisabled("set CENTRALITA_SECRET_KEY to enable web sign-in")
    return signer


Signer = Annotated[CsrfSigner, Depends(get_signer)]


async def get_web_principal(request: Request, container: ContainerDep) -> Principal | None:
    """The user behind the session cookie, or None; idle and absolute expiry apply."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    idle = timedelta(minutes=container.settings.session_idle_minutes)
    async with container.sessions() as session, session.begin():
        principal = await access_service.resolve_session(session, token=token, idle=idle)
        if principal is None:
            return None
        tenant = await tenants_service.get_tenant(session, tenant_id=principal.tenant_id)
        return None if tenant.disabled else principal


WebPrincipal = Annotated[Principal | None, Depends(get_web_principal)]


async def checked_form(request: Request, signer: Signer) -> FormData:
    """The posted form, once its CSRF token is valid (raises ``CsrfError`` otherwise)."""
    form = await request.form()
    csrf.check_form(signer, request, form)
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


async def checked_header(request: Request, signer: Signer) -> None:
    """A JSON call from our own page: the ``X-CSRF-Token`` header must be valid."""
    csrf.check_header(signer, request)


CsrfHeader = Depends(checked_header)
