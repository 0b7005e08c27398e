"""The receptionist on the phone: the answer to each turn (inside the webhook, ADR 0003) and to
what happens to a call (status callbacks, transfers, queues, voicemail, transcriptions).

When the caller wants a person: the person asked for (or someone serving the queue) is dialled;
if nobody can be dialled, the call waits in the queue when the account queues calls
(``settings.queue_calls``) or the hand-off's queue serves voice; otherwise a voicemail when the
account takes them (``settings.voicemail``). A failed transfer and a broken queue end in the
voicemail too. Everything the caller hears is in Spanish and English (``texts``).

While the ACD routes the hand-off (``routing``), the queue is its: the place announced is the
ACD's, a caller who chooses to be called back keeps that place as a callback, a caller who
hangs up is withdrawn, and once an agent accepts, the call is redirected to ``/connect``
(``routing.voice``), whose answer dials the agent after the same whisper as a transfer.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels import service as channels_service
from centralita.channels.base import AccountConfig, CallEvent, HttpInbound, HttpOutbound, Spoken
from centralita.contacts.models import ContactAddress
from centralita.conversations import interactions
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations.interactions import CallUpdate
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.errors import NotFound
from centralita.receptionist import runtime
from centralita.receptionist.models import Handoff
from centralita.receptionist.voice_texts import (
    asks_for_voicemail,
    queue_announcement,
    say,
    wants_callback,
)
from centralita.routing import engine as routing_engine
from centralita.routing import runtime as routing_runtime
from centralita.routing import service as routing_service
from centralita.routing.model import Rejected, RequestCallback
from centralita.routing.voice import ENQUEUED
from centralita.tenants.config.schema import TenantDocument
from centralita.tenants.models import Queue, StaffMember, Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def _flag(account: AccountConfig, name: str) -> bool:
    return account.settings.get(name) is True


# ---- the turns ----------------------------------------------------------------------------------


def voice_responder(container: Container) -> Any:
    """The ingress ``Responder`` for voice: the greeting at call start, the receptionist's
    replies for a spoken turn (the same ``take_turn`` as messaging, in the same transaction
    as the stored words), and the same replies again for a retried webhook."""

    async def respond(session: AsyncSession, results: Any) -> Spoken | None:
        if not results:
            return None
        result = results[0]
        message, conversation = result.message, result.conversation
        tenant = await session.get(Tenant, message.tenant_id)
        if tenant is None:
            return None
        doc = runtime.tenant_view(tenant).doc
        language = conversation.language or ("en" if doc.tenant.locale == "en" else "es")
        now = container.clock()
        account = await _account(session, message)
        if message.kind == "event":
            if (message.meta or {}).get("event") != "start":
                return Spoken((), language)
            # our TwiML answers the call
            await interactions.update_call(
                session, interaction=result.interaction, update=CallUpdate(answered_at=now)
            )
            return _greeting(doc, tenant, language)
        if account is not None and _flag(account, "voicemail") and asks_for_voicemail(message.body):
            language = message.language if message.language in ("es", "en") else language
            return await _voicemail_on_request(session, tenant, result, language, now)
        if result.duplicate:
            said = await _replies_to(session, message)
            return Spoken(tuple(said), language)
        outcome = await runtime.take_turn(
            session,
            engine=runtime.engine_for(container),
            tenant=tenant,
            conversation=conversation,
            message=message,
            now=now,
            base_url=container.settings.public_base_url.rstrip("/"),
        )
        if outcome.nlu is not None:
            language = outcome.nlu.language
        if outcome.skipped and not outcome.replies:
            # an agent owns the conversation: the caller is not left in silence
            return Spoken((say("hold", language),), language)
        ended = conversation.status == "closed"  # spam, or the caller said goodbye
        spoken = Spoken(tuple(outcome.replies), language, end_call=ended)
        if "Handoff" in outcome.actions and not ended:
            spoken = await _put_through(session, doc, result.interaction, conversation, spoken,
                                        account, now)  # fmt: skip
        return spoken

    return respond


def _greeting(doc: TenantDocument, tenant: Tenant, language: str) -> Spoken:
    from centralita.receptionist.dialogue import texts

    greeting = runtime._localized(doc.profile.greeting).get(language) or texts.say(
        "default_greeting", language, tenant=tenant.name
    )
    notice: tuple[str, ...] = ()
    if doc.receptionist.record_calls:  # the tenant's own words first (docs/privacy.md)
        own = runtime._localized(doc.privacy.recording_notice).get(language)
        notice = (own or say("recording_notice", language, tenant=tenant.name),)
    return Spoken((greeting,), language, notice=notice)


async def _account(session: AsyncSession, message: Message) -> AccountConfig | None:
    if not message.channel_account_id:
        return None
    row = await channels_service.get_account(
        session, tenant_id=message.tenant_id, account_id=message.channel_account_id
    )
    return channels_service.to_config(row)


async def _put_through(
    session: AsyncSession,
    doc: TenantDocument,
    interaction: Interaction,
    conversation: Conversation,
    spoken: Spoken,
    account: AccountConfig | None,
    now: datetime,
) -> Spoken:
    """After a hand-off: dial a person, else wait in a queue, else leave a voicemail."""
    handoff = await _latest_handoff(session, conversation)
    if handoff is None:
        return spoken
    dial = transfer_target(doc, handoff.staff_key, handoff.queue_key)
    if dial:
        await interactions.update_call(
            session,
            interaction=interaction,
            update=CallUpdate(offered_at=now, queue_id=handoff.queue_key),
        )
        return replace(spoken, dial=dial, whisper_id=handoff.id)
    queue = handoff.queue_key or doc.receptionist.default_queue
    if account is not None and (_flag(account, "queue_calls") or _serves_voice(doc, queue)):
        name = queue or "centralita"
        await interactions.update_call(
            session, interaction=interaction, update=CallUpdate(queued_at=now, queue_id=name)
        )
        if interaction.provider_session_id:
            # what tells the ACD's connector (routing.voice) that the caller waits in the
            # provider's queue, rather than in a transfer, and may be moved to an agent
            await interactions.record_call_event(
                session,
                interaction=interaction,
                event_id=f"{interaction.provider_session_id}:{ENQUEUED}:{handoff.id}",
                event=ENQUEUED,
                meta={"call_sid": interaction.provider_session_id, "queue": name},
                now=now,
            )
        return replace(spoken, enqueue=name)
    if account is not None and _flag(account, "voicemail"):
        words = (
            *spoken.texts,
            say("nobody_now", spoken.language),
            say("voicemail_prompt", spoken.language),
        )
        return replace(spoken, texts=words, voicemail=True)
    return spoken


def _serves_voice(doc: TenantDocument, queue_key: str | None) -> bool:
    queue = next((q for q in doc.queues if q.key == queue_key), None)
    return queue is not None and (not queue.channels or "voice" in queue.channels)


async def _voicemail_on_request(
    session: AsyncSession,
    tenant: Tenant,
    result: Any,
    language: str,
    now: datetime,
) -> Spoken:
    """The caller asked to leave a voicemail: the prompt, then ``<Record>``. The turn counts
    as answered, so the messaging subscriber does not answer it again."""
    prompt = say("voicemail_prompt", language)
    if not result.duplicate:
        message, conversation = result.message, result.conversation
        record = await runtime._lock_record(
            session, tenant_id=tenant.id, conversation_id=conversation.id
        )
        if message.id not in record.answered:
            record.answered = [*record.answered, message.id][-runtime.ANSWERED_KEPT :]
            await conversations_outbound.add_message(
                session,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                body=prompt,
                author_type="bot",
                channel=message.channel,
                now=now,
            )
    return Spoken((prompt,), language, voicemail=True)


async def _latest_handoff(session: AsyncSession, conversation: Conversation) -> Handoff | None:
    return await session.scalar(
        select(Handoff)
        .where(
            Handoff.tenant_id == conversation.tenant_id,
            Handoff.conversation_id == conversation.id,
        )
        .order_by(Handoff.requested_at.desc(), Handoff.id.desc())
        .limit(1)
    )


def transfer_target(
    doc: TenantDocument, staff_key: str | None, queue_key: str | None
) -> str | None:
    """Whom a call is put through to: the staff member asked for, else the first person in
    the directory with a number whose skills serve the queue. SIP before a phone number. Until
    the ACD (issue 5) knows who is free, this is the directory's order."""

    def reachable(member: Any) -> str | None:
        found = member.sip or member.phone
        return str(found) if found else None

    if staff_key:
        for member in doc.staff:
            if member.key == staff_key and reachable(member):
                return reachable(member)
    queue = next((q for q in doc.queues if q.key == queue_key), None)
    wanted = set(queue.skills) if queue is not None else set()
    for member in doc.staff:
        if reachable(member) and (not wanted or wanted & set(member.skills)):
            return reachable(member)
    return None


