"""Contact use cases. Every function is tenant-scoped, emits its event and writes an audit entry.

Merging lives in ``contacts.merge`` and CSV import/export in ``contacts.csv_io``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from centralita.audit import service as audit_service
from centralita.audit.models import AuditEntry
from centralita.contacts.events import (
    ContactAddressAdded,
    ContactAddressRemoved,
    ContactCreated,
    ContactDeleted,
    ContactUpdated,
)
from centralita.contacts.models import Contact, ContactAddress
from centralita.contacts.rules import (
    MAX_ADDRESSES,
    check_name,
    clean_fields,
    patch_mapping,
)
from centralita.conversations import reassign as conversations_reassign
from centralita.core.addresses import AddressKind, normalise_address
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox

# ---- reads -------------------------------------------------------------------------------


async def get_contact(session: AsyncSession, *, tenant_id: str, contact_id: str) -> Contact:
    """A contact, merged ones included (``merged_into_id`` says where it went)."""
    return await get_scoped(session, Contact, tenant_id=tenant_id, id=contact_id, label="contact")


async def get_active_contact(session: AsyncSession, *, tenant_id: str, contact_id: str) -> Contact:
    """A contact that can still change: merged contacts are read-only until the undo."""
    contact = await get_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    if contact.merged_into_id is not None:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into_id}; change that "
            f"contact, or undo the merge first"
        )
    return contact


async def find_by_address(
    session: AsyncSession,
    *,
    tenant_id: str,
    kind: str,
    value: str,
    default_region: str | None = None,
    load_addresses: bool = True,
) -> Contact | None:
    k, v = normalise_address(kind, value, default_region=default_region)
    stmt = (
        select(Contact)
        .join(ContactAddress, ContactAddress.contact_id == Contact.id)
        .where(
            ContactAddress.tenant_id == tenant_id,
            ContactAddress.kind == k.value,
            ContactAddress.value == v,
        )
    )
    if not load_addresses:  # the ingest path never reads them: save a query
        stmt = stmt.options(lazyload(Contact.addresses))
    return await session.scalar(stmt)


def _has_tag(session: AsyncSession, tag: str) -> Any:
    # JSON array membership is spelled differently by each backend.
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Contact.tags, JSONB).contains([tag])
    each = func.json_each(Contact.tags).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == tag))


async def list_contacts(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    q: str | None = None,
    tag: str | None = None,
    only: Select[Any] | None = None,
) -> Slice[Contact]:
    """Contacts newest first; merged contacts are hidden. ``q`` matches name or any address.
    ``only``, a query of contact ids, narrows the list (an agent's visible contacts)."""
    if cursor is not None and not looks_like_id(cursor):
        raise InvalidInput.for_field("cursor", "use next_cursor from the previous page")
    stmt: Select[Any] = select(Contact).where(
        Contact.tenant_id == tenant_id, Contact.merged_into_id.is_(None)
    )
    if only is not None:
        stmt = stmt.where(Contact.id.in_(only))
    if q:
        needles = {q.strip()}
        compact = re.sub(r"[\s().-]", "", q)
        if compact.lstrip("+").isdigit():
            needles.add(compact.lstrip("+"))
        address_match = select(ContactAddress.contact_id).where(
            ContactAddress.tenant_id == tenant_id,
            or_(*(ContactAddress.value.icontains(n, autoescape=True) for n in needles)),
        )
        stmt = stmt.where(
            or_(Contact.name.icontains(q.strip(), autoescape=True), Contact.id.in_(address_match))
        )
    if tag:
        stmt = stmt.where(_has_tag(session, tag))
    return await paginate(session, stmt, Contact.id, limit=limit, cursor=cursor)


async def list_audit(
    session: AsyncSession, *, tenant_id: str, contact_id: str, limit: int = 100
) -> list[AuditEntry]:
    """The audit trail of one contact, newest first."""
    contact = await get_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    return await audit_service.list_entries(
        session, tenant_id=tenant_id, object_id=contact.id, limit=limit, changes_only=True
    )


# ---- writes ------------------------------------------------------------------------------


def audit_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    contact_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type="contact",
        object_id=contact_id,
        data=data,
    )


