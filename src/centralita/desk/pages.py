"""The agent desktop (``/desk``) and the supervisor wallboard (``/wallboard``) pages.

Both are server-rendered shells: the scripts (``static/desk.js``, ``static/wallboard.js``)
load the data from the API with the session cookie and follow the live socket. The
translated labels the scripts need are rendered into a ``data-i18n`` attribute.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import SESSION_COOKIE, ContainerDep
from centralita.bootstrap import Container
from centralita.routing.desk import WRAPUP_CODES
from centralita.tenants import service as tenants_service
from centralita.tenants.models import StaffMember
from centralita.web.deps import Signer, WebPrincipal
from centralita.web.i18n import strings
from centralita.web.rendering import page_language, redirect, render

router = APIRouter(include_in_schema=False)

# The labels the scripts use: every key with one of these prefixes.
_SCRIPT_PREFIXES = (
    "desk_", "wb_", "pres_", "wc_", "urg_", "in_", "sent_", "ap_", "sm_", "addr_", "sc_",
    "al_", "int_", "pod_", "ch_", "st_", "conv_", "error",
)  # fmt: skip
CHANNELS = ("whatsapp", "sms", "voice", "email", "webchat")
PRESENCES = ("available", "busy", "away", "offline")
SHORTCUTS = (
    ("a", "sc_accept"), ("d", "sc_decline"), ("j", "sc_next"), ("k", "sc_prev"),
    ("r", "sc_reply"), ("n", "sc_note"), ("t", "sc_transfer"), ("e", "sc_resolve"),
    ("1 2 3 4", "sc_presence"), ("Ctrl+Enter", "sc_send"), ("Esc", "sc_escape"),
    ("?", "sc_help"),
)  # fmt: skip


def script_strings(lang: str) -> dict[str, str]:
    """The labels ``desk.js`` and ``wallboard.js`` need, in the page's language."""
    return {k: v for k, v in strings(lang).items() if k.startswith(_SCRIPT_PREFIXES)}


def _signed_out(request: Request, container: Container) -> Response:
    response = redirect(request, "/login")
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=container.settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )
    return response


async def _page_context(
    request: Request, principal: Principal, container: Container
) -> tuple[dict[str, Any], str]:
    assert principal.user_id is not None
    async with container.sessions() as session:
        user = await access_service.get_user(
            session, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
        tenant = await tenants_service.get_tenant(session, tenant_id=principal.tenant_id)
        staff = await session.scalar(
            select(StaffMember).where(
                StaffMember.tenant_id == principal.tenant_id,
                StaffMember.user_id == principal.user_id,
            )
        )
    lang = page_language(request, tenant_locale=tenant.locale)
    context: dict[str, Any] = {
        "user": user,
        "tenant": tenant,
        "staff": staff,
        "supervisor": principal.at_least(Role.SUPERVISOR),
        "script_strings": script_strings(lang),
        "channels": CHANNELS,
        "presences": PRESENCES,
        "shortcuts": SHORTCUTS,
        "wrapup_codes": WRAPUP_CODES,
    }
    return context, lang


@router.get("/desk")
async def desk_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """The agent desktop: offers, conversations, the customer 360° panel."""
    if principal is None or principal.user_id is None:
        return _signed_out(request, container)
    context, lang = await _page_context(request, principal, container)
    return render(request, "desk.html", context, lang=lang)


@router.get("/wallboard")
async def wallboard_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """The supervisor wallboard; agents get a 403 page that points to their desktop."""
    if principal is None or principal.user_id is None:
        return _signed_out(request, container)
    context, lang = await _page_context(request, principal, container)
    if not context["supervisor"]:
        context["forbidden"] = True
        return render(request, "wallboard.html", context, lang=lang, status_code=403)
    return render(request, "wallboard.html", context, lang=lang)
