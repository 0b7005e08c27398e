"""Survey endpoints: what was asked after each interaction and what the customers answered.

Supervisors and admins (or an API key with one of those roles); tenant-scoped, a foreign or
unknown id is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import DbSession, Paging, require
from centralita.api.pagination import Page
from centralita.core.ids import ID_PATTERN
from centralita.surveys import service as surveys_service
from centralita.surveys.schemas import SurveyRead

router = APIRouter(tags=["surveys"])
SupervisorPrincipal = Annotated[Principal, require(Role.SUPERVISOR)]


@router.get("/surveys", summary="List surveys, newest first")
async def list_surveys(
    db: DbSession,
    principal: SupervisorPrincipal,
    page: Paging,
    status: Annotated[Literal["sent", "answered", "expired", "skipped"] | None, Query()] = None,
    kind: Annotated[Literal["csat", "nps", "ces"] | None, Query()] = None,
    agent_id: Annotated[str | None, Query(max_length=40, pattern=ID_PATTERN)] = None,
    since: Annotated[datetime | None, Query(description="Sent at or after this time")] = None,
) -> Page[SurveyRead]:
    result = await surveys_service.list_surveys(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        status=status,
        kind=kind,
        agent_id=agent_id,
        since=since,
    )
    return Page(
        items=[SurveyRead.model_validate(s) for s in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/surveys/{survey_id}", responses={404: {}})
async def get_survey(survey_id: str, db: DbSession, principal: SupervisorPrincipal) -> SurveyRead:
    survey = await surveys_service.get_survey(
        db, tenant_id=principal.tenant_id, survey_id=survey_id
    )
    return SurveyRead.model_validate(survey)