async def whisper_summary(
    session: AsyncSession, *, tenant_id: str, handoff_id: str
) -> tuple[str, str] | None:
    """The hand-off's intake summary and its language, for the callee's whisper."""
    handoff = await session.scalar(
        select(Handoff).where(Handoff.tenant_id == tenant_id, Handoff.id == handoff_id[:64])
    )
    if handoff is None:
        return None
    conversation = await session.get(Conversation, handoff.conversation_id)
    language = (conversation.language if conversation else None) or "es"
    return handoff.summary or handoff.reason, language


async def _replies_to(session: AsyncSession, message: Message) -> list[str]:
    """The bot's replies stored after ``message`` in its conversation (a retried webhook)."""
    rows = await session.scalars(
        select(Message.body)
        .where(
            Message.tenant_id == message.tenant_id,
            Message.conversation_id == message.conversation_id,
            Message.direction == "outbound",
            Message.author_type == "bot",
            Message.created_at >= message.created_at,
        )
        .order_by(Message.created_at, Message.id)
    )
    return list(rows.all())


# ---- what happens to a call ---------------------------------------------------------------------


async def answer_call_event(
    container: Container, *, account_id: str, request: HttpInbound, route: str = ""
) -> HttpOutbound | None:
    """Verify, parse and apply one call event in one transaction; ``None`` when the request
    is a turn (the ingress pipeline answers it). Raises ``NotFound``, ``SignatureError`` or
    ``MalformedRequest`` like the ingress."""
    async with container.sessions() as session, session.begin():
        target = await channels_service.get_for_ingress(session, account_id=account_id)
        config = channels_service.to_config(target.account)
        adapter = container.adapters.get(config.provider)
        parse = getattr(adapter, "parse_call_event", None)
        if adapter is None or parse is None:
            if route:
                raise NotFound(f"channel account {account_id} does not take calls")
            return None
        adapter.verify(request, config)
        event: CallEvent | None = parse(request, config, route)
        if event is None:
            if route:
                raise NotFound(f"channel account {account_id} does not take calls")
            return None
        spoken = await apply_call_event(session, container, config, event)
    answer: HttpOutbound = adapter.acknowledge_call_event(event, config, spoken)  # type: ignore[attr-defined]
    return answer


