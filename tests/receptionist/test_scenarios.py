"""Multi-turn conversations with the receptionist, Spanish and English, through the signed
simulator channel: each scenario drives a demo tenant turn by turn and then checks what was
*stored* (appointments, staff messages and the mail they sent, hand-offs, spam verdicts, the
conversation's intake, the contact), not only what the bot said.

Clocks are fixed: Monday 23 November 2026 10:00 in Madrid (the clinic is open), Sunday 22
November 22:00 (closed), and London times for Hartley & Webb.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.config import Settings
from centralita.contacts.models import Contact, ContactAddress
from centralita.conversations.models import Conversation, Message
from centralita.receptionist.dialogue.state import DialogueState
from centralita.receptionist.models import DialogueRecord, Handoff
from centralita.scheduling.models import Appointment
from centralita.spam.models import SpamFeedback, SpamVerdict
from centralita.staff_messages.mailcatcher import Mail, Mailbox, start_mail_catcher
from centralita.staff_messages.models import StaffMessage, StaffMessageDelivery
from centralita.tenants.models import Queue
from tests.conftest import Database, make_settings
from tests.receptionist.harness import Business
from tests.simulator_client import simulator_request

MADRID = ZoneInfo("Europe/Madrid")
LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=MADRID)  # open
SUNDAY_22 = datetime(2026, 11, 22, 22, 0, tzinfo=MADRID)  # closed
LONDON_MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # open
LONDON_SUNDAY_21 = datetime(2026, 11, 22, 21, 0, tzinfo=LONDON)  # closed

CLINIC = "clinica-dental-sonrisa"
HARTLEY = "hartley-law"
CALLER = "34612345678"  # the harness's default WhatsApp sender
UK_CALLER = "447911123456"


# ---- a real SMTP server for the staff messages' mail -----------------------------------------


@dataclass
class Catcher:
    directory: Path
    port: int
    controller: Controller

    def mails(self) -> list[Mail]:
        return Mailbox(self.directory).recent()


@pytest.fixture
async def catcher(tmp_path: Path) -> AsyncIterator[Catcher]:
    controller, port = await start_mail_catcher(tmp_path / "mail")
    yield Catcher(tmp_path / "mail", port, controller)
    await asyncio.to_thread(controller.stop)


@pytest.fixture
def settings(database: Database, tmp_path: Path, catcher: Catcher) -> Settings:
    """The suite's settings, with the staff messages' mail going to the local catcher."""
    return make_settings(
        database,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=catcher.port,
        mail_from="avisos@centralita.example",
        mailbox_dir=catcher.directory,
    )


@pytest.fixture(autouse=True)
def _ingress_on_the_test_clock(monkeypatch: pytest.MonkeyPatch, container: Any) -> None:
    """Inbound messages are threaded (continue, reopen or start a conversation) with the
    wall clock, while the receptionist runs on ``container.clock``: put both on the test's
    fixed clock, or the reopen window would depend on the day the suite runs."""
    monkeypatch.setattr("centralita.conversations.service.utcnow", lambda: container.clock())


# ---- helpers ----------------------------------------------------------------------------------


def faq_answer(tenant: str, key: str, language: str) -> str:
    """A FAQ answer as the business wrote it in its YAML (folded lines joined)."""
    text = files("centralita.demo").joinpath("tenants", f"{tenant}.yaml").read_text("utf-8")
    for item in yaml.safe_load(text)["faq"]:
        if item["key"] == key:
            return " ".join(str(item["answer"][language]).split())
    raise KeyError(key)


def all_faq_answers(tenant: str) -> list[str]:
    text = files("centralita.demo").joinpath("tenants", f"{tenant}.yaml").read_text("utf-8")
    items = yaml.safe_load(text)["faq"]
    return [" ".join(str(a).split()) for item in items for a in item["answer"].values()]


async def contact_of(biz: Business, value: str) -> Contact:
    values = {value, value.lstrip("+"), "+" + value.lstrip("+")}
    async with biz.container.sessions() as session:
        contact = await session.scalar(
            select(Contact)
            .join(ContactAddress, ContactAddress.contact_id == Contact.id)
            .where(ContactAddress.tenant_id == biz.tenant_id, ContactAddress.value.in_(values))
        )
        assert contact is not None, value
        return contact


async def conversations_of(biz: Business, value: str) -> list[Conversation]:
    """The caller's conversations, oldest first."""
    contact = await contact_of(biz, value)
    rows = await biz.rows(Conversation, contact_id=contact.id)
    return sorted(rows, key=lambda c: (c.created_at, c.id))


async def conversation_of(biz: Business, value: str = CALLER) -> Conversation:
    return (await conversations_of(biz, value))[-1]


async def queue_id(biz: Business, key: str) -> str:
    [queue] = await biz.rows(Queue, key=key)
    return str(queue.id)


async def state_of(biz: Business, value: str = CALLER) -> DialogueState:
    conv = await conversation_of(biz, value)
    [record] = await biz.rows(DialogueRecord, conversation_id=conv.id)
    return DialogueState.from_dict(record.state)


async def offered_starts(biz: Business, value: str = CALLER) -> list[datetime]:
    return [datetime.fromisoformat(o.start) for o in (await state_of(biz, value)).offered]


def local(moment: datetime, zone: ZoneInfo = MADRID) -> datetime:
    return moment.astimezone(zone)


async def api_key(biz: Business, role: str = "agent") -> dict[str, str]:
    async with biz.container.sessions() as session, session.begin():
        issued = await access_service.create_api_key(
            session, tenant_id=biz.tenant_id, name="scenario-agent", role=role
        )
    return {"Authorization": f"Bearer {issued.secret}"}