async def _flush_or_conflict(session: AsyncSession, what: str) -> None:
    """Flush; a unique-constraint race with another transaction becomes a 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} conflicts with a concurrent change; try again") from exc


async def create_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    name: str | None = None,
    addresses: Sequence[tuple[str, str] | tuple[str, str, str | None]] | None = None,
    source: str = "api",
    default_region: str | None = None,
    actor: str = "system",
    last_contact_at: datetime | None = None,
    flush_savepoint: bool = True,
    **fields: object,
) -> Contact:
    """Create a contact; ``addresses`` holds (kind, value) or (kind, value, label)."""
    clean = clean_fields({"name": name, **fields})
    if len(addresses or []) > MAX_ADDRESSES:
        raise InvalidInput.for_field("addresses", f"at most {MAX_ADDRESSES} addresses")
    contact = Contact(
        id=new_id("ct"),
        tenant_id=tenant_id,
        last_contact_at=last_contact_at,
        **{"attributes": {}, "tags": [], "consent": {}, "value": Decimal("0.00"), **clean},
    )
    contact.addresses = []  # a new, empty collection: no lazy load, no refresh afterwards
    session.add(contact)
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(addresses or []):
        kind, value = item[0], item[1]
        label = check_name(item[2], f"addresses[{i}].label") if len(item) > 2 else None
        k, v = normalise_address(
            kind, value, default_region=default_region, field=f"addresses[{i}].value"
        )
        if (k.value, v) in seen:
            continue
        seen.add((k.value, v))
        contact.addresses.append(
            ContactAddress(
                id=new_id("ca"),
                tenant_id=tenant_id,
                contact_id=contact.id,
                kind=k.value,
                value=v,
                label=label,
            )
        )
    with session.no_autoflush:  # the new rows must not answer for themselves
        await _ensure_addresses_free(session, tenant_id=tenant_id, pairs=sorted(seen))
    if flush_savepoint:
        await _flush_or_conflict(session, "the new contact's addresses")
    else:
        await session.flush()
    outbox.record(
        session, ContactCreated(tenant_id=tenant_id, contact_id=contact.id, source=source)
    )
    audit_contact(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.created",
        contact_id=contact.id,
        data={"source": source, "addresses": [f"{k}:{v}" for k, v in sorted(seen)]},
    )
    return contact


async def _ensure_addresses_free(
    session: AsyncSession, *, tenant_id: str, pairs: Sequence[tuple[str, str]]
) -> None:
    """One query for all of a new contact's addresses."""
    if not pairs:
        return
    taken = (
        await session.execute(
            select(ContactAddress.kind, ContactAddress.value, ContactAddress.contact_id).where(
                ContactAddress.tenant_id == tenant_id,
                tuple_(ContactAddress.kind, ContactAddress.value).in_(pairs),
            )
        )
    ).first()
    if taken is not None:
        raise Conflict(f"{taken[0]} address {taken[1]} already belongs to contact {taken[2]}")


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
    default_region: str | None = None,
    actor: str = "system",
    last_contact_at: datetime | None = None,
    savepoint: bool = True,
) -> FoundContact:
    """Resolve an address to its contact, creating one if nobody has it yet.

    Two concurrent first contacts from one address race on the unique address constraint;
    the loser rolls back to a savepoint and reads the winner's row. With ``savepoint=False``
    (the ingest path, which retries its whole transaction) the ``IntegrityError`` propagates.
    """
    existing = await find_by_address(
        session,
        tenant_id=tenant_id,
        kind=kind,
        value=value,
        default_region=default_region,
        load_addresses=savepoint,
    )
    if existing is not None:
        return FoundContact(existing, False)
    linked = await _link_to_same_number(
        session, tenant_id=tenant_id, kind=kind, value=value,
        default_region=default_region, actor=actor,
    )  # fmt: skip
    if linked is not None:
        return FoundContact(linked, False)

    def create(flush_savepoint: bool) -> Awaitable[Contact]:
        return create_contact(
            session,
            tenant_id=tenant_id,
            name=name,
            addresses=[(kind, value)],
            source=source,
            default_region=default_region,
            actor=actor,
            last_contact_at=last_contact_at,
            flush_savepoint=flush_savepoint,
        )

    if not savepoint:
        return FoundContact(await create(False), True)
    try:
        async with session.begin_nested():
            contact = await create(True)
    except (IntegrityError, Conflict):
        existing = await find_by_address(
            session, tenant_id=tenant_id, kind=kind, value=value, default_region=default_region
        )
        if existing is None:
            raise
        return FoundContact(existing, False)
    return FoundContact(contact, True)


