"""Contact use cases. Every function is tenant-scoped and emits its event."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts.events import ContactAddressAdded, ContactCreated
from centralita.contacts.models import Contact, ContactAddress
from centralita.core.addresses import AddressKind, normalise_address
from centralita.core.errors import Conflict, NotFound
from centralita.core.ids import new_id
from centralita.events import outbox


async def get_contact(session: AsyncSession, *, tenant_id: str, contact_id: str) -> Contact:
    contact = await session.scalar(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


async def find_by_address(
    session: AsyncSession, *, tenant_id: str, kind: str, value: str
) -> Contact | None:
    k, v = normalise_address(kind, value)
    return await session.scalar(
        select(Contact)
        .join(ContactAddress, ContactAddress.contact_id == Contact.id)
        .where(
            ContactAddress.tenant_id == tenant_id,
            ContactAddress.kind == k.value,
            ContactAddress.value == v,
        )
    )


async def create_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    name: str | None = None,
    addresses: list[tuple[str, str]] | None = None,
    source: str = "api",
    default_region: str | None = None,
    **fields: object,
) -> Contact:
    contact = Contact(id=new_id("ct"), tenant_id=tenant_id, name=name, **fields)
    session.add(contact)
    seen: set[tuple[str, str]] = set()
    for i, (kind, value) in enumerate(addresses or []):
        k, v = normalise_address(
            kind, value, default_region=default_region, field=f"addresses[{i}].value"
        )
        if (k.value, v) in seen:
            continue
        seen.add((k.value, v))
        await _ensure_address_free(session, tenant_id=tenant_id, kind=k, value=v)
        session.add(
            ContactAddress(
                id=new_id("ca"), tenant_id=tenant_id, contact_id=contact.id, kind=k.value, value=v
            )
        )
    await session.flush()
    await session.refresh(contact, attribute_names=["addresses"])
    outbox.record(
        session, ContactCreated(tenant_id=tenant_id, contact_id=contact.id, source=source)
    )
    return contact


async def _ensure_address_free(
    session: AsyncSession, *, tenant_id: str, kind: AddressKind, value: str
) -> None:
    owner = await session.scalar(
        select(ContactAddress.contact_id).where(
            ContactAddress.tenant_id == tenant_id,
            ContactAddress.kind == kind.value,
            ContactAddress.value == value,
        )
    )
    if owner is not None:
        raise Conflict(f"{kind.value} address {value} already belongs to contact {owner}")


@dataclass(frozen=True)
class FoundContact:
    contact: Contact
    created: bool


async def find_or_create_by_address(
    session: AsyncSession,
    *,
    tenant_id: str,
    kind: str,
    value: str,
    name: str | None = None,
    source: str = "inbound",
) -> FoundContact:
    """Resolve an address to its contact, creating one if nobody has it yet.

    Two concurrent first contacts from one address race on the unique address constraint;
    the loser rolls back to a savepoint and reads the winner's row.
    """
    existing = await find_by_address(session, tenant_id=tenant_id, kind=kind, value=value)
    if existing is not None:
        return FoundContact(existing, False)
    try:
        async with session.begin_nested():
            contact = await create_contact(
                session, tenant_id=tenant_id, name=name, addresses=[(kind, value)], source=source
            )
    except (IntegrityError, Conflict):
        existing = await find_by_address(session, tenant_id=tenant_id, kind=kind, value=value)
        if existing is None:
            raise
        return FoundContact(existing, False)
    return FoundContact(contact, True)


async def add_address(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    kind: str,
    value: str,
    label: str | None = None,
    default_region: str | None = None,
) -> ContactAddress:
    contact = await get_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    k, v = normalise_address(kind, value, default_region=default_region)
    await _ensure_address_free(session, tenant_id=tenant_id, kind=k, value=v)
    address = ContactAddress(
        id=new_id("ca"),
        tenant_id=tenant_id,
        contact_id=contact.id,
        kind=k.value,
        value=v,
        label=label,
    )
    session.add(address)
    await session.flush()
    outbox.record(
        session,
        ContactAddressAdded(tenant_id=tenant_id, contact_id=contact.id, kind=k.value, value=v),
    )
    return address
