"""Routed calls reach their agent: a caller waiting in Twilio's queue is offered by the ACD,
an agent accepts in the desktop, the relay redirects the live call through the local stand-in
of Twilio's Calls API, and the signed ``/connect`` hook dials the agent after the whisper.
Also: a caller gone before the redirect, a callback that keeps its place, an abandoned caller,
and forged or malformed ``/connect`` requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.ids import new_id
from centralita.events.envelope import Envelope
from centralita.events.models import OutboxEvent
from centralita.events.relay import to_envelope
from centralita.receptionist.models import Handoff
from centralita.routing.voice import connect_assigned_call
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from centralita.tenants.models import StaffMember, Tenant
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.channels.test_twilio_voice_queue import (
    CALL,
    CALLER,
    HEAD,
    MONDAY_10,
    OUR_NUMBER,
    SID,
    TOKEN,
    _ask_for_a_person,
    _call,
    _post,
    _say,
    fixture,
)
from tests.receptionist.harness import demo_document
from tests.routing.test_api import _browser
from tests.web.forms import make_user

AGENT_PHONE = "+34600000111"
GONE_NOTE = "La persona que llamaba colgó antes de que pudiéramos pasarle la llamada."


@dataclass
class Desk:
    account_id: str
    tenant_id: str
    agent_id: str  # the agent's staff member id
    agent: httpx.AsyncClient  # the agent's signed-in browser
    twilio: FakeTwilio

    @property
    def hook(self) -> str:
        return f"http://testserver/hooks/{self.account_id}"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def _open_desk(container: Container, twilio: FakeTwilio, *, phone: str | None) -> Desk:
    """The demo clinic taking calls in a queue (nobody in its directory can be dialled), its
    REST API at the stand-in, and one agent with a login (and a phone number when given)."""
    doc = demo_document("clinica-dental-sonrisa")
    doc.staff = [m.model_copy(update={"sip": None, "phone": None}) for m in doc.staff]
    doc.channels.append(
        ChannelConfig(name="voz", kind="voice", provider="twilio", address=OUR_NUMBER,
                      secret=TOKEN, settings={"account_sid": SID, "voice_language": "es-ES",
                                              "queue_calls": True, "api_base_url": twilio.url})
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.name == "voz"))
        assert account is not None
        tenant = await session.get_one(Tenant, account.tenant_id)
    container.clock = lambda: MONDAY_10
    user_id = await make_user(container, tenant.id, email="agente@example.com", name="Agente")
    async with container.sessions() as session, session.begin():
        staff = StaffMember(
            id=new_id("stf"), tenant_id=tenant.id, key="agente", name="Agente de recepción",
            phone=phone, skills={"recepcion": 3}, user_id=user_id, user_role="agent",
        )  # fmt: skip
        session.add(staff)
    agent = await _browser(container, tenant.slug, "agente@example.com")
    return Desk(account.id, tenant.id, staff.id, agent, twilio)


@pytest.fixture
async def desk(container: Container, twilio: FakeTwilio) -> AsyncIterator[Desk]:
    d = await _open_desk(container, twilio, phone=AGENT_PHONE)
    try:
        yield d
    finally:
        await d.agent.aclose()


async def _available(desk: Desk) -> None:
    r = await desk.agent.put("/api/v1/agent/me/presence", json={"presence": "available"})
    assert r.status_code == 200, r.text


async def _me(desk: Desk) -> dict[str, Any]:
    r = await desk.agent.get("/api/v1/agent/me")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _queued_call(container: Container, client: httpx.AsyncClient, desk: Desk) -> str:
    """A caller asks for a person and waits in the queue; the ACD takes the hand-off."""
    r = await _ask_for_a_person(client, desk.account_id)
    assert "<Enqueue" in r.text, r.text
    await container.relay.drain()
    async with container.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    return conversation.id


def _connect_fields(**override: str) -> dict[str, str]:
    """What Twilio posts to the redirected call's new URL: the standard call parameters."""
    return {"AccountSid": SID, "ApiVersion": "2010-04-01", "CallSid": CALL, "From": CALLER,
            "To": OUR_NUMBER, "CallStatus": "in-progress", "Direction": "inbound",
            **override}  # fmt: skip


async def _interaction(container: Container) -> Interaction:
    async with container.sessions() as session:
        [found] = (await session.scalars(select(Interaction))).all()
        return found


async def _notes(container: Container) -> list[Message]:
    async with container.sessions() as session:
        return list((await session.scalars(select(Message).where(Message.kind == "note"))).all())


