"""Surveys end to end on both databases: a customer writes on the simulator, a person handles
the conversation and resolves it, the survey goes out on the same channel, the answer is
stored and the conversation stays closed. Time is fixed through ``container.clock``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.contacts import service as contacts_service
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.events.envelope import Envelope
from centralita.routing import desk
from centralita.routing.model import Presence
from centralita.surveys import service as surveys_service
from centralita.surveys.models import Survey
from centralita.tenants.config.apply import apply_document
from centralita.tenants.models import StaffMember, Tenant
from tests.receptionist.harness import Business, demo_document

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid: the clinic is open
CALLER = "34612345678"
THANKS = "¡Gracias por su respuesta! Nos ayuda a mejorar."


@pytest.fixture(autouse=True)
def _ingress_on_the_test_clock(monkeypatch: pytest.MonkeyPatch, container: Container) -> None:
    """Threading (reopen windows) runs on the wall clock unless told: use the test's clock."""
    monkeypatch.setattr("centralita.conversations.service.utcnow", lambda: container.clock())


async def open_clinic(container: Container, client: httpx.AsyncClient, **surveys: Any) -> Business:
    """The demo clinic (CSAT after a person's conversations) with ``surveys`` overridden."""
    doc = demo_document("clinica-dental-sonrisa")
    doc = doc.model_copy(update={"surveys": doc.surveys.model_copy(update=surveys)})
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == doc.tenant.slug))
        assert tenant is not None
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
            )
        )
        assert account is not None and account.secret
    clinic = Business(container, client, tenant.id, account.id, account.secret)
    clinic.at(MONDAY_10)
    return clinic


async def handled_by_a_person(clinic: Business, *, value: str = CALLER) -> tuple[str, str]:
    """The customer asks for a person, an agent takes the conversation: (conversation, agent)."""
    await clinic.say("Hola, quiero hablar con una persona", value=value)
    conv = await clinic.conversation()
    [agent] = [s.id for s in await clinic.rows(StaffMember, user_role="agent")][:1]
    async with clinic.container.sessions() as session, session.begin():
        await desk.set_presence(session, clinic.container, clinic.tenant_id, agent,
                                Presence.AVAILABLE)  # fmt: skip
    async with clinic.container.sessions() as session, session.begin():
        await desk.pick(session, clinic.container, clinic.tenant_id, agent, conv.id, force=True)
    await clinic.container.relay.drain()
    return conv.id, agent


async def resolve(clinic: Business, conversation_id: str) -> None:
    async with clinic.container.sessions() as session, session.begin():
        await desk.resolve(session, clinic.container, clinic.tenant_id, conversation_id,
                           by_agent=None, code="resolved")  # fmt: skip
    await clinic.container.relay.drain()


def later(clinic: Business, minutes: float) -> None:
    now = clinic.container.clock()
    clinic.at(now + timedelta(minutes=minutes))


