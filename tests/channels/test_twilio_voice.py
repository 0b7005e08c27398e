"""Twilio-compatible voice, turn by turn: signed call webhooks answered with TwiML that
speaks the receptionist's replies and gathers the caller's next words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature
from centralita.conversations.models import Message
from centralita.receptionist.models import Handoff
from centralita.scheduling.models import Appointment
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from tests.receptionist.harness import demo_document

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-voice-0001"
OUR_NUMBER = "+34910000002"
CALLER = "+34612345678"
CALL = "CA" + "1" * 32
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, open


async def _clinic(container: Container, **receptionist: Any) -> str:
    doc = demo_document("clinica-dental-sonrisa", **receptionist)
    doc.channels.append(
        ChannelConfig(name="voz", kind="voice", provider="twilio", address=OUR_NUMBER,
                      secret=TOKEN, settings={"account_sid": SID, "voice_language": "es-ES"})
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.name == "voz"))
        assert account is not None
    container.clock = lambda: MONDAY_10
    return account.id


async def _call(
    client: httpx.AsyncClient, account_id: str, query: str = "", token: str = TOKEN, **fields: str
) -> httpx.Response:
    params = {"CallSid": CALL, "AccountSid": SID, "From": CALLER, "To": OUR_NUMBER,
              "Direction": "inbound", "CallStatus": "in-progress", **fields}  # fmt: skip
    path = f"/hooks/{account_id}" + (f"?{query}" if query else "")
    sig = signature.compute(token, "http://testserver" + path, {k: [v] for k, v in params.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return await client.post(path, content=urlencode(params).encode(), headers=headers)


def _says(twiml: str) -> list[str]:
    return re.findall(r"<Say[^>]*>(.*?)</Say>", twiml, re.S)


def _action(twiml: str) -> str:
    found = re.search(r'<Gather input="speech" action="([^"]+)"', twiml)
    assert found, twiml
    return found.group(1)


async def _messages(container: Container, **where: Any) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.created_at, Message.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await session.scalars(stmt)).all())


async def test_a_caller_books_by_voice_turn_by_turn(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    r = await _call(client, account_id, CallStatus="ringing")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    xml = r.text
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert 'language="es-ES"' in xml and "Clínica" in " ".join(_says(xml))
    assert _action(xml) == f"http://testserver/hooks/{account_id}?turn=1"
    assert "<Redirect" in xml  # silence comes back as a turn, not a dead line

    words = {"SpeechResult": "quiero pedir cita para una limpieza", "Confidence": "0.92"}
    r = await _call(client, account_id, "turn=1", **words)
    offer = " ".join(_says(r.text))
    assert "?" in offer and re.search(r"\d", offer), r.text  # slots, then a question
    assert _action(r.text).endswith("?turn=2")

    # Twilio retries the same webhook: stored once, and the same words are said again
    again = await _call(client, account_id, "turn=1", **words)
    assert " ".join(_says(again.text)) == offer
    spoken = await _messages(container, direction="inbound", kind="text")
    assert [m.body for m in spoken] == ["quiero pedir cita para una limpieza"]
    assert spoken[0].channel == "voice" and spoken[0].provider_message_id == f"{CALL}:1"

    r = await _call(client, account_id, "turn=2", SpeechResult="la primera")
    r = await _call(client, account_id, "turn=3", SpeechResult="Pablo Ortiz")
    assert "Hecho" in " ".join(_says(r.text)), r.text
    async with container.sessions() as session:
        [appointment] = (await session.scalars(select(Appointment))).all()
    assert appointment.phone == CALLER

    # the replies were spoken in the TwiML; their outbound rows are delivered, never sent twice
    await container.relay.drain()
    replies = await _messages(container, direction="outbound")
    assert replies and {m.delivery_status for m in replies} == {"delivered"}

    r = await _call(client, account_id, CallStatus="completed", CallDuration="63")
    assert r.text.endswith("<Response></Response>")
    [ended] = [
        m for m in await _messages(container, kind="event") if m.meta.get("event") == "ended"
    ]
    assert ended.meta["duration"] == "63"


async def test_silence_is_reprompted_then_the_call_ends_politely(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    await _call(client, account_id, CallStatus="ringing")
    r = await _call(client, account_id, "turn=1&silent=0")
    assert "¿Sigue ahí?" in " ".join(_says(r.text))
    assert "turn=1&amp;silent=1" in r.text  # the next silence counts on
    r = await _call(client, account_id, "turn=1&silent=1")
    assert "¿Sigue ahí?" in " ".join(_says(r.text))
    r = await _call(client, account_id, "turn=1&silent=2")
    assert "<Hangup/>" in r.text and "Gracias por llamar" in r.text


async def test_a_recorded_line_says_so_first(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, record_calls=True)
    r = await _call(client, account_id, CallStatus="ringing")
    says = _says(r.text)
    assert "grabada" in says[0] and len(says) == 2


async def test_bad_voice_requests(container: Container, client: httpx.AsyncClient) -> None:
    account_id = await _clinic(container)
    assert (await _call(client, account_id, token="wrong")).status_code == 403
    r = await _call(client, account_id, "turn=abc", SpeechResult="hola")
    assert r.status_code == 400 and "turn" in r.text
    r = await _call(client, account_id, CallStatus="exploded")
    assert r.status_code == 400 and "CallStatus" in r.text
    assert await _messages(container) == []


async def test_asking_for_a_person_puts_the_call_through_with_a_whisper(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    await _call(client, account_id, CallStatus="ringing")
    r = await _call(client, account_id, "turn=1",
                    SpeechResult="quiero hablar con una persona por favor")  # fmt: skip
    xml = r.text
    dial = re.search(
        r'<Dial action="([^"]+)"[^>]*><(?:Number|Sip) url="([^"]+)"[^>]*>([^<]+)</(?:Number|Sip)>',
        xml,
    )
    assert dial, xml
    after, whisper_url, number = dial.groups()
    # reception, from the directory: its SIP address before a phone number
    assert number == "sip:recepcion1@pbx.clinicadentalsonrisa.example"
    assert after == f"http://testserver/hooks/{account_id}?turn=2&amp;dialed=1"
    assert "<Gather" not in xml  # the caller is being connected, not asked again

    # the person who picks up hears the intake summary first; Twilio signs that request too
    path = whisper_url.removeprefix("http://testserver")
    params = {"CallSid": "CA" + "2" * 32, "AccountSid": SID}
    sig = signature.compute(TOKEN, whisper_url, {k: [v] for k, v in params.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    heard = await client.post(path, content=urlencode(params).encode(), headers=headers)
    assert heard.status_code == 200
    async with container.sessions() as session:
        [handoff] = (await session.scalars(select(Handoff))).all()
    assert handoff.summary and whisper_url.endswith(f"/whisper/{handoff.id}")
    assert _says(heard.text) == [escape(handoff.summary)]
    forged = await client.post(path, content=urlencode(params).encode(),
                               headers={**headers, "X-Twilio-Signature": "bad"})  # fmt: skip
    assert forged.status_code == 403

    # nobody answered: the caller is told, and the hand-off stays for a call back
    r = await _call(client, account_id, "turn=2&dialed=1", DialCallStatus="no-answer")
    assert "<Hangup/>" in r.text and "Le llamaremos" in r.text
    r = await _call(client, account_id, "turn=2&dialed=1", DialCallStatus="completed")
    assert r.text.endswith("<Response><Hangup/></Response>")


def test_the_transfer_target_is_the_person_asked_for_else_the_queue() -> None:
    from centralita.receptionist.voice import transfer_target
    from centralita.tenants.config.checks import check_document

    doc = demo_document("clinica-dental-sonrisa")
    check_document(doc)  # phone numbers to E.164, as an applied tenant has them
    garcia = next(m for m in doc.staff if m.key == "garcia")
    assert transfer_target(doc, "garcia", None) == (garcia.sip or garcia.phone)
    assert (
        transfer_target(doc, None, "recepcion") == "sip:recepcion1@pbx.clinicadentalsonrisa.example"
    )
    nobody = doc.model_copy(update={"staff": []})
    assert transfer_target(nobody, "garcia", "recepcion") is None