async def _assigned_events(container: Container) -> list[Envelope]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.name == "routing.assigned")
        )
        return [to_envelope(row) for row in rows.all()]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def test_an_accepted_call_is_put_through_to_the_agent(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)
    offers = (await _me(desk))["offers"]
    assert [(o["conversation_id"], o["channel"], o["callback"]) for o in offers] == [
        (conv, "voice", False)
    ]
    assert desk.twilio.redirects == []  # an offer moves nothing

    r = await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 200, r.text
    await container.relay.drain()
    url = f"{desk.hook}/connect?conversation={conv}&agent={desk.agent_id}"
    assert desk.twilio.redirects == [
        {"call_sid": CALL, "status": 200, "Url": url, "Method": "POST"}
    ]
    # a redelivered event, or another drain, moves the call no further
    [assigned] = await _assigned_events(container)
    await connect_assigned_call(container, assigned)
    await container.relay.drain()
    assert len(desk.twilio.redirects) == 1
    call = await _interaction(container)
    assert call.agent_id == desk.agent_id and _utc(call.offered_at) == MONDAY_10

    # Twilio fetches the new URL: the agent is dialled, and hears the intake summary first
    async with container.sessions() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.conversation_id == conv))
    assert handoff is not None and handoff.status == "taken"
    path = url.removeprefix("http://testserver")
    r = await _post(client, path, _connect_fields())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert r.text == (
        f"{HEAD}<Response>{_say('Un momento, por favor.')}"
        f'<Dial action="{desk.hook}?turn=0&amp;dialed=1" method="POST" timeout="25">'
        f'<Number url="{desk.hook}/whisper/{handoff.id}" method="POST">{AGENT_PHONE}</Number>'
        "</Dial></Response>"
    )
    again = await _post(client, path, _connect_fields())
    assert again.text == r.text  # Twilio retried the fetch: the same answer
    whisper = await _post(client, f"/hooks/{desk.account_id}/whisper/{handoff.id}",
                          _connect_fields(CallSid="CA" + "5" * 32))  # fmt: skip
    assert whisper.status_code == 200 and "<Say" in whisper.text

    # the agent answered and talked for two minutes; then the call ends normally
    r = await _call(client, desk.account_id, "turn=0&dialed=1", DialCallStatus="completed",
                    DialCallDuration="120", DialCallSid="CA" + "6" * 32)  # fmt: skip
    assert r.text == f"{HEAD}<Response><Hangup/></Response>"
    r = await _post(client, f"/hooks/{desk.account_id}", fixture("status_completed"))
    assert r.text == f"{HEAD}<Response></Response>"
    call = await _interaction(container)
    assert call.ended_at is not None and call.abandoned_at is None and call.disposition is None
    assert call.agent_id == desk.agent_id
    await container.relay.drain()
    assert (await _me(desk))["conversations"] == [conv]  # the agent still has it, to wrap up
    assert await _notes(container) == []
    assert len(desk.twilio.redirects) == 1


async def test_a_caller_gone_before_the_redirect_leaves_a_note(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    conv = await _queued_call(container, client, desk)
    desk.twilio.live(CALL)
    desk.twilio.hang_up(CALL)  # the call ended, its status callback not here yet
    r = await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 200, r.text
    await container.relay.drain()
    [tried] = desk.twilio.redirects
    assert tried["call_sid"] == CALL and tried["status"] == 404
    [note] = await _notes(container)
    assert note.body == GONE_NOTE and note.conversation_id == conv
    assert note.direction == "internal" and note.author_type == "system"
    async with container.sessions() as session:
        failed = (await session.scalars(
            select(OutboxEvent).where(OutboxEvent.attempts > 0))).all()  # fmt: skip
        unpublished = (await session.scalars(
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)))).all()  # fmt: skip
    assert failed == [] and unpublished == []  # final: nothing to retry
    [assigned] = await _assigned_events(container)
    await connect_assigned_call(container, assigned)  # a redelivery: asked once, noted once
    assert len(desk.twilio.redirects) == 1 and len(await _notes(container)) == 1
    assert (await _me(desk))["conversations"] == [conv]  # the agent keeps it, to call back


async def test_a_refused_redirect_is_not_called_a_hang_up(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)
    desk.twilio.failures.append((401, 20003, "Authenticate"))
    await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    await container.relay.drain()
    assert [r["status"] for r in desk.twilio.redirects] == [401]
    [note] = await _notes(container)
    assert note.body == (
        "No se pudo pasarle la llamada automáticamente (HTTP 401: Twilio error 20003: "
        "Authenticate): devuelva la llamada."
    )
    await container.relay.drain()
    assert len(desk.twilio.redirects) == 1  # final: not retried