async def test_a_resolved_conversation_is_surveyed_and_the_answer_stored(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, agent = await handled_by_a_person(clinic)
    await clinic.new_replies()
    later(clinic, 5)
    await resolve(clinic, conv_id)
    [question] = await clinic.new_replies()
    assert question.channel == "whatsapp" and question.author_type == "system"
    assert "del 1 (muy insatisfecho) al 5" in question.body
    assert [c["id"] for c in question.meta["choices"]] == [f"csat:{n}" for n in range(1, 6)]
    assert question.delivery_status == "delivered"  # the simulator took it
    [survey] = await clinic.rows(Survey)
    assert (survey.status, survey.channel, survey.kind) == ("sent", "whatsapp", "csat")
    assert survey.agent_id == agent and survey.message_id == question.id
    [ix] = await clinic.rows(Interaction, conversation_id=conv_id)
    assert survey.interaction_id == ix.id and survey.queue_id == ix.queue_id

    later(clinic, 2)
    reply = await clinic.say("5", value=CALLER)
    assert reply == THANKS  # not the receptionist
    [survey] = await clinic.rows(Survey)
    assert (survey.status, survey.score, survey.answer_text) == ("answered", 5, "5")
    assert survey.answered_at == container.clock()
    conv = (await clinic.rows(Conversation, id=conv_id))[0]
    assert conv.status == "closed"
    # filed under the interaction it rates: no new interaction was counted for a "5"
    assert len(await clinic.rows(Interaction, conversation_id=conv_id)) == 1
    [answer] = await clinic.rows(Message, direction="inbound", body="5")
    assert answer.conversation_id == conv_id and answer.interaction_id == ix.id


async def test_nonsense_is_asked_again_once_then_left_to_the_receptionist(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    await clinic.new_replies()
    later(clinic, 1)
    reply = await clinic.say("xyz", value=CALLER)
    assert reply == "Perdone, no le he entendido. Responda con un número del 1 al 5, por favor."
    [survey] = await clinic.rows(Survey)
    assert survey.status == "sent" and survey.invalid_replies == 1
    assert (await clinic.rows(Conversation, id=conv_id))[0].status == "closed"
    later(clinic, 1)
    reply = await clinic.say("abc", value=CALLER)
    assert reply and "número" not in reply  # the receptionist answered it
    [survey] = await clinic.rows(Survey)
    assert survey.status == "sent" and survey.invalid_replies == 2 and survey.score is None
    assert (await clinic.rows(Conversation, id=conv_id))[0].status == "open"


async def test_an_answer_after_asking_again_is_stored(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    later(clinic, 1)
    await clinic.say("hmm", value=CALLER)
    later(clinic, 1)
    assert await clinic.say("cuatro", value=CALLER) == THANKS
    [survey] = await clinic.rows(Survey)
    assert (survey.status, survey.score, survey.invalid_replies) == ("answered", 4, 1)
    assert (await clinic.rows(Conversation, id=conv_id))[0].status == "closed"


async def test_a_second_answer_keeps_the_first(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    later(clinic, 1)
    await clinic.say("5", value=CALLER)
    later(clinic, 1)
    reply = await clinic.say("1", value=CALLER)
    assert "Gracias por su respuesta" not in reply  # the receptionist's turn, not the survey's
    [survey] = await clinic.rows(Survey)
    assert (survey.status, survey.score) == ("answered", 5)
    assert len(await clinic.rows(Message, author_type="system")) == 2  # question and thanks


async def test_a_question_after_the_survey_goes_to_the_receptionist(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    later(clinic, 1)
    reply = await clinic.say("¿A qué hora abrís el día 5?", value=CALLER)
    assert reply and "Gracias por su respuesta" not in reply and "Perdone" not in reply
    [survey] = await clinic.rows(Survey)
    assert survey.status == "sent" and survey.invalid_replies == 0


async def test_whatsapp_outside_the_window_uses_the_template_or_skips(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client, whatsapp_template="encuesta_satisfaccion")
    conv_id, _ = await handled_by_a_person(clinic, value="34611000001")
    later(clinic, 25 * 60)  # the customer wrote 25 hours ago: only a template may go out
    await resolve(clinic, conv_id)
    [question] = [m for m in await clinic.new_replies() if m.author_type == "system"]
    assert question.meta["template"] == {
        "name": "encuesta_satisfaccion", "language": "es", "parameters": ["-"],
    }  # fmt: skip
    assert "choices" not in question.meta
    [survey] = await clinic.rows(Survey)
    assert survey.status == "sent"

    other = await open_clinic(container, client)  # no template configured
    conv_id, _ = await handled_by_a_person(other, value="34611000002")
    later(other, 25 * 60)
    await resolve(other, conv_id)
    assert [m for m in await other.new_replies() if m.author_type == "system"] == []
    [skipped] = await other.rows(Survey)
    assert skipped.status == "skipped" and "24-hour window" in (skipped.reason or "")
    assert skipped.message_id is None


async def test_nothing_is_sent_to_a_contact_who_opted_out(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    conv = (await clinic.rows(Conversation, id=conv_id))[0]
    async with container.sessions() as session, session.begin():
        await contacts_service.update_contact(
            session, tenant_id=clinic.tenant_id, contact_id=conv.contact_id,
            consent={"surveys": False},
        )  # fmt: skip
    later(clinic, 5)
    await resolve(clinic, conv_id)
    assert await clinic.rows(Survey) == []
    assert await clinic.rows(Message, author_type="system") == []


async def test_the_receptionist_alone_is_not_surveyed_unless_asked(
    container: Container, client: httpx.AsyncClient
) -> None:
    for after, expected in (("agent", 0), ("any", 1)):
        clinic = await open_clinic(container, client, after=after)
        await clinic.say("¿Cuál es vuestro horario?", value=f"3461100010{len(after)}")
        conv = await clinic.conversation()
        async with container.sessions() as session, session.begin():
            from centralita.conversations import service as conversations_service

            await conversations_service.update_conversation(
                session, tenant_id=clinic.tenant_id, conversation_id=conv.id, status="closed"
            )
        await container.relay.drain()
        assert len(await clinic.rows(Survey)) == expected, after


async def test_a_redelivered_close_event_sends_one_survey(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    [ix] = await clinic.rows(Interaction, conversation_id=conv_id)
    closed = Envelope("evt_x", "conversation.closed", 1, clinic.tenant_id, "",
                      {"conversation_id": conv_id})  # fmt: skip
    ended = Envelope("evt_y", "interaction.ended", 1, clinic.tenant_id, "",
                     {"interaction_id": ix.id, "conversation_id": conv_id})  # fmt: skip
    for envelope in (closed, closed, ended):
        await surveys_service.handle_event(container, envelope)
    await container.relay.drain()
    assert len(await clinic.rows(Survey)) == 1
    assert len(await clinic.rows(Message, author_type="system")) == 1


async def test_a_disabled_survey_sends_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client, enabled=False)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    assert await clinic.rows(Survey) == []


async def test_an_expired_survey_takes_no_answer(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic = await open_clinic(container, client, expire_hours=1)
    conv_id, _ = await handled_by_a_person(clinic)
    later(clinic, 5)
    await resolve(clinic, conv_id)
    later(clinic, 61)
    reply = await clinic.say("5", value=CALLER)
    assert "Gracias por su respuesta" not in reply
    [survey] = await clinic.rows(Survey)
    assert survey.status == "expired" and survey.score is None


async def test_nothing_is_sent_after_an_opt_out_in_the_campaigns_ledger(
    container: Container, client: httpx.AsyncClient
) -> None:
    from centralita.campaigns import optouts

    clinic = await open_clinic(container, client)
    conv_id, _ = await handled_by_a_person(clinic)
    conv = (await clinic.rows(Conversation, id=conv_id))[0]
    async with container.sessions() as session, session.begin():
        await optouts.record(
            session,
            tenant_id=clinic.tenant_id,
            contact_id=conv.contact_id,
            action="opt_out",
            channel="whatsapp",
            now=container.clock(),
        )
    later(clinic, 5)
    await resolve(clinic, conv_id)
    assert await clinic.rows(Survey) == []
