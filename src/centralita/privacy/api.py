"""Privacy endpoints: a contact's export and consent (supervisors), erasure (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import AdminPrincipal, ContainerDep, DbSession, Paging, require
from centralita.api.pagination import Page
from centralita.privacy import service
from centralita.privacy.schemas import ConsentRead, ErasureCreate, ErasureRead, LedgerEntry

router = APIRouter(tags=["privacy"])

Supervisor = Annotated[Principal, require(Role.SUPERVISOR)]
_WHY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not allowed for this role."},
    404: {"description": "No such contact in the caller's tenant (or it was erased)."},
    409: {"description": "The contact was merged into another: erase that one."},
    422: {"description": "Invalid field."},
}
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The archive."}
}


def _sealed(container: ContainerDep) -> Any:
    settings = container.settings
    return service.sealed_store(settings.data_dir, settings.secret_key.get_secret_value())


@router.get(
    "/contacts/{contact_id}/export",
    summary="Everything held about a contact, as one ZIP archive",
    response_class=Response,
    responses={**_ZIP, **{k: _WHY[k] for k in (403, 404)}},
)
async def export_contact(
    contact_id: str, db: DbSession, principal: Supervisor, container: ContainerDep
) -> Response:
    data = await service.export_contact(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        blobs=container.blobs,
        actor=principal.actor,
        now=container.clock(),
    )
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{contact_id}-export.zip"'},
    )


@router.post(
    "/contacts/{contact_id}/erasure",
    status_code=201,
    summary="Erase a contact: blocked now, destroyed after the blocking period",
    responses={k: _WHY[k] for k in (403, 404, 409, 422)},
)
async def erase_contact(
    contact_id: str,
    db: DbSession,
    principal: AdminPrincipal,
    container: ContainerDep,
    body: ErasureCreate | None = None,
) -> ErasureRead:
    body = body or ErasureCreate()
    row = await service.block_contact(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        actor=principal.actor,
        now=container.clock(),
        sealed=_sealed(container),
        blobs=container.blobs,
        redis_url=container.settings.redis_url,
        ground=body.ground,
        destroy_now=body.destroy_now,
    )
    return ErasureRead.of(row)


@router.get("/erasures", summary="Erasure requests, newest first", responses={403: _WHY[403]})
async def list_erasures(
    db: DbSession,
    principal: AdminPrincipal,
    page: Paging,
    status: Annotated[Literal["blocked", "destroyed"] | None, Query()] = None,
) -> Page[ErasureRead]:
    rows = await service.list_erasures(
        db, tenant_id=principal.tenant_id, status=status, limit=page.limit + 1, cursor=page.cursor
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(items=[ErasureRead.of(r) for r in rows], next_cursor=rows[-1].id if more else None)


@router.get(
    "/contacts/{contact_id}/consent",
    summary="A contact's consent: flags, state per channel and the opt-in/opt-out ledger",
    responses={k: _WHY[k] for k in (403, 404)},
)
async def contact_consent(contact_id: str, db: DbSession, principal: Supervisor) -> ConsentRead:
    found = await service.consent(db, tenant_id=principal.tenant_id, contact_id=contact_id)
    return ConsentRead(
        contact_id=found["contact_id"],
        flags=found["flags"],
        channels=found["channels"],
        ledger=[LedgerEntry.model_validate(e) for e in found["ledger"]],
    )
