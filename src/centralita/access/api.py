"""User and API key endpoints (admin only, except reading oneself)."""

from __future__ import annotations

from fastapi import APIRouter

from centralita.access import service as access_service
from centralita.access.models import User
from centralita.access.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from centralita.api.deps import (
    AdminPrincipal,
    ContainerDep,
    CurrentPrincipal,
    DbSession,
    ForgetPrincipals,
)
from centralita.api.pagination import Page
from centralita.audit import service as audit_service

router = APIRouter(tags=["access"])


def _auditable(user: User) -> dict[str, object]:
    """The fields an audit diff may show (never the password hash)."""
    return {"name": user.name, "role": user.role, "disabled": user.disabled}


@router.get("/users", summary="List the tenant's users")
async def list_users(db: DbSession, principal: CurrentPrincipal) -> Page[UserRead]:
    users = await access_service.list_users(db, tenant_id=principal.tenant_id)
    return Page(items=[UserRead.model_validate(u) for u in users])


@router.post("/users", status_code=201, responses={409: {}, 422: {}})
async def create_user(
    body: UserCreate, db: DbSession, principal: AdminPrincipal, container: ContainerDep
) -> UserRead:
    user = await access_service.create_user(
        db,
        tenant_id=principal.tenant_id,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        cheap_hash=container.settings.password_hash_cheap,
    )
    audit_service.record(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        data={"role": user.role},
    )
    return UserRead.model_validate(user)


@router.get("/users/{user_id}", responses={404: {}})
async def get_user(user_id: str, db: DbSession, principal: CurrentPrincipal) -> UserRead:
    user = await access_service.get_user(db, tenant_id=principal.tenant_id, user_id=user_id)
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", responses={404: {}, 422: {}})
async def update_user(
    _forget: ForgetPrincipals,  # first: disabling a user revokes the keys they created
    user_id: str,
    body: UserUpdate,
    db: DbSession,
    principal: AdminPrincipal,
    container: ContainerDep,
) -> UserRead:
    changes = body.model_dump(exclude_unset=True)
    current = await access_service.get_user(db, tenant_id=principal.tenant_id, user_id=user_id)
    before = _auditable(current)
    user = await access_service.update_user(
        db,
        tenant_id=principal.tenant_id,
        user_id=user_id,
        cheap_hash=container.settings.password_hash_cheap,
        **changes,
    )
    after = _auditable(user)
    if "password" in changes:
        after["password"] = object()  # differs from anything: the diff says "[changed]" only
    audit_service.record_change(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        before=before,
        after=after,
        data={"fields": sorted(changes)},
    )
    return UserRead.model_validate(user)


@router.get("/api-keys", summary="List API keys (secrets are never shown again)")
async def list_api_keys(db: DbSession, principal: AdminPrincipal) -> Page[ApiKeyRead]:
    keys = await access_service.list_api_keys(db, tenant_id=principal.tenant_id)
    return Page(items=[ApiKeyRead.model_validate(k) for k in keys])


@router.post("/api-keys", status_code=201, responses={422: {}})
async def create_api_key(
    body: ApiKeyCreate, db: DbSession, principal: AdminPrincipal
) -> ApiKeyIssued:
    issued = await access_service.create_api_key(
        db,
        tenant_id=principal.tenant_id,
        name=body.name,
        role=body.role,
        created_by=principal.actor,
    )
    audit_service.record(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="api_key.create",
        object_type="api_key",
        object_id=issued.key.id,
    )
    return ApiKeyIssued(**ApiKeyRead.model_validate(issued.key).model_dump(), secret=issued.secret)


@router.get("/api-keys/{key_id}", responses={404: {}})
async def get_api_key(key_id: str, db: DbSession, principal: AdminPrincipal) -> ApiKeyRead:
    key = await access_service.get_api_key(db, tenant_id=principal.tenant_id, key_id=key_id)
    return ApiKeyRead.model_validate(key)


@router.delete("/api-keys/{key_id}", responses={404: {}})
async def revoke_api_key(
    _forget: ForgetPrincipals,  # first, so that it forgets after the commit
    key_id: str,
    db: DbSession,
    principal: AdminPrincipal,
) -> ApiKeyRead:
    key = await access_service.revoke_api_key(db, tenant_id=principal.tenant_id, key_id=key_id)
    audit_service.record(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="api_key.revoke",
        object_type="api_key",
        object_id=key.id,
    )
    return ApiKeyRead.model_validate(key)
