"""Contact endpoints."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from centralita.api.deps import CurrentPrincipal, DbSession, Paging
from centralita.api.pagination import Page
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact
from centralita.contacts.schemas import ContactCreate, ContactRead
from centralita.db.paging import paginate

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("", summary="List contacts, newest first")
async def list_contacts(
    db: DbSession, principal: CurrentPrincipal, page: Paging
) -> Page[ContactRead]:
    stmt = select(Contact).where(Contact.tenant_id == principal.tenant_id)
    result = await paginate(db, stmt, Contact.id, limit=page.limit, cursor=page.cursor)
    return Page(
        items=[ContactRead.model_validate(c) for c in result.items], next_cursor=result.next_cursor
    )


@router.post("", status_code=201, responses={409: {}, 422: {}})
async def create_contact(
    body: ContactCreate, db: DbSession, principal: CurrentPrincipal
) -> ContactRead:
    data = body.model_dump(exclude={"addresses"})
    contact = await contacts_service.create_contact(
        db,
        tenant_id=principal.tenant_id,
        addresses=[(a.kind, a.value) for a in body.addresses],
        **data,
    )
    return ContactRead.model_validate(contact)


@router.get("/{contact_id}", responses={404: {}})
async def get_contact(contact_id: str, db: DbSession, principal: CurrentPrincipal) -> ContactRead:
    contact = await contacts_service.get_contact(
        db, tenant_id=principal.tenant_id, contact_id=contact_id
    )
    return ContactRead.model_validate(contact)