async def apply_call_event(
    session: AsyncSession, container: Container, account: AccountConfig, event: CallEvent
) -> Spoken | None:
    """Store the event once, move the interaction on, and decide what the caller hears."""
    now = container.clock()
    interaction = await interactions.find_call(
        session, tenant_id=account.tenant_id, account_id=account.id, call_id=event.call_id
    )
    if event.kind == "queue_wait":
        return await _queue_wait(session, container, account, interaction, event)
    if interaction is None:
        raise NotFound(f"call {event.call_id} not found")
    conversation = await session.get_one(Conversation, interaction.conversation_id)
    language = conversation.language or _language(account)
    if event.kind == "connect":
        return await _connect(session, interaction, conversation, event, language)
    stored = None
    if event.event_id is not None:
        stored = await interactions.record_call_event(
            session,
            interaction=interaction,
            event_id=event.event_id,
            event=_EVENT_NAMES[event.kind],
            body=event.text,
            meta=_meta(event),
            now=now,
        )
    fresh = stored is not None  # a redelivery is answered the same way, changing nothing
    if event.kind == "status":
        if fresh or event.event_id is None:
            await _status(session, interaction, event, now)
        return None
    if event.kind == "transcription":
        if fresh:
            await _voicemail_message(session, container, interaction, conversation, event, now)
        return None
    if event.kind == "recording":
        if fresh:
            await interactions.update_call(
                session, interaction=interaction, update=CallUpdate(disposition="voicemail")
            )
        key = "voicemail_thanks" if event.outcome == "recorded" else "goodbye"
        return Spoken((say(key, language),), language, end_call=True)
    if event.kind == "dialed":
        return await _dialed(session, account, interaction, event, language, now, fresh=fresh)
    return await _queue_result(session, container, account, interaction, conversation, event,
                               language, fresh=fresh)  # fmt: skip


