"""A contact merge moves the caller's staff messages with the rest, and an undo moves them back."""

from __future__ import annotations

from centralita.bootstrap import Container
from centralita.contacts import merge as contacts_merge
from centralita.contacts import service as contacts_service
from centralita.conversations.reassign import owned_tables
from tests.staff_messages.conftest import make_clinic, reload, take


def test_every_contact_owned_table_is_moved_by_a_merge() -> None:
    assert {"appointments", "staff_messages", "handoffs", "spam_feedback"} <= set(owned_tables())
    assert not {"contacts", "contact_addresses", "conversations"} & set(owned_tables())


async def test_merge_moves_staff_messages_and_undo_gives_them_back(container: Container) -> None:
    clinic = await make_clinic(container)
    async with container.sessions() as session, session.begin():
        winner = await contacts_service.create_contact(
            session,
            tenant_id=clinic.tenant_id,
            name="Ana Ruiz",
            addresses=[("phone", "+34600111222")],
        )
        loser = await contacts_service.create_contact(
            session,
            tenant_id=clinic.tenant_id,
            name="Ana R.",
            addresses=[("email", "ana@example.com")],
        )
    message = await take(container, clinic.tenant_id, contact_id=loser.id)
    other = await take(container, clinic.tenant_id, contact_id=winner.id)

    async with container.sessions() as session, session.begin():
        preview = await contacts_merge.preview_merge(
            session, tenant_id=clinic.tenant_id, contact_id=winner.id, other_id=loser.id
        )
        merge = await contacts_merge.merge_contacts(
            session, tenant_id=clinic.tenant_id, contact_id=winner.id, other_id=loser.id
        )
    assert contacts_merge.moved_counts(merge)["staff_messages"] == 1
    assert preview.moves["staff_messages"] == 1
    assert (await reload(container, message.id)).contact_id == winner.id
    assert (await reload(container, other.id)).contact_id == winner.id

    async with container.sessions() as session, session.begin():
        await contacts_merge.undo_merge(session, tenant_id=clinic.tenant_id, merge_id=merge.id)
    assert (await reload(container, message.id)).contact_id == loser.id
    assert (await reload(container, other.id)).contact_id == winner.id  # never the loser's
