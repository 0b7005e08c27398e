"""Staff message endpoints: the inbox of messages taken for staff, and acknowledging one."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query

from centralita.api.deps import CurrentPrincipal, DbSession, Paging, reject_nul
from centralita.api.pagination import Page
from centralita.core.clock import utcnow
from centralita.staff_messages import service as staff_messages_service
from centralita.staff_messages.models import StaffMessageDelivery
from centralita.staff_messages.schemas import (
    StaffMessageDeliveryRead,
    StaffMessageDetail,
    StaffMessageRead,
    StaffMessageStatus,
)

# Mounted by app.py as it is: the prefix and the NUL check match the other v1 routers.
router = APIRouter(prefix="/api/v1", tags=["staff messages"], dependencies=[Depends(reject_nul)])

_PROBLEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["title", "status", "detail"],
}
_WHY = {
    401: "Not authenticated.",
    404: "No such id in the caller's tenant.",
    422: "Invalid input; `errors` names each bad field.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "description": _WHY[code],
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
        for code in (401, *codes)
    }


StaffKey = Annotated[
    str | None,
    Query(
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$",
        description="Only messages for this staff key.",
    ),
]


def _delivery_read(row: StaffMessageDelivery) -> StaffMessageDeliveryRead:
    read = StaffMessageDeliveryRead.model_validate(row)
    if row.channel == "webhook":  # the URL's path is its secret: show where it goes, no more
        parts = urlsplit(row.target)
        read.target = f"{parts.scheme}://{parts.hostname or ''}/…"
    return read


@router.get(
    "/staff-messages", summary="List messages taken for staff, newest first", responses=_errors(422)
)
async def list_staff_messages(
    db: DbSession,
    principal: CurrentPrincipal,
    page: Paging,
    recipient_key: StaffKey = None,
    status: Annotated[StaffMessageStatus | None, Query()] = None,
) -> Page[StaffMessageRead]:
    result = await staff_messages_service.list_messages(
        db, principal.tenant_id, recipient_key=recipient_key, status=status, paging=page
    )
    return Page(
        items=[StaffMessageRead.model_validate(m) for m in result.items],
        next_cursor=result.next_cursor,
    )


@router.get(
    "/staff-messages/{staff_message_id}",
    summary="One staff message, with how it was delivered",
    responses=_errors(404, 422),
)
async def get_staff_message(
    staff_message_id: str, db: DbSession, principal: CurrentPrincipal
) -> StaffMessageDetail:
    message = await staff_messages_service.get_message(db, principal.tenant_id, staff_message_id)
    deliveries = await staff_messages_service.list_deliveries(
        db, tenant_id=principal.tenant_id, message_id=message.id
    )
    read = StaffMessageRead.model_validate(message)
    return StaffMessageDetail(
        **read.model_dump(), deliveries=[_delivery_read(d) for d in deliveries]
    )


@router.post(
    "/staff-messages/{staff_message_id}/acknowledge",
    summary="Acknowledge a staff message (idempotent); stops its escalation",
    responses=_errors(404, 422),
)
async def acknowledge_staff_message(
    staff_message_id: str, db: DbSession, principal: CurrentPrincipal
) -> StaffMessageRead:
    message = await staff_messages_service.acknowledge(
        db,
        tenant_id=principal.tenant_id,
        message_id=staff_message_id,
        actor=principal.actor,
        now=utcnow(),
    )
    return StaffMessageRead.model_validate(message)
