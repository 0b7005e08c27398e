"""``GET /audit``: the tenant's audit log, for admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from centralita.api.deps import AdminPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.audit import service as audit_service
from centralita.audit.schemas import AuditEntryRead
from centralita.core.errors import InvalidInput

router = APIRouter(tags=["audit"])
_NAME = r"^[A-Za-z0-9_.:*-]+$"


@router.get(
    "/audit",
    summary="The audit log, newest first: administrative changes and reads of personal data",
    responses={403: {}, 422: {}},
)
async def list_audit(
    db: DbSession,
    principal: AdminPrincipal,
    page: Paging,
    actor: Annotated[
        str | None, Query(max_length=80, pattern=_NAME, description="user:<id> or api_key:<id>")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=80, pattern=_NAME, description="e.g. user.update, or contact.* "),
    ] = None,
    object_type: Annotated[str | None, Query(max_length=40, pattern=_NAME)] = None,
    object_id: Annotated[str | None, Query(max_length=40, pattern=_NAME)] = None,
    since: Annotated[AwareDatetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="until (exclusive)")] = None,
) -> Page[AuditEntryRead]:
    if since is not None and until is not None and until <= since:
        raise InvalidInput.for_field("query.until", "must be after since")
    found = await audit_service.search(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    return Page(
        items=[AuditEntryRead.model_validate(e) for e in found.items],
        next_cursor=found.next_cursor,
    )
