"""Sign-in, sign-out and the signed-in home page."""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi import APIRouter, Request, Response

from centralita.access import login as access_login
from centralita.access import service as access_service
from centralita.api.deps import SESSION_COOKIE, ContainerDep
from centralita.tenants import service as tenants_service
from centralita.web import csrf
from centralita.web.deps import CheckedForm, Signer, WebPrincipal
from centralita.web.rendering import page_language, redirect, render

router = APIRouter(include_in_schema=False)


def client_address(request: Request) -> str:
    """The peer's address (a proxy in front must pass the real one to uvicorn)."""
    return request.client.host if request.client else "unknown"


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


@router.get("/")
async def root(request: Request) -> Response:
    return redirect(request, "/app")


@router.get("/login")
async def login_form(request: Request, principal: WebPrincipal, _: Signer) -> Response:
    if principal is not None:
        return redirect(request, "/app")
    return render(
        request, "login.html", {"workspace": "", "email": ""}, lang=page_language(request)
    )


@router.post("/login")
async def login(request: Request, form: CheckedForm, container: ContainerDep) -> Response:
    settings = container.settings
    workspace = _text(form.get("workspace"), 63).strip().lower()
    email = _text(form.get("email"), 254).strip()
    password = _text(form.get("password"), 1024)
    absolute = timedelta(hours=settings.session_absolute_hours)
    async with container.sessions() as session, session.begin():
        outcome = await access_login.sign_in(
            session,
            tenant_slug=workspace,
            email=email,
            password=password,
            client=client_address(request),
            now=container.clock(),
        )
        # Whatever the outcome, a session cookie the browser had before is worth nothing now.
        old = request.cookies.get(SESSION_COOKIE)
        if old and len(old) <= 200:
            await access_service.end_session(session, token=old)
        issued = None
        if outcome.user is not None:
            issued = await access_service.start_session(
                session,
                user=outcome.user,
                absolute=absolute,
                user_agent=request.headers.get("user-agent"),
            )
    lang = page_language(request)
    if outcome.retry_after is not None:
        seconds = max(1, math.ceil(outcome.retry_after.total_seconds()))
        context = {"workspace": workspace, "email": email, "locked": True}
        response = render(request, "login.html", context, lang=lang, status_code=429)
        response.headers["Retry-After"] = str(seconds)
        _forget_session(response, secure=settings.cookie_secure)
        return response
    if issued is None:
        # One message whatever was wrong, so the form does not reveal who has an account.
        context = {"workspace": workspace, "email": email, "error": True}
        return render(request, "login.html", context, lang=lang, status_code=400)
    csrf.rotate(request)
    response = redirect(request, "/app")
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(absolute.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, _: CheckedForm, container: ContainerDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with container.sessions() as session, session.begin():
            await access_service.end_session(session, token=token)
    response = redirect(request, "/login")
    _forget_session(response, secure=container.settings.cookie_secure)
    return response


def _forget_session(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


@router.get("/app")
async def home(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    if principal is None or principal.user_id is None:
        response = redirect(request, "/login")
        if request.cookies.get(SESSION_COOKIE):
            _forget_session(response, secure=container.settings.cookie_secure)
        return response
    async with container.sessions() as session:
        user = await access_service.get_user(
            session, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
        tenant = await tenants_service.get_tenant(session, tenant_id=principal.tenant_id)
    lang = page_language(request, tenant_locale=tenant.locale)
    return render(request, "app.html", {"user": user, "tenant": tenant}, lang=lang)