_EVENT_NAMES = {
    "status": "ended",
    "queue_result": "queue_result",
    "dialed": "dialed",
    "recording": "voicemail",
    "transcription": "transcription",
}


def _meta(event: CallEvent) -> dict[str, object]:
    meta: dict[str, object] = {"call_sid": event.call_id, "outcome": event.outcome}
    meta.update({k: v for k, v in event.metadata.items() if v is not None})
    if event.seconds is not None:
        meta["seconds"] = event.seconds
    if event.at is not None:
        meta["at"] = event.at.isoformat()
    return meta


def _language(account: AccountConfig) -> str:
    configured = str(account.settings.get("voice_language") or "es")
    return "en" if configured[:2].lower() == "en" else "es"


async def _status(
    session: AsyncSession, interaction: Interaction, event: CallEvent, now: datetime
) -> None:
    """in-progress: answered; a final status: the end, its disposition and the length."""
    at = event.at or now
    if event.outcome == "in-progress":
        await interactions.update_call(
            session, interaction=interaction, update=CallUpdate(answered_at=at)
        )
    elif event.outcome in FINAL_STATUSES:
        answered = at - timedelta(seconds=event.seconds) if event.seconds else None
        disposition = None if event.outcome == "completed" else event.outcome
        await interactions.update_call(
            session,
            interaction=interaction,
            update=CallUpdate(answered_at=answered, ended_at=at, disposition=disposition),
            duration_seconds=event.seconds,
        )


async def _dialed(
    session: AsyncSession,
    account: AccountConfig,
    interaction: Interaction,
    event: CallEvent,
    language: str,
    now: datetime,
    *,
    fresh: bool,
) -> Spoken:
    """The transfer ended: answered (the call is over when the person hangs up), or nobody
    took it (a voicemail when the account takes them, else a promise to call back)."""
    if event.outcome == "answered":
        if fresh:
            # the action comes when the transfer ends: the person answered its length ago
            moment = now - timedelta(seconds=event.seconds or 0)
            await interactions.update_call(
                session, interaction=interaction, update=CallUpdate(person_answered_at=moment)
            )
        return Spoken((), language, end_call=True)
    if _flag(account, "voicemail"):
        words = (say("nobody_now", language), say("voicemail_prompt", language))
        return Spoken(words, language, voicemail=True)
    return Spoken((say("nobody_call_back", language),), language, end_call=True)


async def _queue_result(
    session: AsyncSession,
    container: Container,
    account: AccountConfig,
    interaction: Interaction,
    conversation: Conversation,
    event: CallEvent,
    language: str,
    *,
    fresh: bool,
) -> Spoken | None:
    """How the wait in the queue ended (the Enqueue's action)."""
    queued = interactions.timeline_of(interaction).queued_at
    now = container.clock()
    at = queued + timedelta(seconds=event.seconds) if queued and event.seconds else now
    if event.outcome == "answered":
        if fresh:
            await interactions.update_call(
                session, interaction=interaction, update=CallUpdate(person_answered_at=at)
            )
        # bridged: the person hung up and the call ends; bridging-in-progress: nothing to add
        bridged = event.metadata.get("queue_result") == "bridged"
        return Spoken((), language, end_call=True) if bridged else None
    if event.outcome == "abandoned":
        if fresh:
            await interactions.update_call(
                session,
                interaction=interaction,
                update=CallUpdate(abandoned_at=at, disposition="abandoned"),
            )
            # nobody is offered a caller who has gone (a no-op when the ACD does not route it)
            await routing_runtime.withdraw(
                session, container, interaction.tenant_id, conversation.id, "abandoned"
            )
        return None  # the caller has gone
    if event.outcome == "callback":
        if fresh:
            await interactions.update_call(
                session, interaction=interaction, update=CallUpdate(disposition="callback")
            )
            if not await _acd_callback(session, container, interaction, now):
                await _callback_message(session, container, interaction, conversation, event,
                                        now)  # fmt: skip
        return Spoken((say("callback_taken", language),), language, end_call=True)
    if event.outcome == "failed":
        if fresh:
            await interactions.update_call(
                session, interaction=interaction, update=CallUpdate(disposition="voicemail")
            )
        words = (say("queue_failed", language), say("voicemail_prompt", language))
        return Spoken(words, language, voicemail=True)
    return None  # redirected: the call is somewhere else now


