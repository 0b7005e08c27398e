"""receive_inbound on a real database: contacts, continuity, reopen window, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.channels import service as channels_service
from centralita.channels.base import Address, ChannelKind, InboundMessage
from centralita.contacts import service as contacts_service
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.events.models import OutboxEvent
from tests.factories import make_tenant

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)


def inbound(
    pid: str, channel: ChannelKind, kind: str, value: str, text: str = "hi"
) -> InboundMessage:
    return InboundMessage(
        channel=channel, provider_message_id=pid, sender=Address(kind, value), text=text
    )


async def receive(container: Container, account_id: str, msg: InboundMessage, now: datetime):  # type: ignore[no-untyped-def]
    async with container.sessions() as session, session.begin():
        account = (await channels_service.get_for_ingress(session, account_id=account_id)).account
        return await conversations_service.receive_inbound(
            session,
            account=channels_service.to_config(account),
            inbound=msg,
            reopen_window=WINDOW,
            now=now,
        )


async def test_a_returning_contact_continues_its_conversation_on_another_channel(
    container: Container,
) -> None:
    kit = await make_tenant(container)
    first = await receive(
        container,
        kit.simulator_account_id,
        inbound("m1", ChannelKind.WHATSAPP, "whatsapp", "34600111222"),
        T0,
    )
    # The same person later calls from the same number: link the phone to the contact first.
    async with container.sessions() as session, session.begin():
        await contacts_service.add_address(
            session,
            tenant_id=kit.tenant_id,
            contact_id=first.message.contact_id,
            kind="phone",
            value="+34600111222",
        )
    second = await receive(
        container,
        kit.simulator_account_id,
        inbound("m2", ChannelKind.VOICE, "phone", "+34 600 11 12 22"),
        T0 + timedelta(minutes=5),
    )
    assert second.conversation.id == first.conversation.id
    assert not second.conversation_created
    assert second.interaction.id != first.interaction.id  # a new channel session
    assert second.conversation.last_channel == "voice"


async def test_reopen_window(container: Container) -> None:
    kit = await make_tenant(container)
    r1 = await receive(
        container,
        kit.simulator_account_id,
        inbound("m1", ChannelKind.SMS, "phone", "+34600111222"),
        T0,
    )
    async with container.sessions() as session, session.begin():
        await conversations_service.update_conversation(
            session,
            tenant_id=kit.tenant_id,
            conversation_id=r1.conversation.id,
            status="closed",
            now=T0 + timedelta(hours=1),
        )
    r2 = await receive(
        container,
        kit.simulator_account_id,
        inbound("m2", ChannelKind.SMS, "phone", "+34600111222"),
        T0 + timedelta(hours=10),
    )
    assert r2.conversation.id == r1.conversation.id and r2.conversation.status == "open"
    async with container.sessions() as session, session.begin():
        await conversations_service.update_conversation(
            session,
            tenant_id=kit.tenant_id,
            conversation_id=r1.conversation.id,
            status="closed",
            now=T0 + timedelta(hours=11),
        )
    r3 = await receive(
        container,
        kit.simulator_account_id,
        inbound("m3", ChannelKind.SMS, "phone", "+34600111222"),
        T0 + timedelta(hours=11) + WINDOW + timedelta(minutes=1),
    )
    assert r3.conversation_created and r3.conversation.id != r1.conversation.id


async def test_closing_ends_interactions_with_timestamps(container: Container) -> None:
    kit = await make_tenant(container)
    r1 = await receive(
        container,
        kit.simulator_account_id,
        inbound("m1", ChannelKind.WEBCHAT, "web", "visitor-1"),
        T0,
    )
    assert r1.interaction.arrived_at == T0
    async with container.sessions() as session, session.begin():
        await conversations_service.update_conversation(
            session,
            tenant_id=kit.tenant_id,
            conversation_id=r1.conversation.id,
            status="closed",
            now=T0 + timedelta(minutes=3),
        )
    async with container.sessions() as session:
        ix = await session.get_one(Interaction, r1.interaction.id)
        assert ix.ended_at == T0 + timedelta(minutes=3)
        assert ix.arrived_at.tzinfo is not None


async def test_concurrent_duplicate_deliveries_store_one_message(container: Container) -> None:
    kit = await make_tenant(container)
    msg = inbound("same-id", ChannelKind.WHATSAPP, "whatsapp", "34600111333")
    results = await asyncio.gather(
        *(receive(container, kit.simulator_account_id, msg, T0) for _ in range(4)),
        return_exceptions=True,
    )
    stored = [r for r in results if not isinstance(r, BaseException)]
    assert stored, results
    async with container.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
        convs = await session.scalar(select(func.count()).select_from(Conversation))
        received = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.name == "message.received")
        )
    assert (count, convs, received) == (1, 1, 1)


async def test_events_are_written_with_the_data(container: Container) -> None:
    kit = await make_tenant(container)
    await receive(
        container,
        kit.simulator_account_id,
        inbound("m1", ChannelKind.EMAIL, "email", "Ana@Example.com"),
        T0,
    )
    async with container.sessions() as session:
        names = sorted(
            (
                await session.scalars(
                    select(OutboxEvent.name).where(OutboxEvent.tenant_id == kit.tenant_id)
                )
            ).all()
        )
    assert names == [
        "api_key.created",
        "contact.created",
        "conversation.started",
        "interaction.started",
        "message.received",
        "tenant.created",
    ]
    published = await container.relay.drain()
    # these six, plus whatever the subscribers (the receptionist's reply) wrote in turn
    assert published > len(names)
    async with container.sessions() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.tenant_id == kit.tenant_id, OutboxEvent.published_at.is_(None))
        )
    assert left == 0
