"""Move a contact's conversations, interactions and messages to another contact, and back.

Contact merges call this; the ids returned are the merge's snapshot, so an undo moves
exactly those rows back. Every other tenant-scoped table with a ``contact_id`` column
(appointments, staff messages, hand-offs, spam verdicts, dialogue states...) moves too, found
from the mapped models (``owned_tables``), so that no row is left pointing at a contact that
was merged away; an undo gives back those of them that still belong to the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.events import ConversationUpdated
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.errors import Conflict
from centralita.events import outbox

TABLES: dict[str, Any] = {
    "conversations": Conversation,
    "interactions": Interaction,
    "messages": Message,
}
# Rows the merge itself handles (addresses) or that are the contacts.
_NOT_MOVED = frozenset({"contacts", "contact_addresses", *TABLES})
_CHUNK = 500  # keeps IN lists well under every backend's bound-parameter limit


def owned_tables() -> dict[str, Any]:
    """Every other mapped, tenant-scoped model with a ``contact_id``, by table name."""
    from centralita.db.base import Base

    found: dict[str, Any] = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper.class_, "__tablename__", None)
        if table is None or table in _NOT_MOVED:
            continue
        if "contact_id" in mapper.columns and "tenant_id" in mapper.columns:
            found[table] = mapper.class_
    return dict(sorted(found.items()))


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


async def count_for_contact(
    session: AsyncSession, *, tenant_id: str, contact_id: str
) -> dict[str, int]:
    """How many rows of each table belong to ``contact_id`` (a merge preview)."""
    counts: dict[str, int] = {}
    for name, model in {**TABLES, **owned_tables()}.items():
        counts[name] = int(
            await session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.tenant_id == tenant_id, model.contact_id == contact_id)
            )
            or 0
        )
    return counts


async def _ids_of(
    session: AsyncSession, model: Any, *, tenant_id: str, contact_id: str
) -> list[str]:
    rows = await session.scalars(
        select(model.id)
        .where(model.tenant_id == tenant_id, model.contact_id == contact_id)
        .order_by(model.id)
    )
    return list(rows.all())


async def _still_owned(
    session: AsyncSession, model: Any, *, tenant_id: str, ids: Sequence[str], contact_id: str
) -> list[str]:
    kept: list[str] = []
    for chunk in _chunks(ids):
        rows = await session.scalars(
            select(model.id).where(
                model.tenant_id == tenant_id, model.id.in_(chunk), model.contact_id == contact_id
            )
        )
        kept.extend(rows.all())
    return sorted(kept)


async def _move(
    session: AsyncSession, model: Any, *, tenant_id: str, ids: Sequence[str], to_contact_id: str
) -> None:
    for chunk in _chunks(ids):
        await session.execute(
            update(model)
            .where(model.tenant_id == tenant_id, model.id.in_(chunk))
            .values(contact_id=to_contact_id)
            .execution_options(synchronize_session="fetch")
        )


async def _move_authorship(
    session: AsyncSession, *, tenant_id: str, ids: Sequence[str], from_id: str, to_id: str
) -> None:
    """Inbound messages name the contact as their author too."""
    for chunk in _chunks(ids):
        await session.execute(
            update(Message)
            .where(
                Message.tenant_id == tenant_id,
                Message.id.in_(chunk),
                Message.author_type == "contact",
                Message.author_id == from_id,
            )
            .values(author_id=to_id)
            .execution_options(synchronize_session="fetch")
        )


def _announce(
    session: AsyncSession, *, tenant_id: str, ids: Sequence[str], contact_id: str
) -> None:
    for conversation_id in ids:
        outbox.record(
            session,
            ConversationUpdated(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                changes={"contact_id": contact_id},
            ),
        )


async def reassign_contact(
    session: AsyncSession, *, tenant_id: str, from_contact_id: str, to_contact_id: str
) -> dict[str, list[str]]:
    """Give every conversation, interaction and message of one contact to another.

    Returns the ids moved per table, which is what ``restore_contact`` needs.
    """
    moved: dict[str, list[str]] = {}
    tables = {**TABLES, **owned_tables()}
    for name, model in tables.items():
        moved[name] = await _ids_of(session, model, tenant_id=tenant_id, contact_id=from_contact_id)
    for name, model in tables.items():
        await _move(
            session, model, tenant_id=tenant_id, ids=moved[name], to_contact_id=to_contact_id
        )
    await _move_authorship(
        session,
        tenant_id=tenant_id,
        ids=moved["messages"],
        from_id=from_contact_id,
        to_id=to_contact_id,
    )
    await session.flush()
    _announce(session, tenant_id=tenant_id, ids=moved["conversations"], contact_id=to_contact_id)
    return moved


async def restore_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    to_contact_id: str,
    ids: dict[str, list[str]],
    from_contact_id: str | None = None,
) -> None:
    """Give the rows in ``ids`` back to ``to_contact_id``.

    Interactions and messages added to a restored conversation since it moved go back with
    it. With ``from_contact_id``, every conversation must still belong to that contact;
    otherwise nothing moves and ``Conflict`` names the first one that does not.
    """
    conversation_ids = list(ids.get("conversations", []))
    found: dict[str, str] = {}
    for chunk in _chunks(conversation_ids):
        rows = await session.execute(
            select(Conversation.id, Conversation.contact_id).where(
                Conversation.tenant_id == tenant_id, Conversation.id.in_(chunk)
            )
        )
        found.update({cid: owner for cid, owner in rows.all()})
    for cid in conversation_ids:
        if cid not in found:
            raise Conflict(f"conversation {cid} was deleted since; it cannot be given back")
        if from_contact_id is not None and found[cid] not in (from_contact_id, to_contact_id):
            raise Conflict(
                f"conversation {cid} now belongs to contact {found[cid]}; it cannot be given back"
            )
    owner = from_contact_id
    extra: dict[str, set[str]] = {"interactions": set(), "messages": set()}
    for name in ("interactions", "messages"):
        model = TABLES[name]
        for chunk in _chunks(conversation_ids):
            found_ids = await session.scalars(
                select(model.id).where(
                    model.tenant_id == tenant_id, model.conversation_id.in_(chunk)
                )
            )
            extra[name].update(found_ids.all())
    plan = {
        "conversations": conversation_ids,
        "interactions": sorted(set(ids.get("interactions", [])) | extra["interactions"]),
        "messages": sorted(set(ids.get("messages", [])) | extra["messages"]),
    }
    for name, model in TABLES.items():
        await _move(
            session, model, tenant_id=tenant_id, ids=plan[name], to_contact_id=to_contact_id
        )
    for name, model in owned_tables().items():
        # only the rows that still belong to the winner go back; one given to a third contact
        # since stays where it is
        ids_back = list(ids.get(name, []))
        if owner is not None:
            ids_back = await _still_owned(
                session, model, tenant_id=tenant_id, ids=ids_back, contact_id=owner
            )
        await _move(session, model, tenant_id=tenant_id, ids=ids_back, to_contact_id=to_contact_id)
    if owner is not None:
        await _move_authorship(
            session, tenant_id=tenant_id, ids=plan["messages"], from_id=owner, to_id=to_contact_id
        )
    await session.flush()
    _announce(session, tenant_id=tenant_id, ids=conversation_ids, contact_id=to_contact_id)
