"""Campaign pages for supervisors: the list with a progress bar each, and one campaign's
results by status and skip reason. Server-rendered, no script; progress is ``<progress>``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from centralita.access import service as access_service
from centralita.access.models import Role
from centralita.api.deps import ContainerDep
from centralita.campaigns import service as campaigns_service
from centralita.core.errors import NotFound
from centralita.tenants import service as tenants_service
from centralita.web.deps import Signer, WebPrincipal
from centralita.web.rendering import page_language, redirect, render

router = APIRouter(include_in_schema=False)

STATUS_ORDER = ("pending", "sent", "delivered", "failed", "skipped")


async def _open(
    request: Request, principal: Any, container: Any
) -> tuple[dict[str, Any], str] | Response:
    if principal is None or principal.user_id is None:
        return redirect(request, "/login")
    async with container.sessions() as session:
        user = await access_service.get_user(
            session, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
        tenant = await tenants_service.get_tenant(session, tenant_id=principal.tenant_id)
    lang = page_language(request, tenant_locale=tenant.locale)
    context: dict[str, Any] = {"user": user, "tenant": tenant, "statuses": STATUS_ORDER}
    if not principal.at_least(Role.SUPERVISOR):
        context["forbidden"] = True
        return render(request, "campaigns.html", context, lang=lang, status_code=403)
    return context, lang


@router.get("/campaigns")
async def campaigns_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """Every campaign, newest first, with its status and progress."""
    opened = await _open(request, principal, container)
    if isinstance(opened, Response):
        return opened
    context, lang = opened
    rows = []
    async with container.sessions() as session:
        for campaign in await campaigns_service.list_campaigns(
            session, tenant_id=context["tenant"].id
        ):
            progress = await campaigns_service.progress(session, campaign=campaign)
            rows.append({"campaign": campaign, "progress": progress})
    context["rows"] = rows
    return render(request, "campaigns.html", context, lang=lang)


@router.get("/campaigns/{campaign_id}")
async def campaign_page(
    campaign_id: str,
    request: Request,
    principal: WebPrincipal,
    container: ContainerDep,
    _: Signer,
) -> Response:
    """One campaign: its progress, and the results by status and by skip reason."""
    opened = await _open(request, principal, container)
    if isinstance(opened, Response):
        return opened
    context, lang = opened
    async with container.sessions() as session:
        try:
            campaign = await campaigns_service.get_campaign(
                session, tenant_id=context["tenant"].id, campaign_id=campaign_id
            )
        except NotFound:
            context["missing"] = True
            return render(request, "campaigns_detail.html", context, lang=lang, status_code=404)
        progress = await campaigns_service.progress(session, campaign=campaign)
    context.update(campaign=campaign, progress=progress)
    return render(request, "campaigns_detail.html", context, lang=lang)
