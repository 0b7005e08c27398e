"""The receptionist's shell: one inbound message in, NLU, the pure policy, actions executed.

``take_turn`` runs inside the caller's transaction, so the replies (through the outbox), the
appointment, the staff message, the hand-off and the new dialogue state commit together or not
at all. Messaging runs it from the ``message.received`` subscriber; voice (issue 4) calls it
inside the webhook to put the reply into TwiML. A redelivered event is answered once: the
dialogue record remembers the message ids it answered, under a row lock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns.inbound import claim_opt_out
from centralita.channels.base import SENDER_ADDRESS_KIND, ChannelKind
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact, ContactAddress
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.clock import utcnow
from centralita.core.errors import Conflict, DomainError, InvalidInput
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.events.envelope import Envelope
from centralita.receptionist.dialogue import actions as act
from centralita.receptionist.dialogue.policy import (
    AppointmentRef,
    Channel,
    PolicyContext,
    SlotAnswer,
    SlotOption,
    decide,
)
from centralita.receptionist.dialogue.state import DialogueState
from centralita.receptionist.events import HandoffRequested, TurnTaken
from centralita.receptionist.faq import FaqIndex, items_from_document
from centralita.receptionist.models import DialogueRecord, Handoff
from centralita.receptionist.nlu.result import (
    DirectoryEntry,
    NluContext,
    NluEngine,
    NluResult,
    ServiceEntry,
)
from centralita.surveys.inbound import claim_answer
from centralita.tenants.config.export import tenant_document
from centralita.tenants.config.schema import TenantDocument, WeeklyHours
from centralita.tenants.hours import is_open, next_opening
from centralita.tenants.models import Queue, Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

ANSWERED_KEPT = 50  # message ids remembered per conversation for deduplication
RESUME_AFTER = timedelta(minutes=30)  # a gap this long counts as coming back later
MAX_POLICY_CALLS = 4


@dataclass
class TurnOutcome:
    replies: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    nlu: NluResult | None = None
    skipped: str | None = None  # why the receptionist did not answer


# ---- tenant-derived, cached per applied configuration -----------------------------------------


@dataclass(frozen=True)
class _TenantView:
    doc: TenantDocument
    directory: tuple[DirectoryEntry, ...]
    services: tuple[ServiceEntry, ...]
    faq: FaqIndex


_VIEWS: dict[str, tuple[str, _TenantView]] = {}  # tenant id -> (applied-at stamp, view)
_ALWAYS_OPEN = WeeklyHours.model_validate(
    {day: [["00:00", "24:00"]] for day in WeeklyHours.model_fields}
)


def _build_view(doc: TenantDocument) -> _TenantView:
    service_names = {s.key: tuple(n for n in (s.name.es, s.name.en) if n) for s in doc.services}
    directory = tuple(
        DirectoryEntry(
            key=m.key,
            name=m.name,
            aliases=tuple(m.aliases),
            role=m.role,
            services=tuple(
                name for s in doc.services if m.key in s.staff for name in service_names[s.key]
            ),
        )
        for m in doc.staff
    )
    services = tuple(ServiceEntry(key=k, names=v) for k, v in service_names.items())
    return _TenantView(doc, directory, services, FaqIndex.build(items_from_document(doc)))


def tenant_view(tenant: Tenant) -> _TenantView:
    """The tenant's applied document and what is derived from it, rebuilt when the tenant
    row changes. A tenant created without a document answers as if always open (no
    directory, no FAQ), so the receptionist still takes messages for it."""
    stamp = tenant.updated_at.isoformat() if tenant.updated_at else ""
    cached = _VIEWS.get(tenant.id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    doc = tenant_document(tenant)
    if not tenant.config:
        doc = doc.model_copy(update={"hours": _ALWAYS_OPEN})
    view = _build_view(doc)
    _VIEWS[tenant.id] = (stamp, view)
    return view


# ---- the turn ---------------------------------------------------------------------------------


async def take_turn(
    session: AsyncSession,
    *,
    engine: NluEngine,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    now: datetime | None = None,
    base_url: str = "",
) -> TurnOutcome:
    """Answer one inbound message while the bot owns the conversation."""
    now = now or utcnow()
    if message.direction != "inbound":
        return TurnOutcome(skipped="not inbound")
    if conversation.owner_type != "bot":
        return TurnOutcome(skipped=f"owned by {conversation.owner_type}")
    if tenant.disabled:
        return TurnOutcome(skipped="tenant disabled")
    record = await _lock_record(session, tenant_id=tenant.id, conversation_id=conversation.id)
    # Read again under the record's lock: a concurrent turn for the same message (a redelivered
    # event) may have committed while we waited. The message's own mark is exact; the record's
    # list of recent ids is the older, bounded check.
    await session.refresh(message, ["turn_taken_at"])
    if message.turn_taken_at is not None or message.id in record.answered:
        return TurnOutcome(skipped="already answered")

    view = tenant_view(tenant)
    doc = view.doc
    zone = doc.tenant.timezone
    local_now = now.astimezone(_zone(zone))
    contact = await session.get(Contact, conversation.contact_id)
    state = DialogueState.from_dict(record.state)
    channel = _channel(message.channel)
    sender = await _sender_address(session, message)

    history = await _history_languages(session, conversation, message)
    from centralita.spam import service as spam_service

    nlu_context = NluContext(
        now=local_now,
        timezone=zone,
        country=doc.tenant.country,
        default_language=(state.language or doc.tenant.locale),  # type: ignore[arg-type]
        history_languages=history,
        directory=view.directory,
        services=view.services,
        spam_feedback=await spam_service.feedback_examples(session, tenant.id),
    )
    nlu = await _analyse(engine, message.body, nlu_context)
    languages = doc.languages
    if nlu.language not in languages:
        nlu = replace(nlu, language=languages[0])  # type: ignore[arg-type]

    decision, spam_score = await _spam_decision(session, tenant, contact, conversation, sender, nlu)
    faq_answer = None
    if nlu.intent in ("info", "billing", "other") and nlu.text.strip():
        found = view.faq.answer(nlu.text, language=nlu.language)
        faq_answer = found.text if found else None

    schedule, calendar = doc.opening_schedule(), doc.holiday_calendar()
    open_now = is_open(schedule, calendar, zone, now)
    reception = doc.receptionist
    appointments = await _appointments(session, tenant.id, conversation.contact_id, now)
    phone = sender.value if sender and sender.kind == "phone" else None
    if sender and sender.kind == "whatsapp":
        phone = "+" + sender.value.lstrip("+")
    ctx = PolicyContext(
        now=local_now,
        timezone=zone,
        channel=channel,
        tenant_name=doc.tenant.name,
        greeting=_localized(doc.profile.greeting),
        is_open=open_now,
        next_open=None if open_now else next_opening(schedule, calendar, zone, now),
        after_hours_message=_localized(reception.after_hours_message),
        emergency_message=_localized(reception.emergency_message),
        on_call_phone=reception.emergency.on_call_phone,
        has_emergency_contacts=bool(reception.emergency.notify),
        allow_booking=reception.allow_booking,
        take_messages=reception.take_messages,
        contact_name=contact.name if contact else None,
        contact_phone=phone,
        contact_email=sender.value if sender and sender.kind == "email" else None,
        resumed=record.last_turn_at is not None and now - record.last_turn_at > RESUME_AFTER,
        staff_names={m.key: m.name for m in doc.staff},
        service_names={
            s.key: {lang: n for lang, n in (("es", s.name.es), ("en", s.name.en)) if n}
            for s in doc.services
        },
        default_service=reception.booking.default_service,
        default_queue=reception.default_queue,
        emergency_queue=_emergency_queue(doc),
        appointments=appointments,
        faq_answer=faq_answer,
        spam=decision.is_spam,
        spam_reason=decision.reason,
    )

    outcome = TurnOutcome(nlu=nlu)
    new_state, actions = await _policy(session, tenant, state, nlu, ctx, now)
    try:
        async with session.begin_nested():
            await _execute(session, tenant, conversation, message, new_state, actions, ctx,
                           nlu, now, base_url, outcome)  # fmt: skip
    except (Conflict, InvalidInput) as exc:
        books = any(isinstance(a, act.Book | act.Reschedule) for a in actions)
        if isinstance(exc, InvalidInput) and not books:
            raise
        # the slot went to someone else between proposal and booking (or can no longer be
        # booked as offered: notice, hours changed): propose again instead of going silent
        if isinstance(exc, InvalidInput):
            log.warning("booking refused for %s: %s", conversation.id, exc)
        outcome = TurnOutcome(nlu=nlu)
        # Rolling the savepoint back expired what it touched; load it again here, where I/O
        # may happen, not lazily inside the retry (which cannot await).
        for row in (tenant, conversation, message):
            await session.refresh(row)
        retry_ctx = replace(ctx, failed="slot_taken", slots=None)
        new_state, actions = await _policy(session, tenant, state, nlu, retry_ctx, now)
        await _execute(session, tenant, conversation, message, new_state, actions, retry_ctx,
                       nlu, now, base_url, outcome)  # fmt: skip

    if decision.is_spam or decision.source in ("list", "agent"):
        await spam_service.record_verdict(
            session,
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            decision=decision,
            score=spam_score,
            now=now,
        )
    await _remember(session, record, conversation, message, contact, new_state, nlu, now)
    outbox.record(
        session,
        TurnTaken(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            message_id=message.id,
            language=nlu.language,
            intent=nlu.intent,
            urgency=new_state.intake.urgency,
            spam=decision.is_spam,
            actions=outcome.actions,
        ),
    )
    return outcome


async def _policy(
    session: AsyncSession,
    tenant: Tenant,
    state: DialogueState,
    nlu: NluResult,
    ctx: PolicyContext,
    now: datetime,
) -> tuple[DialogueState, list[act.Action]]:
    from centralita.scheduling import service as scheduling

    for _ in range(MAX_POLICY_CALLS):
        new_state, actions = decide(state, nlu, ctx)
        need = next((a for a in actions if isinstance(a, act.NeedSlots)), None)
        if need is None:
            return new_state, actions
        q = need.query
        try:
            found = await scheduling.find_slots(
                session,
                tenant,
                now=now,
                service_key=q.service_key,
                staff_key=q.staff_key,
                preferred=q.preferred,
                window_end=q.window_end,
                part_of_day=q.part_of_day,
                kind=q.kind,
                count=3,
                exclude_appointment_id=q.exclude_appointment_id,
            )
        except DomainError as exc:
            log.warning("find_slots failed for %s: %s", tenant.id, exc)
            found = []
        options = tuple(SlotOption(f.start, f.end, f.staff_key) for f in found)
        ctx = replace(ctx, slots=SlotAnswer(q, options))
    raise RuntimeError("the dialogue policy kept asking for slots")


async def _execute(
    session: AsyncSession,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    state: DialogueState,
    actions: list[act.Action],
    ctx: PolicyContext,
    nlu: NluResult,
    now: datetime,
    base_url: str,
    outcome: TurnOutcome,
) -> None:
    from centralita.scheduling import service as scheduling

    intake = state.intake
    for action in actions:
        outcome.actions.append(type(action).__name__)
        if isinstance(action, act.Reply):
            await conversations_outbound.add_message(
                session,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                body=action.text,
                author_type="bot",
                channel=message.channel,
                now=now,
            )
            outcome.replies.append(action.text)
        elif isinstance(action, act.Book):
            await scheduling.book(
                session,
                tenant=tenant,
                start=action.start,
                now=now,
                service_key=action.service_key,
                staff_key=action.staff_key,
                kind=action.kind,
                contact_id=conversation.contact_id,
                conversation_id=conversation.id,
                phone=intake.phone,
                notes=intake.reason,
                source="receptionist",
            )
        elif isinstance(action, act.Reschedule):
            await scheduling.reschedule(
                session,
                tenant=tenant,
                appointment_id=action.appointment_id,
                start=action.start,
                now=now,
            )
        elif isinstance(action, act.CancelAppointment):
            await scheduling.cancel(
                session, tenant_id=tenant.id, appointment_id=action.appointment_id, now=now
            )
        elif isinstance(action, act.ConfirmAppointment):
            await scheduling.confirm(
                session, tenant_id=tenant.id, appointment_id=action.appointment_id, now=now
            )
        elif isinstance(action, act.TakeMessage):
            await _take_message(
                session, tenant, conversation, state, nlu, action.recipient_key,
                action.reason, action.urgency, action.summary, now, base_url,
            )  # fmt: skip
        elif isinstance(action, act.NotifyEmergency):
            for key in tenant_view(tenant).doc.receptionist.emergency.notify:
                await _take_message(
                    session, tenant, conversation, state, nlu, key,
                    intake.reason or "emergency", "emergency", action.summary, now, base_url,
                )  # fmt: skip
        elif isinstance(action, act.Handoff):
            await _handoff(session, tenant, conversation, message, state, action, now)
        elif isinstance(action, act.Close):
            await conversations_service.update_conversation(
                session,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                status="closed",
                now=now,
            )
        # MarkSpam: the verdict is recorded by take_turn for every spam decision


async def _take_message(
    session: AsyncSession,
    tenant: Tenant,
    conversation: Conversation,
    state: DialogueState,
    nlu: NluResult,
    recipient_key: str | None,
    reason: str,
    urgency: str,
    summary_text: str,
    now: datetime,
    base_url: str,
) -> None:
    from centralita.staff_messages import service as staff_messages
    from centralita.staff_messages.directory import resolve_recipient

    doc = tenant_view(tenant).doc
    if recipient_key is None:
        person = resolve_recipient(
            doc.staff,
            text=reason,
            service_key=state.intake.service_key,
            services=doc.services,
            default_key=doc.receptionist.messages.default_recipient,
        )
        recipient_key = person.key if person else None
    intake = state.intake
    await staff_messages.take_message(
        session,
        tenant=tenant,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        recipient_key=recipient_key,
        caller_name=intake.name,
        caller_phone=intake.phone,
        caller_email=intake.email,
        reason=reason,
        intent=intake.intent,
        urgency=urgency,
        summary=summary_text,
        language=nlu.language,
        now=now,
        transcript_url=f"{base_url}/api/v1/conversations/{conversation.id}/messages"
        if base_url
        else None,
    )


async def _handoff(
    session: AsyncSession,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    state: DialogueState,
    action: act.Handoff,
    now: datetime,
) -> None:
    handoff = Handoff(
        id=new_id("hnd"),
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        queue_key=action.queue_key,
        staff_key=action.staff_key,
        channel=message.channel,
        reason=action.reason,
        urgency=action.urgency,
        summary=action.summary,
        intake=state.intake.to_dict(),
        status="waiting",
        requested_at=now,
    )
    session.add(handoff)
    conversation.owner_type = "queue"
    # Owners are ids (an agent's staff member id, a queue's id), as routing writes them.
    conversation.owner_id = action.queue_key and await session.scalar(
        select(Queue.id).where(Queue.tenant_id == tenant.id, Queue.key == action.queue_key)
    )
    if message.interaction_id:
        interaction = await session.get(Interaction, message.interaction_id)
        if interaction is not None and interaction.queued_at is None:
            interaction.queued_at = now
            interaction.handled_by_bot = False
    await session.flush()
    outbox.record(
        session,
        HandoffRequested(
            tenant_id=tenant.id,
            handoff_id=handoff.id,
            conversation_id=conversation.id,
            queue_key=action.queue_key,
            staff_key=action.staff_key,
            urgency=action.urgency,
            channel=message.channel,
        ),
    )


# ---- helpers ----------------------------------------------------------------------------------


async def _lock_record(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> DialogueRecord:
    query = (
        select(DialogueRecord)
        .where(
            DialogueRecord.tenant_id == tenant_id,
            DialogueRecord.conversation_id == conversation_id,
        )
        .with_for_update()
    )
    record = await session.scalar(query)
    if record is not None:
        return record
    try:
        async with session.begin_nested():
            record = DialogueRecord(
                id=new_id("dlg"),
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                state={},
                answered=[],
            )
            session.add(record)
    except IntegrityError:
        record = None
    found = await session.scalar(query)
    assert found is not None
    return found


async def _analyse(engine: NluEngine, text: str, context: NluContext) -> NluResult:
    # CPU-bound (offline) or blocking I/O (LLM): never on the event loop
    return await asyncio.to_thread(engine.analyse, text, context)


def _channel(channel: str) -> Channel:
    if channel == "voice":
        return "voice"
    if channel == "email":
        return "email"
    return "messaging"


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _localized(text: Any) -> dict[str, str]:
    if text is None:
        return {}
    return {lang: value for lang in ("es", "en") if (value := getattr(text, lang, None))}


def _emergency_queue(doc: TenantDocument) -> str | None:
    for queue in doc.queues:
        words = " ".join([queue.key, *queue.skills]).lower()
        if "urgen" in words or "emergenc" in words:
            return queue.key
    return doc.receptionist.default_queue


async def _sender_address(session: AsyncSession, message: Message) -> ContactAddress | None:
    try:
        kind = SENDER_ADDRESS_KIND[ChannelKind(message.channel)]
    except (ValueError, KeyError):
        return None
    return await session.scalar(
        select(ContactAddress).where(
            ContactAddress.tenant_id == message.tenant_id,
            ContactAddress.contact_id == message.contact_id,
            ContactAddress.kind == kind,
        )
    )


async def _history_languages(
    session: AsyncSession, conversation: Conversation, message: Message
) -> tuple[Any, ...]:
    rows = (
        await session.scalars(
            select(Message.language)
            .where(
                Message.tenant_id == conversation.tenant_id,
                Message.conversation_id == conversation.id,
                Message.direction == "inbound",
                Message.id != message.id,
                Message.language.is_not(None),
            )
            .order_by(Message.created_at.desc())
            .limit(5)
        )
    ).all()
    return tuple(lang for lang in reversed(rows) if lang in ("es", "en"))


async def _appointments(
    session: AsyncSession, tenant_id: str, contact_id: str, now: datetime
) -> tuple[AppointmentRef, ...]:
    from centralita.scheduling import service as scheduling

    rows = await scheduling.upcoming_for_contact(session, tenant_id, contact_id, now)
    return tuple(
        AppointmentRef(
            id=row.id, start=row.start_at, staff_key=row.staff_key, service_key=row.service_key
        )
        for row in rows
        if row.kind == "appointment"
    )


async def _spam_decision(
    session: AsyncSession,
    tenant: Tenant,
    contact: Contact | None,
    conversation: Conversation,
    sender: ContactAddress | None,
    nlu: NluResult,
) -> tuple[Any, float]:
    """The spam verdict for this turn, and the score to record with it."""
    from centralita.spam import service as spam_service
    from centralita.spam.verdict import SpamDecision, decide_spam

    allow, block = await spam_service.tenant_lists(tenant)
    address = spam_service.comparable_address(sender.kind, sender.value) if sender else None
    feedback = await spam_service.caller_feedback(session, tenant.id, address) if address else None
    # a caller whose earlier conversations were all spam is no customer of ours
    known = bool(contact and contact.name) or await spam_service.is_known_customer(
        session,
        tenant_id=tenant.id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
    )
    decision = decide_spam(
        address=address,
        allow=allow,
        block=block,
        caller_feedback=feedback,
        nlu_spam=nlu.spam or nlu.intent == "sales_spam",
        nlu_score=nlu.spam_score,
        is_known_customer=known,
    )
    if not decision.is_spam and decision.source == "model":
        # one harmless-looking follow-up ("¿sigue ahí?") does not clear a conversation
        # already judged spam; only an agent's word (or the allow list) does
        current = await spam_service.get_verdict(
            session, tenant_id=tenant.id, conversation_id=conversation.id
        )
        if current is not None and current.verdict == "spam" and current.source != "agent":
            reason = current.reason or "already judged spam"
            return SpamDecision(True, current.source, reason), current.score
    return decision, nlu.spam_score


async def _remember(
    session: AsyncSession,
    record: DialogueRecord,
    conversation: Conversation,
    message: Message,
    contact: Contact | None,
    state: DialogueState,
    nlu: NluResult,
    now: datetime,
) -> None:
    record.state = state.to_dict()
    record.answered = [*record.answered, message.id][-ANSWERED_KEPT:]
    message.turn_taken_at = now
    record.last_turn_at = now
    record.version += 1
    intake = state.intake.to_dict()
    conversation.intake = {k: v for k, v in intake.items() if v not in (None, False, "")}
    conversation.language = nlu.language
    previous = conversation.sentiment
    conversation.sentiment = (
        nlu.sentiment if previous is None else round(0.6 * previous + 0.4 * nlu.sentiment, 4)
    )
    message.sentiment = nlu.sentiment
    message.language = nlu.language
    if nlu.redactions and message.body != nlu.text:
        message.body = nlu.text  # never keep a card number
    if contact is not None and not contact.name and state.intake.name:
        try:
            await contacts_service.update_contact(
                session,
                tenant_id=contact.tenant_id,
                contact_id=contact.id,
                actor="receptionist",
                name=state.intake.name,
            )
        except (InvalidInput, DomainError) as exc:
            log.info("could not name contact %s: %s", contact.id, exc)


# ---- the subscriber ---------------------------------------------------------------------------


def engine_for(container: Container) -> NluEngine:
    return container.nlu()  # type: ignore[no-any-return]


async def handle_message_received(container: Container, envelope: Envelope) -> None:
    """The ``message.received`` subscriber: answer while the bot owns the conversation."""
    payload = envelope.payload
    engine = engine_for(container)
    async with container.sessions() as session, session.begin():
        message = await session.scalar(
            select(Message).where(
                Message.tenant_id == envelope.tenant_id, Message.id == payload["message_id"]
            )
        )
        if message is None or message.kind == "event":
            return  # a reaction or a provider event is stored, not answered
        conversation = await session.get(Conversation, message.conversation_id)
        tenant = await session.get(Tenant, envelope.tenant_id)
        if conversation is None or tenant is None:
            return
        now = container.clock()
        # an opt-out keyword or a survey's answer is handled by its own domain, not answered
        for claim in (claim_opt_out, claim_answer):
            if await claim(
                session, tenant=tenant, conversation=conversation, message=message, now=now
            ):
                return
        await take_turn(
            session,
            engine=engine,
            tenant=tenant,
            conversation=conversation,
            message=message,
            now=now,
            base_url=container.settings.public_base_url.rstrip("/"),
        )


# Voice (the turn answered inside the webhook, queues, voicemail): receptionist/voice.py
