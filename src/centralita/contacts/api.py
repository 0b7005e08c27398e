"""Contact endpoints: CRUD, addresses, find-or-create, merges and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access.principal import Principal
from centralita.api.deps import CurrentPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.api.problems import PROBLEM_SCHEMA
from centralita.audit import service as audit_service
from centralita.contacts import merge as contacts_merge
from centralita.contacts import rules
from centralita.contacts import service as contacts_service
from centralita.contacts.models import ContactMerge
from centralita.contacts.schemas import (
    AddressIn,
    AddressRead,
    ContactAuditEntryRead,
    ContactCreate,
    ContactLookup,
    ContactLookupRead,
    ContactMergeRead,
    ContactRead,
    ContactUpdate,
    MergePreviewRead,
    MergeRequest,
)
from centralita.conversations import scoping
from centralita.conversations.deps import Scope
from centralita.conversations.visibility import AgentScope
from centralita.tenants import service as tenants_service

router = APIRouter(tags=["contacts"])

_PROBLEM_SCHEMA = PROBLEM_SCHEMA  # the shared problem+json shape (api/problems.py)
_WHY = {
    400: "The body is not readable JSON.",
    401: "Not authenticated.",
    404: "No such id in the caller's tenant (or not one the caller may see).",
    409: "Conflicts with the current state; the detail says why.",
    422: "Invalid input; `errors` names each bad field.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "description": _WHY[code],
            "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
        }
        for code in (401, *codes)
    }


NoControl = r"^[^\x00-\x1f\x7f]*$"


async def _region(db: AsyncSession, principal: Principal) -> str | None:
    """Phone numbers typed without a country code are read in the tenant's country."""
    tenant = await tenants_service.get_tenant(db, tenant_id=principal.tenant_id)
    return tenant.country


async def _visible(
    db: AsyncSession, principal: Principal, scope: AgentScope | None, contact_id: str
) -> None:
    await scoping.check_contact(
        db, tenant_id=principal.tenant_id, contact_id=contact_id, scope=scope
    )


def _merge_read(merge: ContactMerge) -> ContactMergeRead:
    return ContactMergeRead(
        id=merge.id,
        winner_id=merge.winner_id,
        loser_id=merge.loser_id,
        performed_by=merge.performed_by,
        performed_at=merge.performed_at,
        undone_at=merge.undone_at,
        moved=contacts_merge.moved_counts(merge),
    )


@router.get("/contacts", summary="List contacts, newest first", responses=_errors(422))
async def list_contacts(
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
    page: Paging,
    q: Annotated[
        str | None,
        Query(max_length=100, pattern=NoControl, description="Part of a name or an address"),
    ] = None,
    tag: Annotated[str | None, Query(max_length=40, pattern=NoControl)] = None,
) -> Page[ContactRead]:
    result = await contacts_service.list_contacts(
        db,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        q=q,
        tag=tag,
        only=None if scope is None else scoping.visible_contacts(principal.tenant_id, scope),
    )
    if result.items:
        await audit_service.record_read(
            db,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            object_type="contact",
            object_id="list",
            # the ids shown, not the search words: those may be a name or a number
            data={"ids": [c.id for c in result.items], "searched": q is not None, "tag": tag},
        )
    return Page(
        items=[ContactRead.model_validate(c) for c in result.items], next_cursor=result.next_cursor
    )


@router.post("/contacts", status_code=201, responses=_errors(400, 409, 422))
async def create_contact(
    body: ContactCreate, db: DbSession, principal: CurrentPrincipal
) -> ContactRead:
    data = body.model_dump(exclude={"addresses"})
    contact = await contacts_service.create_contact(
        db,
        tenant_id=principal.tenant_id,
        addresses=[(a.kind, a.value, a.label) for a in body.addresses],
        default_region=await _region(db, principal),
        actor=principal.actor,
        **data,
    )
    return ContactRead.model_validate(contact)