async def book(
    biz: Business, value: str = CALLER, name: str = "Lucía Pérez", pick: str = "la primera"
) -> Appointment:
    """A caller books a dental cleaning (the first slot offered, unless told) in Spanish."""
    reply = await biz.say("Quiero pedir cita para limpieza dental", value=value)
    assert "¿Cuál le viene mejor?" in reply, reply
    assert "nombre" in await biz.say(pick, value=value)
    assert "Hecho" in await biz.say(name, value=value)
    contact = await contact_of(biz, value)
    [appointment] = await biz.rows(Appointment, contact_id=contact.id, status="booked")
    return appointment


def assert_polite(reply: str) -> None:
    assert reply.strip(), "the receptionist must always answer"
    assert "Traceback" not in reply and "None" not in reply and "{" not in reply, reply


# ---- booking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vague", "narrower", "pick", "name", "done"),
    [
        ("Hola, quería pedir cita para esta semana", "mejor por la tarde", "la segunda",
         "Lucía Pérez", "Hecho"),
        ("Hello, can I book a check-up sometime this week?", "in the afternoon please",
         "the second one", "Emma Brown", "Done"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_booking_with_clarification_vague_time_then_a_pick(
    container, client, vague: str, narrower: str, pick: str, name: str, done: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say(vague)
    first_offer = await offered_starts(clinic)
    assert len(first_offer) == 3
    assert all(MONDAY_10 < s < MONDAY_10 + timedelta(days=7) for s in first_offer)

    await clinic.say(narrower)
    offer = await offered_starts(clinic)
    assert len(offer) == 3 and offer != first_offer
    assert all(local(s).hour >= 14 for s in offer), offer  # the afternoon, as asked

    reply = await clinic.say(pick)
    assert not await clinic.rows(Appointment), "no booking before the name is known"
    reply = await clinic.say(name)
    assert done in reply, reply

    [appointment] = await clinic.rows(Appointment)
    assert appointment.start_at == offer[1]  # the second of the narrowed offer
    assert appointment.status == "booked" and appointment.service_key == "primera-visita"
    assert appointment.phone == "+34612345678" and appointment.source == "receptionist"
    conv = await conversation_of(clinic)
    assert conv.intake["name"] == name and conv.intake["phone"] == "+34612345678"
    assert conv.intake["intent"] == "book_appointment"  # answers do not overwrite the request
    assert (await contact_of(clinic, CALLER)).name == name


@pytest.mark.parametrize(
    ("request_text", "yes", "name", "day", "clock"),
    [
        ("Quiero pedir cita para mañana por la tarde", "la primera", "Ana Ruiz",
         datetime(2026, 11, 24, tzinfo=MADRID), None),
        # Duckling reads "el martes que viene" said on a Monday as Tuesday 1 December (see
        # nlu/dates.py) and "a las cinco" as 05:00; a business hour means 17:00
        ("¿Me da cita para el martes que viene a las cinco?", "sí", "Pedro Gil",
         datetime(2026, 12, 1, tzinfo=MADRID), (17, 0)),
        ("Hi, I'd like to book an appointment next Tuesday at 5", "yes", "John Smith",
         datetime(2026, 12, 1, tzinfo=MADRID), (17, 0)),
    ],
    ids=["es-manana-por-la-tarde", "es-martes-que-viene-a-las-cinco", "en-next-tuesday-at-5"],
)  # fmt: skip
async def test_booking_with_a_date_expression(
    container, client, request_text: str, yes: str, name: str, day: datetime, clock: Any
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(request_text)
    offer = await offered_starts(clinic)
    assert offer and all(local(s).date() == day.date() for s in offer), (reply, offer)
    if clock is not None:
        assert len(offer) == 1 and (local(offer[0]).hour, local(offer[0]).minute) == clock
        assert "17:00" in reply and ("¿Se lo reservo?" in reply or "Shall I book it?" in reply)
    else:
        assert all(14 <= local(s).hour < 20 for s in offer), offer
    await clinic.say(yes)
    reply = await clinic.say(name)
    assert "Hecho" in reply or "Done" in reply, reply
    [appointment] = await clinic.rows(Appointment)
    assert appointment.start_at == offer[0]
    # who works then: on Tuesday afternoons only Dr Ruiz sees first visits
    assert appointment.staff_key == "ruiz" and appointment.service_key == "primera-visita"
    assert (await contact_of(clinic, CALLER)).name == name


@pytest.mark.parametrize(
    ("tenant", "now", "zone", "ask", "yes", "taken", "pick", "names", "staff", "clock"),
    [
        (CLINIC, MONDAY_10, MADRID, "Quiero pedir cita para mañana a las 17:00", "sí",
         "A esa hora no tengo hueco", "la primera", ("Ana Ruiz", "Bruno Díaz"), "ruiz",
         datetime(2026, 11, 24, 17, 0, tzinfo=MADRID)),
        (HARTLEY, LONDON_MONDAY_10, LONDON,
         "I'd like to book a divorce consultation tomorrow at 11:00", "yes",
         "That time isn't available", "the first one", ("Oliver Reed", "Grace Lee"), "webb",
         datetime(2026, 11, 24, 11, 0, tzinfo=LONDON)),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_time_already_taken_by_another_caller(
    container,
    client,
    tenant: str,
    now: datetime,
    zone: ZoneInfo,
    ask: str,
    yes: str,
    taken: str,
    pick: str,
    names: tuple[str, str],
    staff: str,
    clock: datetime,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    first, second = "34611111111", "34622222222"
    wanted = await _book_exact(biz, ask, yes, names[0], first)
    assert wanted == clock and local(wanted, zone).hour == clock.hour

    reply = await biz.say(ask, value=second)
    assert taken in reply, reply
    alternatives = await offered_starts(biz, second)
    assert alternatives and wanted not in alternatives
    await biz.say(pick, value=second)
    await biz.say(names[1], value=second)

    rows = await biz.rows(Appointment)
    assert len(rows) == 2
    by_contact = {r.contact_id: r for r in rows}
    mine = by_contact[(await contact_of(biz, second)).id]
    theirs = by_contact[(await contact_of(biz, first)).id]
    assert theirs.start_at == wanted and mine.start_at == alternatives[0] != wanted
    assert mine.staff_key == theirs.staff_key == staff


async def _book_exact(biz: Business, ask: str, yes: str, name: str, value: str) -> datetime:
    reply = await biz.say(ask, value=value)
    assert "¿Se lo reservo?" in reply or "Shall I book it?" in reply, reply
    [wanted] = await offered_starts(biz, value)
    await biz.say(yes, value=value)
    await biz.say(name, value=value)
    [row] = await biz.rows(Appointment)
    assert row.start_at == wanted
    return wanted


@pytest.mark.parametrize(
    ("ask", "passed", "pick", "name"),
    [
        ("Quiero pedir cita para el lunes 2 de noviembre", "Esa fecha ya ha pasado", "la primera",
         "Eva Sol"),
        ("I'd like to book an appointment for last Friday", "That date has already passed",
         "the first one", "Liam Hart"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_date_in_the_past(
    container, client, ask: str, passed: str, pick: str, name: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(ask)
    assert passed in reply, reply
    state = await state_of(clinic)
    assert state.intake.preferred_time is None  # the past date is not kept
    assert state.offered and all(datetime.fromisoformat(o.start) > MONDAY_10 for o in state.offered)
    assert not await clinic.rows(Appointment)
    await clinic.say(pick)
    await clinic.say(name)
    [appointment] = await clinic.rows(Appointment)
    assert appointment.start_at > MONDAY_10 and appointment.start_at == datetime.fromisoformat(
        state.offered[0].start
    )


@pytest.mark.parametrize(
    ("ask", "moving", "pick", "done"),
    [
        ("Quiero cambiar mi cita", "Vamos a cambiar su cita", "la segunda", "su cita pasa al"),
        ("I need to move my appointment to another day", "Let's move your appointment",
         "the second one", "your appointment is now on"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_rescheduling_an_existing_appointment(
    container, client, ask: str, moving: str, pick: str, done: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    original = await book(clinic)
    reply = await clinic.say(ask)
    assert moving in reply, reply
    offer = await offered_starts(clinic)
    assert len(offer) >= 2 and original.start_at not in offer  # no "move" to the same time
    reply = await clinic.say(pick)
    assert done in reply, reply

    [moved] = await clinic.rows(Appointment)  # the same row, moved: not a second booking
    assert moved.id == original.id and moved.status == "booked"
    assert moved.start_at == offer[1] and moved.rescheduled_from == original.start_at
    assert moved.staff_key == "sanz" and moved.service_key == "limpieza"
    assert moved.end_at - moved.start_at == timedelta(minutes=45)
    assert (await conversation_of(clinic)).intake["intent"] == "change_appointment"


@pytest.mark.parametrize(
    ("tenant", "now", "ask", "yes", "no", "cancelled", "bye"),
    [
        (CLINIC, MONDAY_10, "Quiero anular mi cita", "sí", "no, gracias", "queda anulada",
         "Gracias por contactar"),
        (HARTLEY, LONDON_MONDAY_10, "Actually I need to cancel my appointment", "yes",
         "no thanks", "is cancelled", "Thank you for getting in touch"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_cancelling_an_appointment(
    container,
    client,
    tenant: str,
    now: datetime,
    ask: str,
    yes: str,
    no: str,
    cancelled: str,
    bye: str,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    if tenant == CLINIC:
        original = await book(biz)
    else:
        await biz.say("I'd like to book an initial consultation", value=UK_CALLER)
        await biz.say("the first one", value=UK_CALLER)
        assert "Done" in await biz.say("Oliver Reed", value=UK_CALLER)
        [original] = await biz.rows(Appointment)
    value = CALLER if tenant == CLINIC else UK_CALLER
    reply = await biz.say(ask, value=value)
    assert "?" in reply and not (await biz.rows(Appointment, status="cancelled"))
    reply = await biz.say(yes, value=value)
    assert cancelled in reply, reply
    reply = await biz.say(no, value=value)
    assert bye in reply, reply

    [row] = await biz.rows(Appointment)
    assert row.id == original.id and row.status == "cancelled"
    assert row.cancelled_at == now
    conv = await conversation_of(biz, value)
    assert conv.status == "closed" and conv.intake["intent"] == "cancel_appointment"


@pytest.mark.parametrize(
    ("ask", "confirmed"),
    [("Quiero confirmar mi cita", "queda confirmada"),
     ("Can you confirm my appointment?", "is confirmed")],
    ids=["es", "en"],
)  # fmt: skip
async def test_confirming_an_appointment(container, client, ask: str, confirmed: str) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    original = await book(clinic)
    assert original.confirmed_at is None
    reply = await clinic.say(ask)
    assert confirmed in reply and "Paula Sanz Romero" in reply, reply
    [row] = await clinic.rows(Appointment)
    assert row.status == "booked" and row.confirmed_at == MONDAY_10
    assert row.start_at == original.start_at


# ---- messages for staff, emergencies ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "now", "value", "turns", "recipient", "email", "caller", "phone", "reason"),
    [
        (CLINIC, MONDAY_10, CALLER,
         ["Quiero dejar un recado para el doctor Ruiz", "Marta Gómez",
          "Es sobre el presupuesto del implante, que me llame por favor"],
         "ruiz", "javier.ruiz@clinicadentalsonrisa.example", "Marta Gómez", "+34612345678",
         "Es sobre el presupuesto del implante, que me llame por favor"),
        (HARTLEY, LONDON_MONDAY_10, UK_CALLER,
         ["I'd like to leave a message for Mr Webb", "Oliver Reed",
          "It's about the financial settlement hearing, please call me back"],
         "webb", "daniel.webb@hartleywebb.example", "Oliver Reed", "+447911123456",
         "It's about the financial settlement hearing, please call me back"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_message_for_a_named_staff_member_is_stored_and_emailed(
    container,
    client,
    catcher: Catcher,
    tenant: str,
    now: datetime,
    value: str,
    turns: list[str],
    recipient: str,
    email: str,
    caller: str,
    phone: str,
    reason: str,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    replies = [await biz.say(text, value=value) for text in turns]
    assert "?" in replies[1], "the bare request is no reason: the receptionist asks for one"
    assert "Le he dejado el recado a" in replies[-1] or "I've passed your message to" in replies[-1]

    [message] = await biz.rows(StaffMessage)
    assert message.recipient_key == recipient
    assert message.caller_name == caller and message.caller_phone == phone
    assert message.reason == reason and message.urgency == "normal"
    assert message.intent == "leave_message"
    assert message.conversation_id == (await conversation_of(biz, value)).id

    mails = catcher.mails()
    assert len(mails) == 1, [m.subject for m in mails]
    [mail] = mails
    assert mail.to == email
    assert caller in mail.subject
    for piece in (caller, phone, reason):
        assert piece in mail.text, (piece, mail.text)
    deliveries = await biz.rows(StaffMessageDelivery, message_id=message.id, channel="email")
    assert [(d.target, d.status) for d in deliveries] == [(email, "sent")]
    assert not await biz.rows(Handoff)


@pytest.mark.parametrize(
    ("tenant", "now", "value", "text", "rule", "notified", "email"),
    [
        (CLINIC, SUNDAY_22, CALLER, "Me duele muchísimo la muela y tengo la cara hinchada",
         ("600 000 101", "112"), "garcia", "lucia.garcia@clinicadentalsonrisa.example"),
        (HARTLEY, LONDON_SUNDAY_21, UK_CALLER,
         "My ex-husband is threatening to kill me and I need a non-molestation order",
         ("999", "0808 2000 247"), "brennan", "aoife.brennan@hartleywebb.example"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_an_emergency_after_hours_gives_the_rule_and_alerts_the_on_call_staff(
    container,
    client,
    catcher: Catcher,
    tenant: str,
    now: datetime,
    value: str,
    text: str,
    rule: tuple[str, ...],
    notified: str,
    email: str,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    reply = await biz.say(text, value=value)
    for piece in rule:
        assert piece in reply, reply
    assert "urgent" in reply or "urgente" in reply, reply

    [alert] = await biz.rows(StaffMessage, recipient_key=notified)
    assert alert.urgency == "emergency" and alert.caller_phone == "+" + value
    assert alert.reason == text
    assert not await biz.rows(Handoff)  # nobody is there to take it
    assert email in [m.to for m in catcher.mails()]
    conv = await conversation_of(biz, value)
    assert conv.intake["urgency"] == "emergency" and conv.owner_type == "bot"


@pytest.mark.parametrize(
    ("text", "put_through"),
    [("Me duele muchísimo la muela y tengo la cara hinchada", "Le paso ahora mismo"),
     ("I've got terrible tooth pain and my face is swollen", "putting you through")],
    ids=["es", "en"],
)  # fmt: skip
async def test_an_emergency_during_hours_goes_to_the_emergency_queue(
    container, client, text: str, put_through: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(text)
    assert put_through in reply, reply
    [handoff] = await clinic.rows(Handoff)
    assert handoff.queue_key == "urgencias" and handoff.urgency == "emergency"
    assert handoff.status == "waiting" and handoff.reason == text
    assert handoff.intake["urgency"] == "emergency" and handoff.intake["phone"] == "+34612345678"
    conv = await conversation_of(clinic)
    assert conv.owner_type == "queue" and conv.owner_id == await queue_id(clinic, "urgencias")
    assert not await clinic.rows(StaffMessage)


# ---- spam -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pitch", "closing", "again"),
    [
        ("Hola, le llamo de Energía Plus para ofrecerle una tarifa de luz más barata para su "
         "negocio", "no estamos interesados", "¿sigue ahí?"),
        ("Hello, I'm calling from BrightLeads, we generate new patients for dental clinics "
         "with Google ads, can I speak to the owner?", "we are not interested", "hello?"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_spam_caller_is_closed_politely_and_nobody_is_bothered(
    container, client, catcher: Catcher, pitch: str, closing: str, again: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(pitch)
    assert closing in reply, reply
    [verdict] = await clinic.rows(SpamVerdict)
    assert verdict.verdict == "spam" and verdict.source == "model" and verdict.score >= 0.5
    conv = await conversation_of(clinic)
    assert conv.status == "closed"

    # a harmless-looking follow-up does not clear it, and gets no answer
    assert await clinic.say(again) == ""
    [verdict] = await clinic.rows(SpamVerdict)
    assert verdict.verdict == "spam" and verdict.score >= 0.5
    assert all(c.status == "closed" for c in await conversations_of(clinic, CALLER))
    assert not await clinic.rows(StaffMessage)
    assert not await clinic.rows(Handoff)
    assert not await clinic.rows(Appointment)
    assert catcher.mails() == []


@pytest.mark.parametrize(
    ("channel", "value"), [("sms", "+34900000999"), ("whatsapp", "34900000999")]
)
async def test_a_number_on_the_block_list_is_not_served(
    container, client, channel: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(
        "Hola, quiero pedir cita para limpieza dental", channel=channel, value=value
    )
    assert "no estamos interesados" in reply, reply
    [verdict] = await clinic.rows(SpamVerdict)
    assert verdict.verdict == "spam" and verdict.source == "list"
    conv = await conversation_of(clinic, value)
    assert conv.status == "closed"
    assert not await clinic.rows(Appointment)
    assert not await clinic.rows(StaffMessage) and not await clinic.rows(Handoff)


async def test_an_agent_marks_a_caller_not_spam_and_the_caller_is_then_served(
    container, client, catcher: Catcher
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    pitch = (
        "Hola, le llamo de Energía Plus para ofrecerle una tarifa de luz más barata para su negocio"
    )
    assert "no estamos interesados" in await clinic.say(pitch)
    conv = await conversation_of(clinic)
    assert conv.status == "closed"

    # the clinic does want to hear from its electricity supplier
    response = await client.post(
        f"/api/v1/conversations/{conv.id}/spam", json={"spam": False}, headers=await api_key(clinic)
    )
    assert response.status_code == 201, response.text
    [feedback] = await clinic.rows(SpamFeedback)
    assert feedback.is_spam is False and feedback.address == "+34612345678"
    [verdict] = await clinic.rows(SpamVerdict)
    assert (verdict.verdict, verdict.source) == ("ham", "agent")

    # the same caller, with words the model alone would call spam again
    reply = await clinic.say(
        "Le llamo de Energía Plus de nuevo, ¿puedo dejarle un recado a Carmen sobre la tarifa "
        "de luz?"
    )
    assert "Carmen López Díaz" in reply and "nombre" in reply, reply
    reply = await clinic.say("Marta Gil")
    assert "Le he dejado el recado a Carmen López Díaz" in reply, reply
    [message] = await clinic.rows(StaffMessage)
    assert message.recipient_key == "lopez" and message.caller_name == "Marta Gil"
    assert "tarifa de luz" in (message.reason or "")
    assert [v.verdict for v in await clinic.rows(SpamVerdict)] == ["ham"]
    assert "carmen.lopez@clinicadentalsonrisa.example" in [m.to for m in catcher.mails()]


# ---- questions, complaints, billing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "now", "value", "question", "key", "language"),
    [
        (CLINIC, MONDAY_10, CALLER, "¿Trabajan con seguros como Adeslas?", "seguros", "es"),
        (CLINIC, MONDAY_10, CALLER, "Where are you and how do I get there?", "como-llegar", "en"),
        (HARTLEY, LONDON_MONDAY_10, UK_CALLER, "Do you do legal aid?", "legal-aid", "en"),
    ],
    ids=["es-clinic", "en-clinic", "en-hartley"],
)  # fmt: skip
async def test_a_faq_is_answered_in_the_business_own_words(
    container,
    client,
    tenant: str,
    now: datetime,
    value: str,
    question: str,
    key: str,
    language: str,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    reply = await biz.say(question, value=value)
    assert faq_answer(tenant, key, language) in reply, reply
    conv = await conversation_of(biz, value)
    assert conv.language == language and conv.owner_type == "bot"
    assert not await biz.rows(StaffMessage) and not await biz.rows(Handoff)


@pytest.mark.parametrize(
    ("question", "dont_know", "yes", "name"),
    [
        ("¿Tienen parking para bicicletas eléctricas con cargador?", "No tengo esa información",
         "sí", "Elena Martín"),
        ("Do you offer sedation for nervous patients?", "I don't have that information",
         "yes please", "Emma Brown"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_an_unknown_question_is_not_invented_and_a_message_is_taken(
    container, client, question: str, dont_know: str, yes: str, name: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(question)
    assert dont_know in reply, reply
    assert not any(answer[:40] in reply for answer in all_faq_answers(CLINIC)), reply
    assert not await clinic.rows(StaffMessage)  # only when the caller says yes
    await clinic.say(yes)
    await clinic.say(name)
    [message] = await clinic.rows(StaffMessage)
    assert message.reason == question and message.caller_name == name
    assert message.recipient_key == "lopez"  # the default recipient
    assert message.caller_phone == "+34612345678" and message.urgency == "normal"


@pytest.mark.parametrize(
    ("complaint", "sorry", "name"),
    [
        ("Quiero poner una queja, me atendieron fatal y esperé una hora", "Siento mucho",
         "Rosa Vidal"),
        ("I want to make a complaint, I waited an hour and nobody apologised", "very sorry",
         "Mark Taylor"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_complaint_becomes_an_urgent_message(
    container, client, complaint: str, sorry: str, name: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(complaint)
    assert sorry in reply, reply
    reply = await clinic.say(name)
    assert "al equipo" in reply or "to the team" in reply, reply
    [message] = await clinic.rows(StaffMessage)
    assert message.intent == "complaint" and message.urgency == "high"
    assert message.reason == complaint and message.caller_name == name
    assert (await conversation_of(clinic)).intake["urgency"] == "high"


@pytest.mark.parametrize(
    ("tenant", "now", "value", "question", "name", "phone"),
    [
        (CLINIC, MONDAY_10, CALLER, "Tengo una duda con mi factura, me han cobrado dos veces",
         "Luis Romero", "+34612345678"),
        (HARTLEY, LONDON_MONDAY_10, UK_CALLER,
         "I received your bill and I think I've been overcharged", "Kate Green",
         "+447911123456"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_billing_question_without_a_faq_answer_becomes_a_message(
    container,
    client,
    tenant: str,
    now: datetime,
    value: str,
    question: str,
    name: str,
    phone: str,
) -> None:  # type: ignore[no-untyped-def]
    biz = await Business.open(container, client, now=now, name=tenant)
    reply = await biz.say(question, value=value)
    assert "?" in reply and not await biz.rows(StaffMessage), reply
    await biz.say(name, value=value)
    [message] = await biz.rows(StaffMessage)
    assert message.intent == "billing" and message.reason == question
    assert message.caller_name == name and message.caller_phone == phone
    assert message.recipient_key  # somebody gets it


# ---- a person, please -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "human", "through"),
    [("Quiero pedir cita para limpieza dental", "quiero hablar con una persona", "Le paso con"),
     ("I'd like to book a dental cleaning", "agent please", "putting you through")],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_switch_to_a_human_mid_booking_during_hours_hands_off(
    container, client, start: str, human: str, through: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say(start)
    assert (await state_of(clinic)).pending == "choose_slot"
    reply = await clinic.say(human)
    assert through in reply, reply
    [handoff] = await clinic.rows(Handoff)
    assert handoff.queue_key == "recepcion" and handoff.status == "waiting"
    assert handoff.intake["service_key"] == "limpieza"
    assert handoff.intake["intent"] == "book_appointment"  # the agent sees what they wanted
    assert handoff.channel == "whatsapp"
    conv = await conversation_of(clinic)
    assert conv.owner_type == "queue" and conv.owner_id == await queue_id(clinic, "recepcion")
    assert not await clinic.rows(Appointment) and not await clinic.rows(StaffMessage)
    assert await clinic.say("¿hola?") == ""  # the bot stays quiet while a person takes over


@pytest.mark.parametrize(
    ("start", "human", "nobody", "name", "reason"),
    [
        ("Quiero pedir cita", "quiero hablar con una persona", "no hay nadie disponible",
         "Nuria Sanz", "Quiero saber si me pueden hacer un presupuesto de ortodoncia"),
        ("I'd like to book an appointment", "agent please", "Nobody is available",
         "Tom Jones", "I want to ask about braces for my daughter"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_switch_to_a_human_after_hours_takes_a_message(
    container, client, start: str, human: str, nobody: str, name: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=SUNDAY_22)
    await clinic.say(start)
    reply = await clinic.say(human)
    assert nobody in reply, reply
    await clinic.say(name)
    reply = await clinic.say(reason)
    assert "recado" in reply or "message" in reply, reply
    assert not await clinic.rows(Handoff)
    [message] = await clinic.rows(StaffMessage)
    assert message.reason == reason and message.caller_name == name
    assert message.caller_phone == "+34612345678"
    assert message.recipient_key == "navarro"  # orthodontics: the orthodontist
    conv = await conversation_of(clinic)
    assert conv.owner_type == "bot" and conv.intake["name"] == name


# ---- who is calling, and when ---------------------------------------------------------------


async def test_a_returning_caller_is_recognised_by_number(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental el lunes 30 de noviembre")
    offer = await offered_starts(clinic)
    assert offer and all(local(s).date().isoformat() == "2026-11-30" for s in offer), offer
    await clinic.say("la primera")
    assert "Hecho" in await clinic.say("Lucía Pérez")
    assert "Gracias por contactar" in await clinic.say("no, gracias")
    [first] = await conversations_of(clinic, CALLER)
    assert first.status == "closed"

    # four days later (past the 72-hour reopen window): a new conversation, a known caller
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=MADRID)
    clinic.at(friday)
    reply = await clinic.say("Hola")
    assert reply.startswith("Hola, Lucía."), reply
    assert "Gracias por llamar" not in reply  # no anonymous greeting for a known caller
    conversations = await conversations_of(clinic, CALLER)
    assert len(conversations) == 2 and conversations[-1].id != first.id
    assert conversations[-1].intake["name"] == "Lucía Pérez"
    assert (await contact_of(clinic, CALLER)).name == "Lucía Pérez"

    # the appointment booked in the first conversation is found by the number
    reply = await clinic.say("Quiero confirmar mi cita")
    assert "queda confirmada" in reply and "lunes 30 de noviembre" in reply, reply
    [row] = await clinic.rows(Appointment)
    assert row.conversation_id == first.id and row.start_at == offer[0]
    assert row.confirmed_at == friday


async def test_an_open_conversation_is_continued_after_a_gap(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental")
    offer = await offered_starts(clinic)
    [conv] = await conversations_of(clinic, CALLER)

    clinic.at(MONDAY_10 + timedelta(hours=2, minutes=30))
    reply = await clinic.say("la segunda")
    assert reply.startswith("Hola de nuevo") and "nombre" in reply, reply
    assert "Gracias por llamar" not in reply  # not restarted
    reply = await clinic.say("Lucía Pérez")
    assert "Hecho" in reply, reply

    assert [c.id for c in await conversations_of(clinic, CALLER)] == [conv.id]
    [appointment] = await clinic.rows(Appointment)
    assert appointment.start_at == offer[1] and appointment.conversation_id == conv.id
    assert appointment.service_key == "limpieza"


@pytest.mark.parametrize(
    ("address", "mail", "name", "phone", "start", "done"),
    [
        ("marta.gomez@example.com",
         "Buenos días: me llamo Marta Gómez y mi teléfono es 612 555 123. Quisiera pedir cita "
         "para limpieza dental el jueves 26 de noviembre a las 10:00. Un saludo.",
         "Marta Gómez", "+34612555123", datetime(2026, 11, 26, 10, 0, tzinfo=MADRID), "Hecho"),
        ("oliver.reed@example.co.uk",
         "Hello, my name is Oliver Reed, my phone number is 612 555 124. I would like to book "
         "a dental cleaning on Thursday 26 November at 11:00. Kind regards",
         "Oliver Reed", "+34612555124", datetime(2026, 11, 26, 11, 0, tzinfo=MADRID), "Done"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_an_email_with_everything_at_once_is_booked_in_one_reply(
    container,
    client,
    address: str,
    mail: str,
    name: str,
    phone: str,
    start: datetime,
    done: str,
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say(mail, channel="email", value=address)
    assert reply.startswith(done) and "\n" not in reply, reply
    replies = await clinic.rows(Message, direction="outbound")
    assert len(replies) == 1 and replies[0].channel == "email"

    [appointment] = await clinic.rows(Appointment)
    assert appointment.start_at == start and appointment.service_key == "limpieza"
    assert appointment.staff_key == "sanz" and appointment.phone == phone
    conv = await conversation_of(clinic, address)
    assert conv.intake["name"] == name and conv.intake["email"] == address
    assert conv.intake["phone"] == phone and conv.last_channel == "email"
    assert (await contact_of(clinic, address)).name == name


@pytest.mark.parametrize(
    ("request_text", "refusal", "reason", "staff"),
    [
        ("Quiero dejar un recado para Carmen", "prefiero no decirlo",
         "Que me llamen por lo del presupuesto de la ortodoncia", "lopez"),
        ("I'd like to leave a message for Alberto", "I'd rather not say",
         "It's about the invoice for my last visit", "moreno"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_caller_who_refuses_to_give_a_name_is_still_served(
    container, client, request_text: str, refusal: str, reason: str, staff: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say(request_text)
    reply = await clinic.say(refusal)
    assert "motivo" in reply or "What is it about" in reply, reply  # no second nagging
    await clinic.say(reason)
    [message] = await clinic.rows(StaffMessage)
    assert message.recipient_key == staff and message.reason == reason
    assert message.caller_name is None and message.caller_phone == "+34612345678"
    conv = await conversation_of(clinic)
    assert conv.intake.get("name_refused") is True and "name" not in conv.intake
    assert (await contact_of(clinic, CALLER)).name is None  # never "I'd Rather Not Say"


# ---- odd input --------------------------------------------------------------------------------


async def test_bad_input_gets_a_polite_reply_and_the_intake_is_kept(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental")
    before = (await state_of(clinic)).intake
    assert before.service_key == "limpieza" and before.phone == "+34612345678"

    for odd in ("", "😀😀😀", "asdkjh qwe zzzx", "🦷🦷 ??? !!!"):
        reply = await clinic.say(odd)
        assert_polite(reply)
        state = await state_of(clinic)
        assert state.intake == before and state.pending == "choose_slot", (odd, state)
    assert not await clinic.rows(Appointment) and not await clinic.rows(StaffMessage)

    # mixed languages, with a new day: the offer moves to tomorrow, nothing is lost
    reply = await clinic.say("Hola, I want una cita for mañana please")
    assert_polite(reply)
    offer = await offered_starts(clinic)
    assert offer and all(local(s).date() == MONDAY_10.date() + timedelta(days=1) for s in offer)
    await clinic.say("la primera")
    await clinic.say("Lucía Pérez")
    [appointment] = await clinic.rows(Appointment)
    assert appointment.service_key == "limpieza" and appointment.start_at == offer[0]


async def test_a_10kb_message_is_refused_at_the_edge_and_the_longest_allowed_is_answered(
    container, client
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say("Quiero pedir cita para limpieza dental")
    before = (await state_of(clinic)).intake
    stored = len(await clinic.rows(Message))

    huge = ("Hola, quería comentarles una cosa sobre mi cita. " * 250)[:10_240]
    body, headers = simulator_request(clinic.secret, text=huge, channel="whatsapp", value=CALLER)
    response = await client.post(f"/hooks/{clinic.account_id}", content=body, headers=headers)
    # the simulator caps a text at 4096 characters: a clear 400, not a crash
    assert response.status_code == 400 and "4096" in response.json()["detail"], response.text
    await container.relay.drain()
    assert len(await clinic.rows(Message)) == stored  # nothing stored, nothing answered

    longest = ("Quería comentarles una cosa sobre mi cita y mis dientes. " * 80)[:4096]
    reply = await clinic.say(longest)
    assert_polite(reply)
    assert (await state_of(clinic)).intake.service_key == before.service_key == "limpieza"
    assert (await conversation_of(clinic)).intake["phone"] == "+34612345678"


@pytest.mark.parametrize(
    ("text", "card", "name"),
    [
        ("Quiero pagar la limpieza, mi tarjeta es 4111 1111 1111 1111", "4111 1111 1111 1111",
         "Lucía Pérez"),
        ("I'd like to pay my bill by card: 5500 0000 0000 0004", "5500 0000 0000 0004",
         "John Smith"),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_a_card_number_is_never_stored(
    container, client, catcher: Catcher, text: str, card: str, name: str
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    await clinic.say(text)
    await clinic.say(name)
    [message] = await clinic.rows(StaffMessage)  # a payment question is passed on...
    assert "[card]" in (message.reason or "")  # ...without the number

    forms = (card, card.replace(" ", ""), card[:4] + " ", card[-4:])
    stored = [m.body for m in await clinic.rows(Message)]
    stored += [json.dumps(c.intake) for c in await clinic.rows(Conversation)]
    stored += [json.dumps(r.state) for r in await clinic.rows(DialogueRecord)]
    stored += [f"{m.reason} {m.summary}" for m in await clinic.rows(StaffMessage)]
    stored += [m.text for m in catcher.mails()]
    assert stored and not any(f in s for f in forms for s in stored), stored
    assert any("[card]" in s for s in stored)


# ---- channels and languages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "value", "turns", "phone_reply", "phone", "done"),
    [
        ("whatsapp", "34611111111", ("Quiero pedir cita para limpieza dental", "la primera"),
         None, "+34611111111", "Hecho"),
        ("sms", "+34633333333", ("Quiero pedir cita para limpieza dental", "la primera"),
         None, "+34633333333", "Hecho"),
        ("webchat", "visitor-42", ("I'd like to book a dental cleaning", "the first one"),
         "My number is 612 555 321", "+34612555321", "Done"),
    ],
    ids=["whatsapp-es", "sms-es", "webchat-en"],
)  # fmt: skip
async def test_whatsapp_sms_and_webchat_book_the_same_way(
    container,
    client,
    channel: str,
    value: str,
    turns: tuple[str, str],
    phone_reply: str | None,
    phone: str,
    done: str,
) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    for text in turns:
        await clinic.say(text, channel=channel, value=value)
    reply = await clinic.say("Pablo Ortiz", channel=channel, value=value)
    if phone_reply is None:  # the caller id is the phone: nothing more to ask
        assert done in reply, reply
    else:  # a web visitor has no number: ask for one
        assert "phone number" in reply and not await clinic.rows(Appointment), reply
        reply = await clinic.say(phone_reply, channel=channel, value=value)
        assert done in reply, reply
    [appointment] = await clinic.rows(Appointment)
    assert appointment.phone == phone and appointment.service_key == "limpieza"
    outbound = await clinic.rows(Message, direction="outbound")
    assert outbound and {m.channel for m in outbound} == {channel}
    conv = await conversation_of(clinic, value)
    assert conv.last_channel == channel and conv.intake["phone"] == phone


async def test_a_voice_caller_is_served_turn_by_turn_with_two_slots(container, client) -> None:  # type: ignore[no-untyped-def]
    """The same policy on voice: two slots instead of three (a list is hard to hear), and a
    booking from the caller id. The voice adapter that turns the replies into TwiML is the
    channels issue's; here the turns come through the simulator's voice channel."""
    clinic = await Business.open(container, client, now=MONDAY_10)
    offer = await clinic.say(
        "quiero pedir cita para una limpieza", channel="voice", value="+34644444444"
    )
    offered = await clinic.rows(DialogueRecord)
    assert len(offered[0].state["offered"]) == 2, offer
    await clinic.say("la primera", channel="voice", value="+34644444444")
    reply = await clinic.say("Pablo Ortiz", channel="voice", value="+34644444444")
    assert "Hecho" in reply, reply
    [appointment] = await clinic.rows(Appointment)
    assert appointment.phone == "+34644444444"
    outbound = await clinic.rows(Message, direction="outbound")
    assert {m.channel for m in outbound} == {"voice"}


async def test_the_language_follows_each_message(container, client) -> None:  # type: ignore[no-untyped-def]
    clinic = await Business.open(container, client, now=MONDAY_10)
    reply = await clinic.say("Hola, quiero pedir cita para limpieza dental")
    assert "¿Cuál le viene mejor?" in reply, reply
    reply = await clinic.say("Sorry, do you speak English? The first one please")
    assert reply == "May I have your name, please?", reply
    reply = await clinic.say("My name is Helen Carter")
    assert reply.startswith("Done: I've booked Dental cleaning"), reply
    reply = await clinic.say("¿Cuál es su horario?")
    assert faq_answer(CLINIC, "horario", "es") in reply and "¿Puedo ayudarle" in reply, reply

    inbound = sorted(
        await clinic.rows(Message, direction="inbound"), key=lambda m: (m.created_at, m.id)
    )
    assert [m.language for m in inbound] == ["es", "en", "en", "es"]
    [appointment] = await clinic.rows(Appointment)
    assert appointment.service_key == "limpieza" and appointment.staff_key == "sanz"
    conv = await conversation_of(clinic)
    assert conv.language == "es" and conv.intake["name"] == "Helen Carter"


async def test_a_london_firm_books_in_london_time(container, client) -> None:  # type: ignore[no-untyped-def]
    firm = await Business.open(container, client, now=LONDON_MONDAY_10, name=HARTLEY)
    reply = await firm.say(
        "I'd like to book an initial consultation next Tuesday afternoon", value=UK_CALLER
    )
    assert reply.startswith("I have these times"), reply
    offer = await offered_starts(firm, UK_CALLER)
    assert all(14 <= local(s, LONDON).hour < 18 for s in offer), offer
    await firm.say("the second one", value=UK_CALLER)
    reply = await firm.say("Oliver Reed", value=UK_CALLER)
    assert "Initial consultation" in reply, reply
    [appointment] = await firm.rows(Appointment)
    assert appointment.start_at == offer[1]
    assert appointment.end_at - appointment.start_at == timedelta(minutes=45)
    assert appointment.service_key == "initial-consultation"
    assert appointment.phone == "+447911123456"
    start = local(appointment.start_at, LONDON)
    assert start.weekday() == 1 and f"{start.hour}:{start.minute:02d}" in reply