async def test_twilio_failing_for_now_is_tried_again(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)
    desk.twilio.failures.append((503, 20500, "Service unavailable"))
    await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    await container.relay.drain()
    assert [r["status"] for r in desk.twilio.redirects] == [503]
    async with container.sessions() as session, session.begin():
        waiting = (await session.scalars(
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)))).all()  # fmt: skip
        assert [e.name for e in waiting] == ["routing.assigned"] and waiting[0].attempts == 1
        assert "TransientSendError" in (waiting[0].last_error or "")
        await session.execute(  # its backoff is over
            update(OutboxEvent).values(available_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await container.relay.drain()
    assert [r["status"] for r in desk.twilio.redirects] == [503, 200]
    assert await _notes(container) == []


async def test_an_agent_without_a_number_is_not_put_through(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    desk = await _open_desk(container, twilio, phone=None)
    try:
        await _available(desk)
        twilio.live(CALL)
        conv = await _queued_call(container, client, desk)
        r = await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
        assert r.status_code == 200, r.text
        await container.relay.drain()
        assert twilio.redirects == [] and await _notes(container) == []
        assert (await _me(desk))["conversations"] == [conv]  # shown to call back
    finally:
        await desk.agent.aclose()


async def test_a_caller_choosing_a_callback_keeps_the_place(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)  # nobody is available yet
    # the place announced is the ACD's (first in line), not Twilio's QueuePosition (3)
    r = await _post(client, f"/hooks/{desk.account_id}/queue-wait", fixture("queue_wait"))
    assert _say("Es usted el siguiente.") in r.text
    assert "Hay 2 personas delante de usted." not in r.text
    choice = f"/hooks/{desk.account_id}/queue-wait?choice=1"
    r = await _post(client, choice, fixture("queue_wait", Digits="1"))
    assert r.text == f"{HEAD}<Response><Leave/></Response>"
    leave = fixture("queue_result_bridged", QueueResult="leave", QueueTime="75")
    r = await _post(client, f"/hooks/{desk.account_id}?turn=2&queued=1", leave)
    said = "De acuerdo, le llamaremos sin que pierda su turno. Adiós."
    assert r.text == f"{HEAD}<Response>{_say(said)}<Hangup/></Response>"
    async with container.sessions() as session:
        state = await container.routing.read(session, desk.tenant_id)
        assert conv in state.items and state.items[conv].callback is True
        assert state.items[conv].agent is None
        assert (await session.scalars(select(StaffMessage))).all() == []  # the ACD has it
    desk.twilio.hang_up(CALL)
    await _post(client, f"/hooks/{desk.account_id}", fixture("status_completed"))
    await container.relay.drain()
    async with container.sessions() as session:
        state = await container.routing.read(session, desk.tenant_id)
        assert conv in state.items  # the caller hanging up after choosing is no abandonment

    await _available(desk)
    offers = (await _me(desk))["offers"]
    assert [(o["conversation_id"], o["callback"]) for o in offers] == [(conv, True)]
    r = await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 200, r.text
    await container.relay.drain()
    assert desk.twilio.redirects == []  # the agent calls back: nothing to redirect
    assert (await _me(desk))["conversations"] == [conv]
    call = await _interaction(container)
    assert call.disposition == "callback" and call.abandoned_at is None


async def test_an_abandoned_caller_is_withdrawn(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)
    assert [o["conversation_id"] for o in (await _me(desk))["offers"]] == [conv]
    hangup = fixture("queue_result_bridged", QueueResult="hangup", QueueTime="30")
    r = await _post(client, f"/hooks/{desk.account_id}?turn=2&queued=1", hangup)
    assert r.text == f"{HEAD}<Response></Response>"
    me = await _me(desk)
    assert me["offers"] == [] and me["conversations"] == []
    async with container.sessions() as session:
        state = await container.routing.read(session, desk.tenant_id)
    assert conv not in state.items
    r = await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    assert r.status_code == 404
    await container.relay.drain()
    call = await _interaction(container)
    assert call.disposition == "abandoned" and _utc(call.abandoned_at) == MONDAY_10 + timedelta(
        seconds=30
    )
    assert desk.twilio.redirects == []


async def test_connect_refuses_forged_and_malformed_requests(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    await _available(desk)
    desk.twilio.live(CALL)
    conv = await _queued_call(container, client, desk)
    await desk.agent.post(f"/api/v1/agent/offers/{conv}/accept")
    await container.relay.drain()
    base = f"/hooks/{desk.account_id}/connect"
    good = f"{base}?conversation={conv}&agent={desk.agent_id}"
    r = await _post(client, good, _connect_fields(), token="not-the-auth-token")
    assert r.status_code == 403
    bare = await client.post(good, data=_connect_fields())
    assert bare.status_code == 403
    for path in (f"{base}?conversation={conv}", f"{base}?conversation=a%20b&agent=x", base):
        r = await _post(client, path, _connect_fields())
        assert r.status_code == 400, (path, r.text)
    r = await _post(client, good, _connect_fields(CallSid="CA" + "9" * 32))
    assert r.status_code == 404  # no such call
    other = f"{base}?conversation=cnv_0000000000000000&agent={desk.agent_id}"
    r = await _post(client, other, _connect_fields())
    assert r.status_code == 404  # not this call's conversation
    # an agent who cannot be dialled (any more): the caller is told they will be called back
    nobody = f"{base}?conversation={conv}&agent=stf_0000000000000000"
    r = await _post(client, nobody, _connect_fields())
    assert r.status_code == 200 and r.text.endswith("<Hangup/></Response>")
    assert "<Dial" not in r.text