@router.post(
    "/contacts/lookup",
    summary="Find the contact that owns an address, creating it if nobody does",
    responses=_errors(400, 404, 422),
)
async def lookup_contact(
    body: ContactLookup, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactLookupRead:
    found = await contacts_service.find_or_create_by_address(
        db,
        tenant_id=principal.tenant_id,
        kind=body.kind,
        value=body.value,
        name=rules.check_name(body.name),
        source="api",
        default_region=await _region(db, principal),
        actor=principal.actor,
    )
    if not found.created:  # a new contact is the caller's to see; an existing one may not be
        await _visible(db, principal, scope, found.contact.id)
    return ContactLookupRead(
        created=found.created, contact=ContactRead.model_validate(found.contact)
    )


@router.get("/contacts/{contact_id}", responses=_errors(404, 422))
async def get_contact(
    contact_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactRead:
    await _visible(db, principal, scope, contact_id)
    contact = await contacts_service.get_contact(
        db, tenant_id=principal.tenant_id, contact_id=contact_id
    )
    await audit_service.record_read(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        object_type="contact",
        object_id=contact.id,
    )
    return ContactRead.model_validate(contact)


@router.patch("/contacts/{contact_id}", responses=_errors(400, 404, 409, 422))
async def update_contact(
    contact_id: str, body: ContactUpdate, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactRead:
    await _visible(db, principal, scope, contact_id)
    contact = await contacts_service.update_contact(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        actor=principal.actor,
        **body.model_dump(exclude_unset=True),
    )
    return ContactRead.model_validate(contact)


@router.delete(
    "/contacts/{contact_id}",
    status_code=204,
    summary="Delete a contact without conversations (merge it otherwise)",
    responses=_errors(404, 409, 422),
)
async def delete_contact(
    contact_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> Response:
    await _visible(db, principal, scope, contact_id)
    await contacts_service.delete_contact(
        db, tenant_id=principal.tenant_id, contact_id=contact_id, actor=principal.actor
    )
    return Response(status_code=204)


@router.post(
    "/contacts/{contact_id}/addresses", status_code=201, responses=_errors(400, 404, 409, 422)
)
async def add_address(
    contact_id: str, body: AddressIn, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> AddressRead:
    await _visible(db, principal, scope, contact_id)
    address = await contacts_service.add_address(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        kind=body.kind,
        value=body.value,
        label=body.label,
        default_region=await _region(db, principal),
        actor=principal.actor,
    )
    return AddressRead.model_validate(address)


@router.delete(
    "/contacts/{contact_id}/addresses/{address_id}",
    status_code=204,
    responses=_errors(404, 409, 422),
)
async def remove_address(
    contact_id: str, address_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> Response:
    await _visible(db, principal, scope, contact_id)
    await contacts_service.remove_address(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        address_id=address_id,
        actor=principal.actor,
    )
    return Response(status_code=204)


@router.post(
    "/contacts/{contact_id}/merge/preview",
    summary="Show what merging other_id into this contact would give; writes nothing",
    responses=_errors(400, 404, 409, 422),
)
async def preview_merge(
    contact_id: str, body: MergeRequest, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> MergePreviewRead:
    await _visible(db, principal, scope, contact_id)
    await _visible(db, principal, scope, body.other_id)
    preview = await contacts_merge.preview_merge(
        db, tenant_id=principal.tenant_id, contact_id=contact_id, other_id=body.other_id
    )
    winner, fields = preview.winner, preview.fields
    contact = ContactRead(
        id=winner.id,
        name=fields.name,
        language=fields.language,
        addresses=[AddressRead.model_validate(a) for a in preview.addresses],
        attributes=dict(fields.attributes),
        tags=list(fields.tags),
        value=fields.value,
        consent=dict(fields.consent),
        vip=fields.vip,
        merged_into_id=None,
        last_contact_at=fields.last_contact_at,
        created_at=winner.created_at,
        updated_at=winner.updated_at,
    )
    return MergePreviewRead(
        winner_id=winner.id, loser_id=preview.loser.id, contact=contact, moves=preview.moves
    )


@router.post(
    "/contacts/{contact_id}/merge",
    status_code=201,
    summary="Merge other_id into this contact (audited, undoable)",
    responses=_errors(400, 404, 409, 422),
)
async def merge_contacts(
    contact_id: str, body: MergeRequest, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactMergeRead:
    await _visible(db, principal, scope, contact_id)
    await _visible(db, principal, scope, body.other_id)
    merge = await contacts_merge.merge_contacts(
        db,
        tenant_id=principal.tenant_id,
        contact_id=contact_id,
        other_id=body.other_id,
        actor=principal.actor,
    )
    return _merge_read(merge)


@router.get("/contact-merges/{merge_id}", responses=_errors(404, 422))
async def get_merge(
    merge_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactMergeRead:
    merge = await contacts_merge.get_merge(db, tenant_id=principal.tenant_id, merge_id=merge_id)
    await _visible(db, principal, scope, merge.winner_id)
    return _merge_read(merge)


@router.post(
    "/contact-merges/{merge_id}/undo",
    summary="Undo a merge; 409 says why when something changed since",
    responses=_errors(404, 409, 422),
)
async def undo_merge(
    merge_id: str, db: DbSession, principal: CurrentPrincipal, scope: Scope
) -> ContactMergeRead:
    if scope is not None:
        found = await contacts_merge.get_merge(db, tenant_id=principal.tenant_id, merge_id=merge_id)
        await _visible(db, principal, scope, found.winner_id)
    merge = await contacts_merge.undo_merge(
        db, tenant_id=principal.tenant_id, merge_id=merge_id, actor=principal.actor
    )
    return _merge_read(merge)


@router.get(
    "/contacts/{contact_id}/audit",
    summary="The contact's audit trail, newest first",
    responses=_errors(404, 422),
)
async def contact_audit(
    contact_id: str,
    db: DbSession,
    principal: CurrentPrincipal,
    scope: Scope,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> list[ContactAuditEntryRead]:
    await _visible(db, principal, scope, contact_id)
    entries = await contacts_service.list_audit(
        db, tenant_id=principal.tenant_id, contact_id=contact_id, limit=limit
    )
    return [ContactAuditEntryRead.model_validate(e) for e in entries]
