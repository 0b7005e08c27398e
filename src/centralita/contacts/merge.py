"""Merging two contacts: previewable, audited and undoable.

The winner keeps its fields; a missing name or language is taken from the loser; attributes
are merged (the winner wins a conflict); tags are unioned; values are *summed* (two records
of one customer each hold part of the lifetime value); consent is the most restrictive (an
opt-out anywhere stays an opt-out); vip is either's. The loser's addresses, conversations,
interactions and messages move to the winner, and the loser stays, read-only, with
``merged_into_id`` set so that clients holding its id can follow it.

Undo is last-in-first-out per winner and restores both contacts' fields, addresses and
conversations as they were. It is refused with a 409 that says why when something it would
restore has changed since: an address removed or moved, a conversation moved, a contact
deleted or merged again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts import rules
from centralita.contacts import service as contacts_service
from centralita.contacts.events import ContactMergeUndone, ContactsMerged
from centralita.contacts.models import Contact, ContactAddress, ContactMerge
from centralita.conversations import reassign as conversations_reassign
from centralita.core.clock import as_utc, utcnow
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.events import outbox

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class ContactFields:
    """The part of a contact that a merge combines, as plain data."""

    name: str | None = None
    language: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    value: Decimal = Decimal("0")
    consent: Mapping[str, bool] = field(default_factory=dict)
    vip: bool = False
    last_contact_at: datetime | None = None


def combine(winner: ContactFields, loser: ContactFields) -> ContactFields:
    """The merged contact's fields (see the module docstring for each rule)."""
    consent = dict(winner.consent)
    for key, flag in loser.consent.items():
        consent[key] = consent.get(key, flag) and flag
    contacts = [t for t in (winner.last_contact_at, loser.last_contact_at) if t is not None]
    return ContactFields(
        name=winner.name or loser.name,
        language=winner.language or loser.language,
        attributes={**loser.attributes, **winner.attributes},
        tags=tuple(dict.fromkeys((*winner.tags, *loser.tags))),
        value=winner.value + loser.value,
        consent=consent,
        vip=winner.vip or loser.vip,
        last_contact_at=max(contacts) if contacts else None,
    )


def fields_of(contact: Contact) -> ContactFields:
    return ContactFields(
        name=contact.name,
        language=contact.language,
        attributes=dict(contact.attributes or {}),
        tags=tuple(contact.tags or ()),
        value=Decimal(contact.value if contact.value is not None else 0),
        consent=dict(contact.consent or {}),
        vip=bool(contact.vip),
        last_contact_at=contact.last_contact_at,
    )


def _check_limits(merged: ContactFields) -> None:
    """A merge must not produce a contact that the API would refuse."""
    if len(merged.attributes) > rules.MAX_ATTRIBUTES:
        raise Conflict(
            f"the merged contact would have {len(merged.attributes)} attributes (at most "
            f"{rules.MAX_ATTRIBUTES}); remove some first"
        )
    if len(merged.tags) > rules.MAX_TAGS:
        raise Conflict(
            f"the merged contact would have {len(merged.tags)} tags (at most "
            f"{rules.MAX_TAGS}); remove some first"
        )
    if merged.value > rules.MAX_VALUE:
        raise Conflict(f"the merged value {merged.value} exceeds {rules.MAX_VALUE}")


def _apply(contact: Contact, fields: ContactFields) -> None:
    contact.name = fields.name
    contact.language = fields.language
    contact.attributes = dict(fields.attributes)
    contact.tags = list(fields.tags)
    contact.value = fields.value
    contact.consent = dict(fields.consent)
    contact.vip = fields.vip
    contact.last_contact_at = fields.last_contact_at


def _from_state(state: Mapping[str, Any]) -> ContactFields:
    seen = state.get("last_contact_at")
    return ContactFields(
        name=state.get("name"),
        language=state.get("language"),
        attributes=dict(state.get("attributes") or {}),
        tags=tuple(state.get("tags") or ()),
        value=Decimal(str(state.get("value", "0"))),
        consent=dict(state.get("consent") or {}),
        vip=bool(state.get("vip")),
        last_contact_at=as_utc(datetime.fromisoformat(seen)) if seen else None,
    )


@dataclass(frozen=True)
class MergePreview:
    winner: Contact
    loser: Contact
    fields: ContactFields
    addresses: list[ContactAddress]
    moves: dict[str, int]