async def _acd_callback(
    session: AsyncSession, container: Container, interaction: Interaction, now: datetime
) -> bool:
    """The caller chose a callback: the ACD keeps their place in line, and the agent whose
    turn it is gets the conversation as a callback. False when the ACD is not routing it."""
    tenant_id, conversation_id = interaction.tenant_id, interaction.conversation_id
    state = await container.routing.read(session, tenant_id)
    if conversation_id not in state.items:
        return False
    applied = await routing_service.apply(
        session, container.routing, tenant_id, RequestCallback(conversation_id), now
    )
    for decision in applied.decisions:
        if isinstance(decision, Rejected):  # already assigned: the agent has it anyway
            log.info("callback for %s not kept: %s", conversation_id, decision.message)
    return True


async def _acd_position(
    session: AsyncSession, container: Container, interaction: Interaction
) -> int | None:
    """The caller's place by the ACD (1 = next; being offered to an agent counts as next);
    ``None`` when the ACD is not routing the conversation."""
    state = await container.routing.read(session, interaction.tenant_id)
    item = state.items.get(interaction.conversation_id)
    if item is None:
        return None
    found = routing_engine.position(state, item.id)
    if found is None and item.status == routing_engine.OFFERED:
        return 1
    return found


async def _connect(
    session: AsyncSession,
    interaction: Interaction,
    conversation: Conversation,
    event: CallEvent,
    language: str,
) -> Spoken:
    """The ACD assigned the waiting call and ``routing.voice`` redirected it here: dial the
    agent (SIP before a phone number), who first hears the intake summary, like any transfer.
    Nothing is stored: a repeated request gets the same answer."""
    if event.metadata.get("conversation_id") != conversation.id:
        raise NotFound(f"call {event.call_id} is not in that conversation")
    agent_id = str(event.metadata.get("agent_id") or "")
    staff = await session.scalar(
        select(StaffMember).where(
            StaffMember.tenant_id == interaction.tenant_id, StaffMember.id == agent_id
        )
    )
    target = (staff.sip or staff.phone) if staff is not None else None
    if not target:  # the agent's number went away since: they call back from the desktop
        return Spoken((say("nobody_call_back", language),), language, end_call=True)
    handoff = await _latest_handoff(session, conversation)
    return Spoken(
        (say("hold", language),),
        language,
        dial=str(target),
        whisper_id=handoff.id if handoff is not None else None,
    )


async def _queue_wait(
    session: AsyncSession,
    container: Container,
    account: AccountConfig,
    interaction: Interaction | None,
    event: CallEvent,
) -> Spoken:
    """The wait music: the place (the ACD's when it routes the call, else the provider's)
    and the expected wait, and the callback offer; or the caller's answer to that offer.
    Stores nothing."""
    language = _language(account)
    queue_key = None
    if interaction is not None:
        conversation = await session.get(Conversation, interaction.conversation_id)
        language = (conversation.language if conversation else None) or language
        queue_key = interaction.queue_id
    offer = await _offers_callback(session, account, queue_key)
    if event.outcome == "choice":
        digits = str(event.metadata.get("digits") or "")
        if offer and wants_callback(event.text, digits):
            return Spoken((), language, leave_queue=True)
        return Spoken((say("still_waiting", language),), language)
    position = event.metadata.get("position")
    if interaction is not None:
        position = await _acd_position(session, container, interaction) or position
    average = event.metadata.get("average_wait")
    words = queue_announcement(
        language,
        position=position if isinstance(position, int) else None,
        average_wait=average if isinstance(average, int) else None,
        offer_callback=offer,
    )
    return Spoken(words, language, ask_callback=offer)


