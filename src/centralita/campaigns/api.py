"""Campaign endpoints, the opt-out ledger and manual opt-out/opt-in; supervisors and admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import ContainerDep, DbSession, Paging, require
from centralita.api.pagination import Page
from centralita.audit import service as audit_service
from centralita.campaigns import optouts, service
from centralita.campaigns.models import RECIPIENT_STATUSES
from centralita.campaigns.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    OptOutCreate,
    OptOutRead,
    PreviewRead,
    Progress,
    RecipientRead,
)
from centralita.core.errors import InvalidInput

router = APIRouter(tags=["campaigns"])

Supervisor = Annotated[Principal, require(Role.SUPERVISOR)]
_WHY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Supervisors and admins only."},
    404: {"description": "No such id in the caller's tenant."},
    409: {"description": "Not in this state (e.g. starting a campaign that matches nobody)."},
    422: {"description": "Invalid segment, template or field."},
}


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}" if principal.user_id else "api_key"


def _audit(
    db: AsyncSession,
    principal: Principal,
    action: str,
    campaign_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    audit_service.record_change(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=action,
        object_type="campaign",
        object_id=campaign_id,
        data=data,
    )


async def _read(db: DbSession, campaign: Any) -> CampaignRead:
    read = CampaignRead.model_validate(campaign)
    read.progress = Progress(**await service.progress(db, campaign=campaign))
    return read


@router.get("/campaigns", summary="List campaigns, newest first")
async def list_campaigns(
    db: DbSession,
    principal: Supervisor,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[CampaignRead]:
    rows = await service.list_campaigns(db, tenant_id=principal.tenant_id, status=status)
    return Page(items=[await _read(db, c) for c in rows])


@router.post("/campaigns", status_code=201, responses={k: _WHY[k] for k in (403, 422)})
async def create_campaign(
    body: CampaignCreate, db: DbSession, principal: Supervisor, container: ContainerDep
) -> CampaignRead:
    campaign = await service.create_campaign(
        db,
        tenant_id=principal.tenant_id,
        created_by=_actor(principal),
        now=container.clock(),
        **body.model_dump(exclude_none=False),
    )
    _audit(db, principal, "campaign.create", campaign.id, {"name": campaign.name})
    return await _read(db, campaign)


@router.get("/campaigns/{campaign_id}", responses={404: _WHY[404]})
async def get_campaign(campaign_id: str, db: DbSession, principal: Supervisor) -> CampaignRead:
    """The campaign with its progress: total, sent, delivered, failed, skipped by reason."""
    campaign = await service.get_campaign(
        db, tenant_id=principal.tenant_id, campaign_id=campaign_id
    )
    return await _read(db, campaign)


@router.patch("/campaigns/{campaign_id}", responses=_WHY)
async def update_campaign(
    campaign_id: str,
    body: CampaignUpdate,
    db: DbSession,
    principal: Supervisor,
    container: ContainerDep,
) -> CampaignRead:
    changes = body.model_dump(exclude_unset=True)
    campaign = await service.update_campaign(
        db,
        tenant_id=principal.tenant_id,
        campaign_id=campaign_id,
        now=container.clock(),
        **changes,
    )
    _audit(db, principal, "campaign.update", campaign.id, {"set": changes})
    return await _read(db, campaign)


@router.delete("/campaigns/{campaign_id}", status_code=204, responses=_WHY)
async def delete_campaign(campaign_id: str, db: DbSession, principal: Supervisor) -> None:
    await service.delete_campaign(db, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    _audit(db, principal, "campaign.delete", campaign_id)


@router.post("/campaigns/{campaign_id}/preview", responses={404: _WHY[404]})
async def preview_campaign(
    campaign_id: str, db: DbSession, principal: Supervisor, container: ContainerDep
) -> PreviewRead:
    """How many it reaches, why the others are skipped, and sample texts. Changes nothing."""
    result = await service.preview(
        db, tenant_id=principal.tenant_id, campaign_id=campaign_id, now=container.clock()
    )
    return PreviewRead(**result.__dict__)


@router.post("/campaigns/{campaign_id}/start", responses=_WHY)
async def start_campaign(
    campaign_id: str, db: DbSession, principal: Supervisor, container: ContainerDep
) -> CampaignRead:
    """Start now (or schedule for ``start_at``), or resume a paused campaign."""
    campaign = await service.start_campaign(
        db, tenant_id=principal.tenant_id, campaign_id=campaign_id, now=container.clock()
    )
    _audit(db, principal, "campaign.start", campaign.id)
    return await _read(db, campaign)


@router.post("/campaigns/{campaign_id}/pause", responses=_WHY)
async def pause_campaign(
    campaign_id: str, db: DbSession, principal: Supervisor, container: ContainerDep
) -> CampaignRead:
    campaign = await service.pause_campaign(
        db, tenant_id=principal.tenant_id, campaign_id=campaign_id, now=container.clock()
    )
    _audit(db, principal, "campaign.pause", campaign.id)
    return await _read(db, campaign)


@router.post("/campaigns/{campaign_id}/cancel", responses=_WHY)
async def cancel_campaign(
    campaign_id: str, db: DbSession, principal: Supervisor, container: ContainerDep
) -> CampaignRead:
    campaign = await service.cancel_campaign(
        db, tenant_id=principal.tenant_id, campaign_id=campaign_id, now=container.clock()
    )
    _audit(db, principal, "campaign.cancel", campaign.id)
    return await _read(db, campaign)


@router.get("/campaigns/{campaign_id}/recipients", responses={404: _WHY[404]})
async def list_recipients(
    campaign_id: str,
    db: DbSession,
    principal: Supervisor,
    page: Paging,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[RecipientRead]:
    if status is not None and status not in RECIPIENT_STATUSES:
        raise InvalidInput.for_field("status", f"use one of {', '.join(RECIPIENT_STATUSES)}")
    rows = await service.list_recipients(
        db,
        tenant_id=principal.tenant_id,
        campaign_id=campaign_id,
        status=status,
        limit=page.limit + 1,
        cursor=page.cursor,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[RecipientRead.model_validate(r) for r in rows],
        next_cursor=rows[-1].id if more else None,
    )


@router.get("/opt-outs", summary="The opt-out ledger, newest first")
async def list_opt_outs(
    db: DbSession,
    principal: Supervisor,
    page: Paging,
    contact_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[OptOutRead]:
    rows = await optouts.list_entries(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        limit=page.limit + 1,
        cursor=page.cursor,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[OptOutRead.model_validate(r) for r in rows],
        next_cursor=rows[-1].id if more else None,
    )


async def _manual(
    action: str,
    contact_id: str,
    body: OptOutCreate | None,
    db: DbSession,
    principal: Principal,
    container: ContainerDep,
) -> OptOutRead:
    row = await optouts.record(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        action=action,
        channel=(body or OptOutCreate()).channel,
        source=(body or OptOutCreate()).source,
        actor=_actor(principal),
        now=container.clock(),
    )
    return OptOutRead.model_validate(row)


@router.post("/contacts/{contact_id}/opt-out", status_code=201, responses={404: _WHY[404]})
async def opt_out_contact(
    contact_id: str,
    db: DbSession,
    principal: Supervisor,
    container: ContainerDep,
    body: OptOutCreate | None = None,
) -> OptOutRead:
    """Record that the contact asked (by phone, in person) to get no more messages."""
    return await _manual("opt_out", contact_id, body, db, principal, container)


@router.post("/contacts/{contact_id}/opt-in", status_code=201, responses={404: _WHY[404]})
async def opt_in_contact(
    contact_id: str,
    db: DbSession,
    principal: Supervisor,
    container: ContainerDep,
    body: OptOutCreate | None = None,
) -> OptOutRead:
    """Record that the contact explicitly asked to hear from us again."""
    return await _manual("opt_in", contact_id, body, db, principal, container)