async def _pair(
    session: AsyncSession, *, tenant_id: str, contact_id: str, other_id: str, lock: bool
) -> tuple[Contact, Contact]:
    winner = await contacts_service.get_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    if contact_id == other_id:
        raise InvalidInput.for_field("other_id", "a contact cannot be merged with itself")
    loser = await contacts_service.get_contact(session, tenant_id=tenant_id, contact_id=other_id)
    if lock:
        # Row locks in id order, so two merges touching the same pair cannot deadlock.
        await _lock(session, tenant_id=tenant_id, ids=[winner.id, loser.id])
    for contact in (winner, loser):
        if contact.merged_into_id is not None:
            raise Conflict(f"contact {contact.id} was already merged into {contact.merged_into_id}")
    return winner, loser


async def _lock(session: AsyncSession, *, tenant_id: str, ids: list[str]) -> list[Contact]:
    rows = await session.scalars(
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.id.in_(sorted(ids)))
        .order_by(Contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def preview_merge(
    session: AsyncSession, *, tenant_id: str, contact_id: str, other_id: str
) -> MergePreview:
    """What merging ``other_id`` into ``contact_id`` would give; writes nothing."""
    winner, loser = await _pair(
        session, tenant_id=tenant_id, contact_id=contact_id, other_id=other_id, lock=False
    )
    merged = combine(fields_of(winner), fields_of(loser))
    _check_limits(merged)
    counts = await conversations_reassign.count_for_contact(
        session, tenant_id=tenant_id, contact_id=loser.id
    )
    return MergePreview(
        winner=winner,
        loser=loser,
        fields=merged,
        addresses=[*winner.addresses, *loser.addresses],
        moves={"addresses": len(loser.addresses), **counts},
    )


def moved_counts(merge: ContactMerge) -> dict[str, int]:
    snapshot = merge.snapshot or {}
    counts = {"addresses": len(snapshot.get("addresses", []))}
    for name, ids in (snapshot.get("moved") or {}).items():
        counts[name] = len(ids)
    return counts


async def merge_contacts(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    other_id: str,
    actor: str = "system",
    now: datetime | None = None,
) -> ContactMerge:
    """Merge ``other_id`` (the loser) into ``contact_id`` (the winner)."""
    now = now or utcnow()
    winner, loser = await _pair(
        session, tenant_id=tenant_id, contact_id=contact_id, other_id=other_id, lock=True
    )
    merged = combine(fields_of(winner), fields_of(loser))
    _check_limits(merged)
    snapshot: dict[str, Any] = {
        "version": SNAPSHOT_VERSION,
        "winner": contacts_service.contact_state(winner),
        "loser": contacts_service.contact_state(loser),
        "addresses": [{"id": a.id, "kind": a.kind, "value": a.value} for a in loser.addresses],
    }
    for address in loser.addresses:
        address.contact_id = winner.id
    _apply(winner, merged)
    loser.merged_into_id = winner.id
    await session.flush()
    snapshot["moved"] = await conversations_reassign.reassign_contact(
        session, tenant_id=tenant_id, from_contact_id=loser.id, to_contact_id=winner.id
    )
    snapshot["merged"] = contacts_service.contact_state(winner)
    merge = ContactMerge(
        id=new_id("cm"),
        tenant_id=tenant_id,
        winner_id=winner.id,
        loser_id=loser.id,
        snapshot=snapshot,
        performed_by=actor,
        performed_at=now,
    )
    session.add(merge)
    await session.flush()
    for contact in (winner, loser):
        await session.refresh(contact, attribute_names=["addresses"])
    outbox.record(
        session,
        ContactsMerged(
            tenant_id=tenant_id, merge_id=merge.id, winner_id=winner.id, loser_id=loser.id
        ),
    )
    counts = moved_counts(merge)
    for contact, role, other in ((winner, "winner", loser), (loser, "loser", winner)):
        contacts_service.audit_contact(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="contact.merged",
            contact_id=contact.id,
            data={"merge_id": merge.id, "role": role, "other_id": other.id, "moved": counts},
        )
    return merge


async def get_merge(session: AsyncSession, *, tenant_id: str, merge_id: str) -> ContactMerge:
    merge = None
    if looks_like_id(merge_id):
        merge = await session.scalar(
            select(ContactMerge).where(
                ContactMerge.tenant_id == tenant_id, ContactMerge.id == merge_id
            )
        )
    if merge is None:
        raise NotFound(f"contact merge {merge_id} not found")
    return merge


async def _refuse_if_stale(
    session: AsyncSession, *, merge: ContactMerge, winner: Contact | None, loser: Contact | None
) -> None:
    """Raise ``Conflict`` naming the first thing that changed in a way undo cannot repair."""
    if merge.undone_at is not None:
        raise Conflict(f"merge {merge.id} was already undone")
    for role, contact, wanted in (
        ("winner", winner, merge.winner_id),
        ("loser", loser, merge.loser_id),
    ):
        if contact is None:
            raise Conflict(f"cannot undo: the {role} contact {wanted} was deleted since the merge")
    assert winner is not None and loser is not None
    later = await session.scalar(
        select(ContactMerge.id).where(
            ContactMerge.tenant_id == merge.tenant_id,
            ContactMerge.winner_id == merge.winner_id,
            ContactMerge.undone_at.is_(None),
            ContactMerge.performed_at > merge.performed_at,
        )
    )
    if later is not None:
        raise Conflict(
            f"cannot undo: contact {winner.id} took part in a later merge ({later}); undo that "
            f"one first"
        )
    if winner.merged_into_id is not None:
        raise Conflict(
            f"cannot undo: contact {winner.id} was since merged into {winner.merged_into_id}; "
            f"undo that merge first"
        )
    if loser.merged_into_id != winner.id:
        raise Conflict(f"cannot undo: contact {loser.id} is no longer merged into {winner.id}")
    moved = merge.snapshot.get("addresses", [])
    current = {
        a.id: a.contact_id
        for a in (
            await session.scalars(
                select(ContactAddress).where(
                    ContactAddress.tenant_id == merge.tenant_id,
                    ContactAddress.id.in_([m["id"] for m in moved]),
                )
            )
        ).all()
    }
    for item in moved:
        where = f"the {item['kind']} address {item['value']}"
        if item["id"] not in current:
            raise Conflict(f"cannot undo: {where} was removed since the merge")
        if current[item["id"]] != winner.id:
            raise Conflict(f"cannot undo: {where} now belongs to contact {current[item['id']]}")


async def undo_merge(
    session: AsyncSession,
    *,
    tenant_id: str,
    merge_id: str,
    actor: str = "system",
    now: datetime | None = None,
) -> ContactMerge:
    """Put both contacts back as they were before ``merge_id``; 409 if that is not possible.

    Edits made to the winner's fields after the merge are overwritten; the undo's audit
    entry keeps them. The winner's ``last_contact_at`` stays if it has moved on since.
    """
    now = now or utcnow()
    merge = await get_merge(session, tenant_id=tenant_id, merge_id=merge_id)
    locked = {
        c.id: c
        for c in await _lock(session, tenant_id=tenant_id, ids=[merge.winner_id, merge.loser_id])
    }
    winner, loser = locked.get(merge.winner_id), locked.get(merge.loser_id)
    await _refuse_if_stale(session, merge=merge, winner=winner, loser=loser)
    assert winner is not None and loser is not None
    snapshot = merge.snapshot
    await conversations_reassign.restore_contact(
        session,
        tenant_id=tenant_id,
        to_contact_id=loser.id,
        ids=snapshot.get("moved", {}),
        from_contact_id=winner.id,
    )
    merged_state = snapshot.get("merged", {})
    current_state = contacts_service.contact_state(winner)
    overwritten = {
        k: v for k, v in current_state.items() if k in rules.EDITABLE and merged_state.get(k) != v
    }
    restored = _from_state(snapshot["winner"])
    if current_state["last_contact_at"] != merged_state.get("last_contact_at"):
        restored = replace(restored, last_contact_at=winner.last_contact_at)
    _apply(winner, restored)
    _apply(loser, _from_state(snapshot["loser"]))
    loser.merged_into_id = None
    moved_ids = [m["id"] for m in snapshot.get("addresses", [])]
    for address in winner.addresses:
        if address.id in moved_ids:
            address.contact_id = loser.id
    merge.undone_at = now
    await session.flush()
    for contact in (winner, loser):
        await session.refresh(contact, attribute_names=["addresses"])
    outbox.record(
        session,
        ContactMergeUndone(
            tenant_id=tenant_id, merge_id=merge.id, winner_id=winner.id, loser_id=loser.id
        ),
    )
    for contact, role, other in ((winner, "winner", loser), (loser, "loser", winner)):
        data: dict[str, Any] = {"merge_id": merge.id, "role": role, "other_id": other.id}
        if role == "winner" and overwritten:
            data["overwritten"] = overwritten
        contacts_service.audit_contact(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="contact.merge_undone",
            contact_id=contact.id,
            data=data,
        )
    return merge