def same_number(
    kind: str, value: str, *, default_region: str | None = None
) -> tuple[str, str] | None:
    """A WhatsApp id is a phone number: the phone address of a wa_id, and the other way round."""
    try:
        k, v = normalise_address(kind, value, default_region=default_region)
    except InvalidInput:
        return None
    if k is AddressKind.WHATSAPP:
        return AddressKind.PHONE.value, "+" + v
    if k is AddressKind.PHONE:
        return AddressKind.WHATSAPP.value, v.lstrip("+")
    return None


async def _link_to_same_number(
    session: AsyncSession,
    *,
    tenant_id: str,
    kind: str,
    value: str,
    default_region: str | None,
    actor: str,
) -> Contact | None:
    """The contact who has this number on the other of phone/WhatsApp gets this address too:
    a customer who calls after writing on WhatsApp is one contact with one timeline."""
    sibling = same_number(kind, value, default_region=default_region)
    if sibling is None:
        return None
    owner = await find_by_address(session, tenant_id=tenant_id, kind=sibling[0], value=sibling[1])
    if owner is None or owner.merged_into_id is not None or len(owner.addresses) >= MAX_ADDRESSES:
        return None
    try:
        # its own savepoint: when a concurrent first message from the same number linked it
        # first, rolling back drops our pending address too, and the transaction goes on
        async with session.begin_nested():
            await add_address(
                session, tenant_id=tenant_id, contact_id=owner.id, kind=kind, value=value,
                default_region=default_region, actor=actor,
            )  # fmt: skip
    except Conflict:
        return await find_by_address(
            session, tenant_id=tenant_id, kind=kind, value=value, default_region=default_region
        )
    return owner


async def add_address(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    kind: str,
    value: str,
    label: str | None = None,
    default_region: str | None = None,
    actor: str = "system",
) -> ContactAddress:
    contact = await get_active_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    k, v = normalise_address(kind, value, default_region=default_region)
    label = check_name(label, "label")
    await _ensure_address_free(session, tenant_id=tenant_id, kind=k, value=v)
    if len(contact.addresses) >= MAX_ADDRESSES:
        raise InvalidInput.for_field("value", f"a contact has at most {MAX_ADDRESSES} addresses")
    address = ContactAddress(
        id=new_id("ca"),
        tenant_id=tenant_id,
        contact_id=contact.id,
        kind=k.value,
        value=v,
        label=label,
    )
    session.add(address)
    await _flush_or_conflict(session, f"{k.value} address {v}")
    await session.refresh(contact, attribute_names=["addresses"])
    outbox.record(
        session,
        ContactAddressAdded(tenant_id=tenant_id, contact_id=contact.id, kind=k.value, value=v),
    )
    audit_contact(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.address_added",
        contact_id=contact.id,
        data={"address_id": address.id, "kind": k.value, "value": v},
    )
    return address


