"""The receptionist wired to the simulator channel: replies, stored rows, redelivery."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from centralita.conversations.models import Message
from centralita.receptionist.models import DialogueRecord, Handoff
from centralita.scheduling.models import Appointment
from tests.receptionist.harness import Business

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=MADRID)
SUNDAY_22 = datetime(2026, 11, 22, 22, 0, tzinfo=MADRID)


async def test_booking_end_to_end_stores_the_appointment(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say("Hola, quiero pedir cita para una limpieza")
    assert "¿Cuál le viene mejor?" in reply, reply
    reply = await clinic.say("la primera")
    assert "nombre" in reply, reply
    reply = await clinic.say("Lucía Pérez")
    assert "Hecho" in reply, reply
    [appointment] = await clinic.rows(Appointment)
    assert appointment.service_key == "limpieza" and appointment.staff_key == "sanz"
    assert appointment.status == "booked"
    conv = await clinic.conversation()
    assert conv.intake["name"] == "Lucía Pérez" and conv.intake["phone"] == "+34612345678"


async def test_a_slot_taken_meanwhile_is_proposed_again_not_a_failed_turn(
    container, client
) -> None:  # type: ignore[no-untyped-def]
    # Found by the crash harness on PostgreSQL: two customers picked the same slot; the
    # loser's turn failed on every redelivery instead of offering other times.
    from centralita.scheduling import service as scheduling
    from centralita.tenants.models import Tenant

    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Hola, quiero pedir cita para una limpieza")
    reply = await clinic.say("la primera")
    assert "nombre" in reply, reply
    [record] = await clinic.rows(DialogueRecord)
    chosen = record.state["chosen"]
    async with container.sessions() as session, session.begin():
        tenant = await session.get(Tenant, record.tenant_id)
        await scheduling.book(
            session,
            tenant=tenant,
            start=datetime.fromisoformat(chosen["start"]),
            now=MONDAY_10,
            service_key=chosen["service_key"],
            staff_key=chosen["staff_key"],
            phone="+34600000001",
            source="agent",
        )
    reply = await clinic.say("Lucía Pérez")
    assert "Hecho" not in reply and "¿Cuál le viene mejor?" in reply, reply
    assert len(await clinic.rows(Appointment)) == 1  # only the other customer's


async def test_redelivered_message_is_answered_once(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("hola")
    # publish every event again: at-least-once delivery must not double the answer
    from centralita.events.models import OutboxEvent

    async with container.sessions() as session, session.begin():
        from sqlalchemy import update

        await session.execute(update(OutboxEvent).values(published_at=None))
    assert await container.relay.drain() > 0  # message.received went out again
    assert await clinic.new_replies() == []
    [record] = await clinic.rows(DialogueRecord)
    assert len(record.answered) == 1


async def test_a_message_redelivered_after_many_later_turns_is_not_answered_again(
    container, client
) -> None:  # type: ignore[no-untyped-def]
    # Found by the crash harness on PostgreSQL + Redis: an event redelivered four minutes late,
    # after more than 50 newer turns in the conversation, had fallen out of the dialogue
    # record's list of recent ids and was answered a second time.
    from sqlalchemy import update

    from centralita.events.models import OutboxEvent
    from centralita.receptionist import runtime

    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("hola")
    async with container.sessions() as session:
        first = await session.scalar(
            select(OutboxEvent.sequence)
            .where(OutboxEvent.name == "message.received")
            .order_by(OutboxEvent.sequence)
        )
    for n in range(runtime.ANSWERED_KEPT + 3):
        await clinic.say(f"¿a qué hora abrís? ({n})")
    [record] = await clinic.rows(DialogueRecord)
    assert len(record.answered) == runtime.ANSWERED_KEPT  # the first id has been pushed out
    async with container.sessions() as session, session.begin():
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.sequence == first).values(published_at=None)
        )
    assert await container.relay.drain() > 0  # the first message.received went out again
    assert await clinic.new_replies() == []
    inbound = [m for m in await clinic.rows(Message) if m.direction == "inbound"]
    assert all(m.turn_taken_at is not None for m in inbound)


async def test_person_requested_during_hours_is_handed_off(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("quiero pedir cita")
    reply = await clinic.say("quiero hablar con una persona")
    assert "Le paso con" in reply, reply
    [handoff] = await clinic.rows(Handoff)
    assert handoff.queue_key == "recepcion" and handoff.status == "waiting"
    conv = await clinic.conversation()
    assert conv.owner_type == "queue"
    # the bot stays quiet from now on
    assert await clinic.say("¿hola?") == ""


async def test_card_numbers_are_never_stored(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("pago con la tarjeta 4111 1111 1111 1111 cvv 123")
    bodies = [m.body for m in await clinic.rows(Message)]
    assert not any("4111" in b or "123" in b.split("[card]")[-1] for b in bodies), bodies