async def _offers_callback(
    session: AsyncSession, account: AccountConfig, queue_key: str | None
) -> bool:
    """The queue's own ``callback`` setting; a queue the tenant file does not describe
    offers it. The interaction names the queue by its key, or by its id once the ACD
    queued the conversation."""
    tenant = await session.get(Tenant, account.tenant_id)
    if tenant is None:
        return True
    doc = runtime.tenant_view(tenant).doc
    queue = next((q for q in doc.queues if q.key == queue_key), None)
    if queue is None and queue_key:
        key = await session.scalar(
            select(Queue.key).where(Queue.tenant_id == tenant.id, Queue.id == queue_key)
        )
        queue = next((q for q in doc.queues if key is not None and q.key == key), None)
    return queue.callback if queue is not None else True


async def _callback_message(
    session: AsyncSession,
    container: Container,
    interaction: Interaction,
    conversation: Conversation,
    event: CallEvent,
    now: datetime,
) -> None:
    """The caller chose to be called back and the ACD is not routing the conversation: a
    message for staff with the intake so far (``_acd_callback`` keeps the place otherwise)."""
    tenant = await session.get_one(Tenant, interaction.tenant_id)
    phone = event.caller or await _phone_of(session, interaction)
    handoff = await _latest_handoff(session, conversation)
    staff_language = "en" if runtime.tenant_view(tenant).doc.tenant.locale == "en" else "es"
    summary = say("callback_summary", staff_language, caller=phone or "?")
    if handoff is not None and (handoff.summary or handoff.reason):
        summary += " " + (handoff.summary or handoff.reason)
    await _take_message(session, container, tenant, interaction, conversation, handoff,
                        phone, "callback", summary, now)  # fmt: skip


async def _voicemail_message(
    session: AsyncSession,
    container: Container,
    interaction: Interaction,
    conversation: Conversation,
    event: CallEvent,
    now: datetime,
) -> None:
    """A voicemail's transcription (or the news that there is none) for the person asked
    for, else the default recipient: the text, the caller's number and the recording."""
    tenant = await session.get_one(Tenant, interaction.tenant_id)
    phone = event.caller or await _phone_of(session, interaction)
    handoff = await _latest_handoff(session, conversation)
    staff_language = "en" if runtime.tenant_view(tenant).doc.tenant.locale == "en" else "es"
    url = str(event.metadata.get("recording_url") or "")
    if event.outcome == "completed" and event.text:
        summary = say("voicemail_summary", staff_language, caller=phone or "?", text=event.text)
    else:
        summary = say("voicemail_untranscribed", staff_language, caller=phone or "?")
    if url:
        summary += " " + say("recording_at", staff_language, url=url)
    await _take_message(session, container, tenant, interaction, conversation, handoff,
                        phone, "voicemail", summary, now)  # fmt: skip


async def _take_message(
    session: AsyncSession,
    container: Container,
    tenant: Tenant,
    interaction: Interaction,
    conversation: Conversation,
    handoff: Handoff | None,
    phone: str | None,
    reason: str,
    summary: str,
    now: datetime,
) -> None:
    from centralita.staff_messages import service as staff_messages

    intake = conversation.intake or {}
    recipient = intake.get("staff_key") or (handoff.staff_key if handoff else None)
    base_url = container.settings.public_base_url.rstrip("/")
    await staff_messages.take_message(
        session,
        tenant=tenant,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        recipient_key=str(recipient) if recipient else None,
        caller_name=str(intake.get("name") or "") or None,
        caller_phone=phone,
        caller_email=str(intake.get("email") or "") or None,
        reason=str(intake.get("reason") or reason),
        intent=str(intake.get("intent") or "") or None,
        urgency=handoff.urgency if handoff is not None else "normal",
        summary=summary,
        language=conversation.language or tenant.locale or "es",
        now=now,
        transcript_url=(
            f"{base_url}/api/v1/conversations/{conversation.id}/messages" if base_url else None
        ),
    )


async def _phone_of(session: AsyncSession, interaction: Interaction) -> str | None:
    return await session.scalar(
        select(ContactAddress.value).where(
            ContactAddress.tenant_id == interaction.tenant_id,
            ContactAddress.contact_id == interaction.contact_id,
            ContactAddress.kind == "phone",
        )
    )