async def remove_address(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    address_id: str,
    actor: str = "system",
) -> None:
    contact = await get_active_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    address = next((a for a in contact.addresses if a.id == address_id), None)
    if address is None:
        raise NotFound(f"address {address_id} not found on contact {contact.id}")
    kind, value = address.kind, address.value
    await session.delete(address)
    await session.flush()
    await session.refresh(contact, attribute_names=["addresses"])
    outbox.record(
        session,
        ContactAddressRemoved(tenant_id=tenant_id, contact_id=contact.id, kind=kind, value=value),
    )
    audit_contact(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.address_removed",
        contact_id=contact.id,
        data={"address_id": address_id, "kind": kind, "value": value},
    )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


async def update_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    actor: str = "system",
    **changes: object,
) -> Contact:
    """Change fields. ``attributes`` and ``consent`` are merge-patched (null removes a key);
    every other field given is replaced."""
    contact = await get_active_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    for key in ("attributes", "consent"):
        if key in changes:
            patch = changes[key]
            if not isinstance(patch, Mapping):
                raise InvalidInput.for_field(key, "must be an object")
            changes[key] = patch_mapping(getattr(contact, key), patch)
    clean = clean_fields(changes)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, value in clean.items():
        current = getattr(contact, key)
        if current != value:
            before[key], after[key] = _plain(current), _plain(value)
            setattr(contact, key, value)
    if after:
        await session.flush()
        outbox.record(
            session,
            ContactUpdated(tenant_id=tenant_id, contact_id=contact.id, fields=sorted(after)),
        )
        audit_contact(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="contact.updated",
            contact_id=contact.id,
            data={"before": before, "after": after},
        )
    return contact


def contact_state(contact: Contact) -> dict[str, Any]:
    """A contact's editable fields as plain JSON (snapshots and audit entries)."""
    return {
        "name": contact.name,
        "language": contact.language,
        "attributes": dict(contact.attributes or {}),
        "tags": list(contact.tags or []),
        "value": str(contact.value if contact.value is not None else Decimal("0")),
        "consent": dict(contact.consent or {}),
        "vip": bool(contact.vip),
        "merged_into_id": contact.merged_into_id,
        "last_contact_at": contact.last_contact_at.isoformat() if contact.last_contact_at else None,
    }


async def delete_contact(
    session: AsyncSession, *, tenant_id: str, contact_id: str, actor: str = "system"
) -> None:
    """Delete a contact and its addresses, and any contacts merged into it.

    A contact with conversations is refused (409): its history would dangle. Merge it into
    another contact instead.
    """
    contact = await get_active_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    counts = await conversations_reassign.count_for_contact(
        session, tenant_id=tenant_id, contact_id=contact.id
    )
    if counts["conversations"]:
        raise Conflict(
            f"contact {contact.id} has {counts['conversations']} conversation(s); merge it into "
            f"another contact instead of deleting it"
        )
    merged = list(
        (
            await session.scalars(
                select(Contact).where(
                    Contact.tenant_id == tenant_id, Contact.merged_into_id == contact.id
                )
            )
        ).all()
    )
    snapshot = {
        **contact_state(contact),
        "addresses": [{"kind": a.kind, "value": a.value} for a in contact.addresses],
        "merged_contacts": [m.id for m in merged],
    }
    for row in [contact, *merged]:
        for address in row.addresses:
            await session.delete(address)
        await session.delete(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"contact {contact.id} is still referenced and cannot be deleted") from exc
    for row in [contact, *merged]:
        outbox.record(session, ContactDeleted(tenant_id=tenant_id, contact_id=row.id))
    audit_contact(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.deleted",
        contact_id=contact.id,
        data=snapshot,
    )


async def addresses_owned(
    session: AsyncSession, *, tenant_id: str, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Map each normalised (kind, value) already in use to its contact id."""
    owners: dict[tuple[str, str], str] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    for kind, values in by_kind.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows = await session.execute(
                select(ContactAddress.value, ContactAddress.contact_id).where(
                    ContactAddress.tenant_id == tenant_id,
                    ContactAddress.kind == kind,
                    ContactAddress.value.in_(chunk),
                )
            )
            for value, owner in rows.all():
                owners[(kind, value)] = owner
    return owners
