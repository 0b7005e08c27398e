"""The v1 API: one router per domain, mounted under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from centralita.access.api import router as access_router
from centralita.analytics.api import router as analytics_router
from centralita.api.deps import reject_nul
from centralita.api.problems import declare as declare_problems
from centralita.audit.api import router as audit_router
from centralita.campaigns.api import router as campaigns_router
from centralita.contacts.api import router as contacts_router
from centralita.conversations.api import router as conversations_router
from centralita.desk.api import router as desk_router
from centralita.privacy.api import router as privacy_router
from centralita.receptionist.api import router as receptionist_router
from centralita.routing.api import router as routing_router
from centralita.scheduling.api import router as scheduling_router
from centralita.spam.api import router as spam_router
from centralita.surveys.api import router as surveys_router
from centralita.tenants.api import router as tenants_router
from centralita.webhooks.api import router as webhooks_router


def v1_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_nul)])
    for sub in (
        tenants_router,
        access_router,
        contacts_router,
        conversations_router,
        scheduling_router,
        spam_router,
        receptionist_router,
        routing_router,
        desk_router,
        analytics_router,
        surveys_router,
        campaigns_router,
        privacy_router,
        audit_router,
        webhooks_router,
    ):
        router.include_router(sub)
    declare_problems(router.routes, api=True)  # the edge's own answers, in the OpenAPI
    return router
