"""Tenant endpoints: a caller only ever sees its own tenant."""

from __future__ import annotations

from fastapi import APIRouter

from centralita.api.deps import AdminPrincipal, CurrentPrincipal, DbSession
from centralita.api.pagination import Page
from centralita.audit import service as audit_service
from centralita.core.errors import NotFound
from centralita.tenants import service as tenants_service
from centralita.tenants.schemas import TenantRead, TenantUpdate

router = APIRouter(prefix="/tenants", tags=["tenants"])


def _own(principal_tenant: str, tenant_id: str) -> str:
    if tenant_id != principal_tenant:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant_id


@router.get("", summary="List tenants visible to the caller (its own)")
async def list_tenants(db: DbSession, principal: CurrentPrincipal) -> Page[TenantRead]:
    tenant = await tenants_service.get_tenant(db, tenant_id=principal.tenant_id)
    return Page(items=[TenantRead.model_validate(tenant)])


@router.get("/{tenant_id}", responses={404: {}})
async def get_tenant(tenant_id: str, db: DbSession, principal: CurrentPrincipal) -> TenantRead:
    tenant = await tenants_service.get_tenant(db, tenant_id=_own(principal.tenant_id, tenant_id))
    return TenantRead.model_validate(tenant)


@router.patch("/{tenant_id}", responses={404: {}, 422: {}})
async def update_tenant(
    tenant_id: str, body: TenantUpdate, db: DbSession, principal: AdminPrincipal
) -> TenantRead:
    changes = body.model_dump(exclude_unset=True)
    current = await tenants_service.get_tenant(db, tenant_id=_own(principal.tenant_id, tenant_id))
    before = {name: getattr(current, name, None) for name in changes}
    tenant = await tenants_service.update_tenant(db, tenant_id=current.id, **changes)
    audit_service.record_change(
        db,
        tenant_id=tenant.id,
        actor=principal.actor,
        action="tenant.update",
        object_type="tenant",
        object_id=tenant.id,
        before=before,
        after={name: getattr(tenant, name, None) for name in changes},
    )
    return TenantRead.model_validate(tenant)
