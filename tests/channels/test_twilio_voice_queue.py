"""Twilio voice when nobody can be dialled: the queue (``<Enqueue>``, its wait announcements
and callback offer, its result), voicemail (``<Record>`` and its transcription as a message for
staff), and status callbacks moving the call's interaction along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

import httpx
from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.staff_messages.models import StaffMessage
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from tests.receptionist.harness import demo_document

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-voice-0002"
OUR_NUMBER = "+34910000002"
CALLER = "+34612345678"
CALL = "CA" + "3" * 32
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, open
FIXTURES = Path(__file__).parent / "fixtures" / "twilio_voice"
ES = 'language="es-ES"'
HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def fixture(name: str, **override: str) -> dict[str, str]:
    """A recorded request's fields, with this test's identities."""
    lines = (FIXTURES / f"{name}.form").read_text().strip().splitlines()
    fields = dict(parse_qsl("&".join(lines), keep_blank_values=True))
    ids = {"AccountSid": SID, "CallSid": CALL, "From": CALLER, "To": OUR_NUMBER}
    return {**fields, **{k: v for k, v in ids.items() if k in fields}, **override}


async def _clinic(
    container: Container,
    *,
    reachable: bool = False,
    receptionist: dict[str, Any] | None = None,
    **settings: Any,
) -> str:
    doc = demo_document("clinica-dental-sonrisa", **(receptionist or {}))
    if not reachable:  # nobody in the directory can be dialled now
        doc.staff = [m.model_copy(update={"sip": None, "phone": None}) for m in doc.staff]
    doc.channels.append(
        ChannelConfig(name="voz", kind="voice", provider="twilio", address=OUR_NUMBER,
                      secret=TOKEN, settings={"account_sid": SID, "voice_language": "es-ES",
                                              **settings})
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.name == "voz"))
        assert account is not None
    container.clock = lambda: MONDAY_10
    return account.id


async def _post(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], token: str = TOKEN
) -> httpx.Response:
    url = "http://testserver" + path
    sig = signature.compute(token, url, {k: [v] for k, v in fields.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return await client.post(path, content=urlencode(fields).encode(), headers=headers)


async def _call(
    client: httpx.AsyncClient, account_id: str, query: str = "", **fields: str
) -> httpx.Response:
    params = {"CallSid": CALL, "AccountSid": SID, "From": CALLER, "To": OUR_NUMBER,
              "Direction": "inbound", "CallStatus": "in-progress", **fields}  # fmt: skip
    return await _post(client, f"/hooks/{account_id}" + (f"?{query}" if query else ""), params)


def _say(text: str, voice: str = "es-ES") -> str:
    return f'<Say language="{voice}">{escape(text)}</Say>'


async def _interaction(container: Container) -> Interaction:
    async with container.sessions() as session:
        [found] = (await session.scalars(select(Interaction))).all()
        return found


async def _count(container: Container, model: Any) -> int:
    async with container.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _staff_messages(container: Container) -> list[StaffMessage]:
    async with container.sessions() as session:
        return list((await session.scalars(select(StaffMessage))).all())


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def _ask_for_a_person(
    client: httpx.AsyncClient, account_id: str, words: str = "quiero hablar con una persona"
) -> httpx.Response:
    await _call(client, account_id, CallStatus="ringing")
    return await _call(client, account_id, "turn=1", SpeechResult=words)


OFFER_EN = "If you would rather be called back and keep your place, press 1 or say «call me back»."
ENQUEUE_HANDOFF = (
    "Le paso con una persona del equipo. Un momento, por favor; ya le he contado su consulta."
)


async def test_nobody_to_dial_the_call_waits_in_the_queue_then_is_answered(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    hook = f"http://testserver/hooks/{account_id}"
    r = await _ask_for_a_person(client, account_id)
    assert r.text == (
        f"{HEAD}<Response>{_say(ENQUEUE_HANDOFF)}"
        f'<Enqueue waitUrl="{hook}/queue-wait" waitUrlMethod="POST" '
        f'action="{hook}?turn=2&amp;queued=1" method="POST">recepcion</Enqueue></Response>'
    )
    call = await _interaction(container)
    assert _utc(call.answered_at) == MONDAY_10  # our TwiML answered the call
    assert _utc(call.queued_at) == MONDAY_10 and call.queue_id == "recepcion"
    assert call.handled_by_bot is False and call.offered_at is None

    # the wait URL: the place and the expected wait, the callback offer, then the hold
    r = await _post(client, f"/hooks/{account_id}/queue-wait", fixture("queue_wait"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert r.text == (
        f'{HEAD}<Response><Gather input="dtmf speech" numDigits="1" '
        f'action="{hook}/queue-wait?choice=1" method="POST" {ES} speechTimeout="auto" '
        'hints="llamadme, llámenme, devolver la llamada, call me back, callback">'
        + _say("Hay 2 personas delante de usted.")
        + _say("El tiempo de espera estimado es de unos 3 minutos.")
        + _say("Si prefiere que le llamemos sin perder su turno, pulse 1 o diga «llamadme».")
        + '</Gather><Pause length="20"/></Response>'
    )

    # a person dequeued the call: the Enqueue's action comes when the bridged call ends
    bridged = fixture("queue_result_bridged")
    r = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", bridged)
    assert r.text == f"{HEAD}<Response><Hangup/></Response>"
    call = await _interaction(container)
    taken = MONDAY_10 + timedelta(seconds=42)
    assert _utc(call.offered_at) == taken and _utc(call.answered_at) == taken
    assert call.abandoned_at is None and call.ended_at is None
    again = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", bridged)
    assert again.text == r.text
    assert _utc((await _interaction(container)).answered_at) == taken

    # the status callback ends it; the duration is kept with the end event
    r = await _post(client, f"/hooks/{account_id}", fixture("status_completed"))
    assert r.text == f"{HEAD}<Response></Response>"
    call = await _interaction(container)
    ended = datetime(2026, 11, 23, 9, 6, tzinfo=UTC)
    assert _utc(call.ended_at) == ended and call.disposition is None
    [end] = [m for m in await _events(container) if m.meta["event"] == "ended"]
    assert end.provider_message_id == f"{CALL}:end" and end.meta["duration"] == "300"
    assert end.meta["sequence"] == "3" and end.interaction_id == call.id

    # late and repeated callbacks change nothing and open nothing
    before = (await _count(container, Message), await _count(container, Interaction))
    late = fixture("status_completed", Timestamp="Mon, 23 Nov 2026 09:30:00 +0000")
    await _post(client, f"/hooks/{account_id}", late)
    await _post(client, f"/hooks/{account_id}", fixture("status_answered_event"))
    await _post(client, f"/hooks/{account_id}", fixture("status_busy"))
    assert (await _count(container, Message), await _count(container, Interaction)) == before
    final = await _interaction(container)
    assert _utc(final.ended_at) == ended and _utc(final.answered_at) == taken
    assert final.disposition is None


async def _events(container: Container) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).where(Message.kind == "event").order_by(Message.created_at)
        return list((await session.scalars(stmt)).all())


async def test_the_wait_is_announced_in_the_callers_language(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    hook = f"http://testserver/hooks/{account_id}"
    r = await _ask_for_a_person(client, account_id, "I would like to speak to a person please")
    assert "<Enqueue" in r.text and 'language="en-GB"' in r.text
    first = fixture("queue_wait", QueuePosition="1", AvgQueueTime="0")
    r = await _post(client, f"/hooks/{account_id}/queue-wait", first)
    en = "en-GB"
    assert r.text == (
        f'{HEAD}<Response><Gather input="dtmf speech" numDigits="1" '
        f'action="{hook}/queue-wait?choice=1" method="POST" language="{en}" '
        'speechTimeout="auto" hints="llamadme, llámenme, devolver la llamada, call me back, '
        'callback">'
        + _say("You are next in line.", en)
        + _say("We will be with you as soon as someone is free.", en)
        + _say(OFFER_EN, en)
        + '</Gather><Pause length="20"/></Response>'
    )
    second = fixture("queue_wait", QueuePosition="2", AvgQueueTime="45")
    r = await _post(client, f"/hooks/{account_id}/queue-wait", second)
    assert _say("There is one caller ahead of you.", en) in r.text
    assert _say("The expected wait is a minute or less.", en) in r.text


def test_queue_announcements_table() -> None:
    from centralita.receptionist.voice_texts import queue_announcement

    cases = [
        ("es", 1, 30, False, ("Es usted el siguiente.",
                              "El tiempo de espera estimado es de un minuto o menos.")),
        ("es", 5, 61, False, ("Hay 4 personas delante de usted.",
                              "El tiempo de espera estimado es de unos 2 minutos.")),
        ("es", None, None, False, ("Le atenderemos en cuanto haya alguien disponible.",)),
        ("en", 3, 600, False, ("There are 2 callers ahead of you.",
                               "The expected wait is about 10 minutes.")),
    ]  # fmt: skip
    for language, position, wait, offer, expected in cases:
        got = queue_announcement(language, position=position, average_wait=wait,
                                 offer_callback=offer)  # fmt: skip
        assert got == expected, (language, position, wait)


async def test_choosing_a_callback_leaves_the_queue_and_tells_the_staff(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    hook = f"http://testserver/hooks/{account_id}"
    await _ask_for_a_person(client, account_id)
    wait = f"/hooks/{account_id}/queue-wait?choice=1"
    r = await _post(client, wait, fixture("queue_wait", Digits="2"))
    assert r.text == (
        f"{HEAD}<Response>{_say('De acuerdo, sigue en espera.')}"
        f'<Redirect method="POST">{hook}/queue-wait</Redirect></Response>'
    )
    r = await _post(client, wait, fixture("queue_wait", SpeechResult="Llámenme, por favor."))
    assert r.text == f"{HEAD}<Response><Leave/></Response>"
    r = await _post(client, wait, fixture("queue_wait", Digits="1"))
    assert r.text == f"{HEAD}<Response><Leave/></Response>"
    assert await _staff_messages(container) == []  # nothing yet: the queue says how it ended

    leave = fixture("queue_result_bridged", QueueResult="leave", QueueTime="75")
    r = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", leave)
    said = "De acuerdo, le llamaremos sin que pierda su turno. Adiós."
    assert r.text == f"{HEAD}<Response>{_say(said)}<Hangup/></Response>"
    again = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", leave)
    assert again.text == r.text
    [note] = await _staff_messages(container)
    assert note.caller_phone == CALLER and note.reason
    assert note.summary.startswith(f"Devolver la llamada a {CALLER}: eligió que le llamáramos")
    assert note.recipient_key  # the default recipient, as nobody was named
    call = await _interaction(container)
    assert call.disposition == "callback" and call.abandoned_at is None

    # the call then ends normally: not abandoned
    await _post(client, f"/hooks/{account_id}", fixture("status_completed"))
    call = await _interaction(container)
    assert call.abandoned_at is None and call.disposition == "callback" and call.ended_at


async def test_hanging_up_in_the_queue_is_abandoned_whatever_the_order(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    await _ask_for_a_person(client, account_id)
    hangup = fixture("queue_result_bridged", QueueResult="hangup", QueueTime="30")
    # the status callback can come first: the queue's result still fills the abandonment in
    await _post(client, f"/hooks/{account_id}", fixture("status_completed"))
    r = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", hangup)
    assert r.text == f"{HEAD}<Response></Response>"
    call = await _interaction(container)
    assert _utc(call.abandoned_at) == MONDAY_10 + timedelta(seconds=30)
    assert call.disposition == "abandoned" and call.offered_at is None
    assert _utc(call.ended_at) == datetime(2026, 11, 23, 9, 6, tzinfo=UTC)
    assert await _count(container, Interaction) == 1


async def test_a_broken_queue_takes_a_voicemail_for_staff(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    hook = f"http://testserver/hooks/{account_id}"
    await _ask_for_a_person(client, account_id)
    full = fixture("queue_result_bridged", QueueResult="queue-full", QueueTime="0")
    r = await _post(client, f"/hooks/{account_id}?turn=2&queued=1", full)
    assert r.text == (
        f"{HEAD}<Response>"
        + _say("Lo sentimos, ahora mismo no podemos mantenerle en espera.")
        + _say("Deje su mensaje después de la señal y pulse almohadilla al terminar.")
        + f'<Record action="{hook}?turn=2&amp;voicemail=1" method="POST" maxLength="120" '
        'playBeep="true" finishOnKey="#" transcribe="true" '
        f'transcribeCallback="{hook}/transcription"/><Hangup/></Response>'
    )
    r = await _post(client, f"/hooks/{account_id}?turn=2&voicemail=1", fixture("recording"))
    assert r.text == (
        f"{HEAD}<Response>{_say('Gracias, hemos recibido su mensaje. Adiós.')}<Hangup/></Response>"
    )
    [recording] = [m for m in await _events(container) if m.meta["event"] == "voicemail"]
    url = fixture("recording")["RecordingUrl"]
    assert recording.meta["recording_url"] == url and recording.meta["seconds"] == 14
    assert recording.meta["recording_sid"].startswith("RE")
    assert (await _interaction(container)).disposition == "voicemail"

    words = fixture("transcription_completed")
    for _ in range(2):  # Twilio redelivers: one message for staff
        r = await _post(client, f"/hooks/{account_id}/transcription", words)
        assert r.status_code == 200 and r.text == f"{HEAD}<Response></Response>"
    [note] = await _staff_messages(container)
    assert note.summary == (
        f"Mensaje de voz de {CALLER}: «Hola, soy Marta Ruiz. Me duele una muela desde ayer, "
        f"llamadme por favor.» Grabación: {url}"
    )
    assert note.caller_phone == CALLER and note.recipient_key
    [text] = [m for m in await _events(container) if m.meta["event"] == "transcription"]
    assert text.body.startswith("Hola, soy Marta Ruiz") and text.kind == "event"


async def test_a_failed_transfer_goes_to_voicemail_and_a_failed_transcript_still_tells(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, reachable=True, voicemail=True)
    hook = f"http://testserver/hooks/{account_id}"
    r = await _ask_for_a_person(
        client, account_id, "quiero hablar con una persona, con la doctora García"
    )
    assert "<Dial" in r.text
    offered = await _interaction(container)
    assert _utc(offered.offered_at) == MONDAY_10 and offered.answered_at is not None
    r = await _call(client, account_id, "turn=2&dialed=1", DialCallStatus="no-answer")
    assert r.text == (
        f"{HEAD}<Response>"
        + _say("Ahora mismo no hay nadie disponible para atenderle.")
        + _say("Deje su mensaje después de la señal y pulse almohadilla al terminar.")
        + f'<Record action="{hook}?turn=2&amp;voicemail=1" method="POST" maxLength="120" '
        'playBeep="true" finishOnKey="#" transcribe="true" '
        f'transcribeCallback="{hook}/transcription"/><Hangup/></Response>'
    )
    await _post(client, f"/hooks/{account_id}?turn=2&voicemail=1", fixture("recording"))
    await _post(client, f"/hooks/{account_id}/transcription", fixture("transcription_failed"))
    [note] = await _staff_messages(container)
    url = fixture("recording")["RecordingUrl"]
    assert note.summary == (
        f"Mensaje de voz de {CALLER}, sin transcripción: escuche la grabación. Grabación: {url}"
    )
    assert note.recipient_key == "garcia"  # the person asked for


async def test_a_caller_may_ask_for_the_voicemail(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, voicemail=True)
    await _call(client, account_id, CallStatus="ringing")
    r = await _call(client, account_id, "turn=1", SpeechResult="quiero dejar un mensaje de voz")
    prompt = "Deje su mensaje después de la señal y pulse almohadilla al terminar."
    assert r.text.startswith(f"{HEAD}<Response>{_say(prompt)}<Record ")
    await container.relay.drain()  # the messaging subscriber finds the turn answered
    async with container.sessions() as session:
        replies = (await session.scalars(
            select(Message.body).where(Message.direction == "outbound"))).all()  # fmt: skip
    assert list(replies) == [prompt]


async def test_status_callbacks_say_how_a_call_ended(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container)
    await _call(client, account_id, CallStatus="ringing")
    r = await _post(client, f"/hooks/{account_id}", fixture("status_busy"))
    assert r.status_code == 200
    call = await _interaction(container)
    assert call.disposition == "busy"
    assert _utc(call.ended_at) == datetime(2026, 11, 23, 9, 0, 20, tzinfo=UTC)
    # a second call from the same caller, never answered
    other = "CA" + "4" * 32
    await _call(client, account_id, CallSid=other, CallStatus="ringing")
    await _post(client, f"/hooks/{account_id}", fixture("status_busy", CallSid=other,
                                                        CallStatus="no-answer"))  # fmt: skip
    async with container.sessions() as session:
        order = (Interaction.arrived_at, Interaction.id)
        calls = (await session.scalars(select(Interaction).order_by(*order))).all()
        conversation = await session.scalar(select(Conversation))
    assert {c.provider_session_id: c.disposition for c in calls} == {
        CALL: "busy",
        other: "no-answer",
    }
    assert conversation is not None and conversation.status == "open"


async def test_bad_call_event_requests_store_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, queue_calls=True)
    await _ask_for_a_person(client, account_id)
    counts = (await _count(container, Message), await _count(container, Interaction))
    base = f"/hooks/{account_id}"
    forged = [
        (f"{base}/queue-wait", fixture("queue_wait")),
        (f"{base}/queue-wait?choice=1", fixture("queue_wait", Digits="1")),
        (f"{base}/transcription", fixture("transcription_completed")),
        (f"{base}?turn=2&queued=1", fixture("queue_result_bridged", QueueResult="hangup")),
        (f"{base}?turn=2&voicemail=1", fixture("recording")),
        (f"{base}?turn=2&dialed=1", fixture("queue_result_bridged", DialCallStatus="busy")),
        (base, fixture("status_completed")),
    ]
    for path, fields in forged:
        r = await _post(client, path, fields, token="not-the-auth-token")
        assert r.status_code == 403, path
    malformed = [
        (f"{base}?turn=2&queued=1", fixture("queue_result_bridged", QueueResult="exploded")),
        (f"{base}?turn=2&queued=1", fixture("queue_result_bridged", QueueTime="soon")),
        (base, fixture("status_answered_event", CallStatus="teleported")),
        (base, fixture("status_completed", Timestamp="yesterday-ish")),
        (f"{base}/transcription", fixture("transcription_completed", TranscriptionStatus="?")),
        (f"{base}/transcription", fixture("transcription_completed", RecordingSid="")),
        (f"{base}/queue-wait", fixture("queue_wait", QueuePosition="first")),
        (f"{base}/queue-wait", fixture("queue_wait", AccountSid="AC" + "f" * 32)),
    ]
    for path, fields in malformed:
        r = await _post(client, path, fields)
        assert r.status_code == 400, (path, r.text)
    unknown = fixture("transcription_completed", CallSid="CA" + "9" * 32)
    assert (await _post(client, f"{base}/transcription", unknown)).status_code == 404
    assert (
        await _post(client, "/hooks/acc_nope/queue-wait", fixture("queue_wait"))
    ).status_code == 404
    assert (await _count(container, Message), await _count(container, Interaction)) == counts
    assert await _staff_messages(container) == []
    call = await _interaction(container)
    assert call.abandoned_at is None and call.ended_at is None


def test_timeline_rules() -> None:
    from centralita.conversations.interactions import CallUpdate, Timeline, timeline_changes

    t0 = MONDAY_10
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    ended = Timeline(arrived_at=t0, answered_at=at(1), ended_at=at(100))
    queued = Timeline(arrived_at=t0, answered_at=at(1), queued_at=at(20))
    cases = [
        # nothing moves back or is written twice
        (ended, CallUpdate(ended_at=at(300)), {}),
        (ended, CallUpdate(answered_at=at(5)), {}),
        # an ended call is not reopened, but a late queue outcome is filled in (capped)
        (ended, CallUpdate(queued_at=at(50)), {}),
        (ended, CallUpdate(abandoned_at=at(150), disposition="abandoned"),
         {"abandoned_at": at(100), "disposition": "abandoned"}),
        # a person answering after the queue moves answered_at on (answer speed from the queue)
        (queued, CallUpdate(person_answered_at=at(62)),
         {"offered_at": at(62), "answered_at": at(62)}),
        # nobody abandons a call a person took
        (Timeline(arrived_at=t0, queued_at=at(20), offered_at=at(30), answered_at=at(30)),
         CallUpdate(abandoned_at=at(40)), {}),
        # a clock before the call's arrival is read as the arrival
        (Timeline(arrived_at=t0), CallUpdate(answered_at=at(-30)), {"answered_at": t0}),
    ]  # fmt: skip
    for current, update, expected in cases:
        assert timeline_changes(current, update) == expected, (current, update)


async def test_the_status_callback_of_a_call_the_receptionist_closed_reopens_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _clinic(container, receptionist={"spam": {"block": [CALLER]}})
    await _call(client, account_id, CallStatus="ringing")
    r = await _call(client, account_id, "turn=1", SpeechResult="hola, buenos días")
    assert r.text.endswith("<Hangup/></Response>")
    closed = await _interaction(container)
    assert closed.ended_at is not None
    await _post(client, f"/hooks/{account_id}", fixture("status_completed"))
    async with container.sessions() as session:
        [conversation] = (await session.scalars(select(Conversation))).all()
    assert conversation.status == "closed" and conversation.owner_type == "bot"
    after = await _interaction(container)  # still one interaction, its end unchanged
    assert after.id == closed.id and after.ended_at == closed.ended_at
    [end] = [m for m in await _events(container) if m.meta["event"] == "ended"]
    assert end.interaction_id == closed.id and end.meta["duration"] == "300"
