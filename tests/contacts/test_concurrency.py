"""Concurrent first contacts from one address create exactly one contact."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact, ContactAddress
from tests.factories import make_tenant


async def test_concurrent_lookups_of_a_new_address_create_one_contact(
    container: Container,
) -> None:
    kit = await make_tenant(container)

    async def lookup(value: str) -> tuple[str, bool]:
        # Each lookup is its own session and transaction, as two webhook requests would be.
        async with container.sessions() as session, session.begin():
            found = await contacts_service.find_or_create_by_address(
                session, tenant_id=kit.tenant_id, kind="phone", value=value, default_region="ES"
            )
            return found.contact.id, found.created

    spellings = ["+34600111222", "600 111 222", "0034600111222", "600-111-222"]
    results = await asyncio.gather(*(lookup(v) for v in spellings))
    assert len({contact_id for contact_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with container.sessions() as session:
        contacts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.tenant_id == kit.tenant_id)
        )
        addresses = await session.scalar(select(func.count()).select_from(ContactAddress))
    assert (contacts, addresses) == (1, 1)
