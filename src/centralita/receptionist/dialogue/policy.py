"""The receptionist's dialogue policy: ``decide(state, nlu_result, context) -> (state, actions)``.

Pure and deterministic: everything it needs about the world comes in ``PolicyContext`` (the
business's hours, the caller, their appointments, the FAQ answer for this turn, free slots),
and everything it wants done goes out as actions for the runtime to execute. When it needs free
slots it has not been given, it returns a single ``NeedSlots`` and leaves the state untouched;
the runtime looks them up and calls again with the same state and ``context.slots`` filled in.

The same policy serves voice (short turns, two slots, the phone number read back), messaging
(three slots) and email (one shot: everything found in the mail is used at once, and whatever
is still missing is asked for in one reply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from centralita.core.text import fold as _fold
from centralita.receptionist.dialogue import texts
from centralita.receptionist.dialogue.actions import (
    Action,
    Book,
    CancelAppointment,
    Close,
    ConfirmAppointment,
    Handoff,
    MarkSpam,
    NeedSlots,
    NotifyEmergency,
    Reply,
    Reschedule,
    SlotQuery,
    TakeMessage,
)
from centralita.receptionist.dialogue.state import (
    DialogueState,
    Intake,
    OfferedSlot,
    higher_urgency,
)
from centralita.receptionist.nlu.result import NluResult

Channel = Literal["voice", "messaging", "email"]
NEGATIVE_SENTIMENT = -0.45  # a turn at or below this counts towards "sustained negative"
NEGATIVE_TURNS = 2  # this many negative turns in a row raise urgency and offer a human
MAX_ASKS = 2  # a question is asked at most this often; then we go on without the answer


@dataclass(frozen=True)
class AppointmentRef:
    id: str
    start: datetime
    staff_key: str | None = None
    service_key: str | None = None


@dataclass(frozen=True)
class SlotOption:
    start: datetime
    end: datetime
    staff_key: str | None = None


@dataclass(frozen=True)
class SlotAnswer:
    query: SlotQuery
    options: tuple[SlotOption, ...]


@dataclass(frozen=True)
class PolicyContext:
    now: datetime  # aware
    timezone: str = "UTC"
    channel: Channel = "messaging"
    tenant_name: str = ""
    greeting: dict[str, str] = field(default_factory=dict)  # language -> text
    is_open: bool = True
    next_open: datetime | None = None
    after_hours_message: dict[str, str] = field(default_factory=dict)
    emergency_message: dict[str, str] = field(default_factory=dict)
    on_call_phone: str | None = None
    has_emergency_contacts: bool = False
    allow_booking: bool = True
    take_messages: bool = True
    contact_name: str | None = None  # a known contact's name
    contact_phone: str | None = None  # the channel's phone address (caller id, WhatsApp)
    contact_email: str | None = None
    resumed: bool = False  # the caller comes back to an unfinished conversation after a gap
    staff_names: dict[str, str] = field(default_factory=dict)  # key -> name
    service_names: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> lang -> name
    default_service: str | None = None
    default_queue: str | None = None
    emergency_queue: str | None = None
    appointments: tuple[AppointmentRef, ...] = ()  # the caller's upcoming ones, soonest first
    faq_answer: str | None = None  # the FAQ's answer to this turn, in its language, if any
    spam: bool = False  # the screening verdict for this turn (lists, feedback, model)
    spam_reason: str = ""
    slots: SlotAnswer | None = None
    failed: str | None = None  # "slot_taken" when the last Book/Reschedule lost a race


class _Turn:
    """Collects the reply fragments and actions of one turn."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.parts: list[str] = []
        self.actions: list[Action] = []

    def say(self, key: str, **values: str) -> None:
        self.parts.append(texts.say(key, self.language, **values))

    def text(self, value: str) -> None:
        self.parts.append(value)

    def do(self, action: Action) -> None:
        self.actions.append(action)

    def result(self, state: DialogueState) -> tuple[DialogueState, list[Action]]:
        actions = list(self.actions)
        reply = " ".join(part.strip() for part in self.parts if part.strip())
        if reply:
            # the reply goes first: a Close after it must not silence it
            actions.insert(0, Reply(reply))
        return state, actions


class _NeedSlots(Exception):
    def __init__(self, query: SlotQuery) -> None:
        self.query = query


def decide(
    state: DialogueState, nlu: NluResult, context: PolicyContext
) -> tuple[DialogueState, list[Action]]:
    """The receptionist's next move for one caller turn."""
    try:
        return _decide(state, nlu, context)
    except _NeedSlots as need:
        return state, [NeedSlots(need.query)]


# ---- the turn ---------------------------------------------------------------------------------


def _decide(
    state: DialogueState, nlu: NluResult, ctx: PolicyContext
) -> tuple[DialogueState, list[Action]]:
    language = nlu.language
    turn = _Turn(language)
    first = state.turns == 0
    s = replace(state, turns=state.turns + 1, language=language)
    s = _merge(s, nlu, ctx)

    if ctx.spam:
        return _spam(s, turn, ctx)
    if s.flow == "spam":  # an agent said it was not spam after all: start afresh
        s = replace(s, flow="", pending="")

    if first:
        _greet(turn, ctx, nlu)
    elif ctx.resumed and s.flow not in ("", "done"):
        name = f", {ctx.contact_name}" if ctx.contact_name else ""
        turn.say("welcome_back", name=name)

    if not nlu.text.strip():
        if not first:
            turn.say("empty")
        return turn.result(s)

    if nlu.wants_human or (state.pending == "offer_human" and nlu.affirm):
        return _human(replace(s, pending=""), turn, ctx, nlu)
    if nlu.urgency == "emergency" and not s.handed_off:
        return _emergency(s, turn, ctx, nlu)

    s = _track_sentiment(s, nlu)
    handled = _answer_pending(s, state.pending, turn, ctx, nlu)
    if handled is not None:
        return handled
    s = replace(s, pending="", intake=_with_intent(s.intake, nlu, overwrite=True))
    return _intent(s, turn, ctx, nlu, first)


def _merge(s: DialogueState, nlu: NluResult, ctx: PolicyContext) -> DialogueState:
    """Fold this turn's entities into the intake; keep what was already captured."""
    e = nlu.entities
    if s.pending == "choose_slot" and _ordinal(nlu.text, len(s.offered)) is not None:
        # "the first one" is a pick, not "the 1st of the month" or the "First visit"
        e = replace(
            e, when_start=None, when_end=None, when_grain=None, part_of_day=None,
            service_key=None, staff_key=None,
        )  # fmt: skip
    elif (
        e.when_start is not None
        and e.when_end is None
        and e.when_grain in ("hour", "minute")
        and not _SAID_A_CLOCK.search(_fold(nlu.text))
    ):
        # a clock time nobody said: "cita para una limpieza" is read as 13:00 ("para la una")
        e = replace(e, when_start=None, when_grain=None)
    intake = s.intake
    name = intake.name or e.name or ctx.contact_name
    phone = intake.phone
    phone_confirmed = intake.phone_confirmed
    if e.phone and e.phone != intake.phone:
        phone, phone_confirmed = e.phone, False
    elif not phone and ctx.contact_phone:
        phone, phone_confirmed = ctx.contact_phone, True  # the caller id / WhatsApp number
    preferred, preferred_end = intake.preferred_time, intake.preferred_end
    if e.when_start is not None:
        start = e.when_start
        if e.when_end is None:
            start = _plausible_clock(start, e.when_grain, nlu.text)
        preferred = start.isoformat()
        preferred_end = e.when_end.isoformat() if e.when_end else None
        if e.when_grain not in ("hour", "minute", "second") and e.when_end is None:
            # a day ("mañana"): the whole local day is the window; a week ("esta semana",
            # "next week"): the seven days from its start
            day = e.when_start.replace(hour=0, minute=0, second=0, microsecond=0)
            span = timedelta(days=7 if e.when_grain == "week" else 1)
            preferred_end = (day + span).isoformat()
    urgency = higher_urgency(intake.urgency, nlu.urgency)
    if nlu.intent in ("sales_spam",):
        urgency = intake.urgency
    return replace(
        s,
        intake=replace(
            _with_intent(intake, nlu, overwrite=False),
            name=name,
            phone=phone,
            phone_confirmed=phone_confirmed,
            email=intake.email or e.email or ctx.contact_email,
            urgency=urgency,
            preferred_time=preferred,
            preferred_end=preferred_end,
            part_of_day=e.part_of_day or intake.part_of_day,
            staff_key=e.staff_key or intake.staff_key,
            service_key=e.service_key or intake.service_key,
        ),
    )


def _with_intent(intake: Intake, nlu: NluResult, *, overwrite: bool) -> Intake:
    """The caller's request, as the classifier's finer label. A turn that answers our
    question ("Lucía Pérez", "por la tarde") only fills it in when nothing was known yet;
    a turn read as a new request replaces it."""
    if nlu.intent == "other" or nlu.confidence < 0.3:
        return intake
    if intake.intent and not overwrite:
        return intake
    return replace(intake, intent=nlu.detail if nlu.detail != "other" else nlu.intent)


def _plausible_clock(when: datetime, grain: str | None, text: str) -> datetime:
    """A bare hour read as early morning ("a las cinco", "at 5" -> 05:00) means the
    afternoon: nobody asks a business for 5 a.m. unless they say so."""
    if grain not in ("hour", "minute") or not 1 <= when.hour <= 7:
        return when
    if _EARLY.search(_fold(text)):
        return when
    return when + timedelta(hours=12)


_CLOCK_WORDS = (
    r"(?:una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|one|two|three|four|"
    r"five|six|seven|eight|nine|ten|eleven|twelve)"
)
# How a caller says a time of day: digits, "a la una", "las cinco", "at five", "noon", "5pm".
_SAID_A_CLOCK = re.compile(
    rf"\d|\blas?\s+{_CLOCK_WORDS}\b|\b(?:at|around|about|by|after|before|until)\s+"
    rf"{_CLOCK_WORDS}\b|\b(?:mediodia|medianoche|noon|midday|midnight|o'?clock|am|pm)\b"
)
_EARLY = re.compile(
    r"\b(?:a\.?m\.?|de la manana|por la manana|de madrugada|madrugada|in the morning|"
    r"morning|temprano|early)\b|\d[:.h]?\d*\s*am\b"
)


def _greet(turn: _Turn, ctx: PolicyContext, nlu: NluResult) -> None:
    """First turn: hello by name for a known contact, else the business's greeting (skipped
    when the caller already said what they want), and a word about being closed."""
    actionable = nlu.intent != "other" or nlu.wants_human or nlu.urgency == "emergency"
    if ctx.contact_name:
        turn.say("hello_known", name=_first_name(ctx.contact_name))
    elif not actionable:
        greeting = ctx.greeting.get(nlu.language)
        if greeting:
            turn.text(greeting)
        else:
            turn.say("default_greeting", tenant=ctx.tenant_name)
    if not ctx.is_open:
        reopen = ""
        if ctx.next_open is not None:
            local = ctx.next_open.astimezone(ZoneInfo(ctx.timezone))
            reopen = texts.say("reopen", nlu.language, when=texts.when(local, nlu.language))
        turn.say("closed_now", reopen=reopen)
    if not actionable and ctx.contact_name:
        turn.say("how_help")


def _track_sentiment(s: DialogueState, nlu: NluResult) -> DialogueState:
    if nlu.sentiment <= NEGATIVE_SENTIMENT:
        return replace(s, negative_streak=s.negative_streak + 1)
    if nlu.sentiment >= 0:
        return replace(s, negative_streak=0)
    return s


def _maybe_offer_human(s: DialogueState, turn: _Turn) -> DialogueState:
    """Sustained negative sentiment: raise urgency and offer a person, once."""
    if s.negative_streak >= NEGATIVE_TURNS and not s.human_offered and not s.handed_off:
        turn.say("offer_human")
        intake = replace(s.intake, urgency=higher_urgency(s.intake.urgency, "high"))
        return replace(s.ask("offer_human"), human_offered=True, intake=intake)
    return s


# ---- spam, humans, emergencies ----------------------------------------------------------------


def _spam(s: DialogueState, turn: _Turn, ctx: PolicyContext) -> tuple[DialogueState, list[Action]]:
    if s.flow != "spam":
        turn.say("spam_close")
        turn.do(MarkSpam(ctx.spam_reason or "spam"))
    # a follow-up may have reopened the conversation: close it again, without a word
    turn.do(Close("spam"))
    return turn.result(replace(s, flow="spam", pending=""))


def _human(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]]:
    if s.handed_off:
        turn.say("handoff_open", who=_staff_or_team(s, ctx, turn.language))
        return turn.result(s)
    if ctx.is_open:
        return _handoff(s, turn, ctx, queue=ctx.default_queue)
    turn.say("human_closed")
    s = replace(s, flow="message", intake=_with_reason(s.intake, nlu, force=False, ctx=ctx))
    return _advance_message(s, turn, ctx)


def _handoff(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, *, queue: str | None
) -> tuple[DialogueState, list[Action]]:
    reason = s.intake.reason or s.intake.intent or "caller asked for a person"
    turn.do(
        Handoff(
            queue_key=queue,
            staff_key=s.intake.staff_key,
            reason=reason,
            urgency=s.intake.urgency,
            summary=summary(s.intake, ctx, turn.language),
        )
    )
    if s.intake.urgency == "emergency":
        turn.say("emergency_open", who=_staff_or_team(s, ctx, turn.language))
    else:
        turn.say("handoff_open", who=_staff_or_team(s, ctx, turn.language))
    return turn.result(replace(s, flow="handoff", pending="", handed_off=True))


def _emergency(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]]:
    intake = replace(
        _with_reason(s.intake, nlu, force=s.intake.reason is None), urgency="emergency"
    )
    s = replace(s, intake=intake)
    if ctx.is_open:
        return _handoff(s, turn, ctx, queue=ctx.emergency_queue or ctx.default_queue)
    rule = ctx.emergency_message.get(turn.language) or texts.say("emergency_default", turn.language)
    if ctx.on_call_phone:
        rule += texts.say("on_call", turn.language, phone=texts.spoken_phone(ctx.on_call_phone))
    turn.say("emergency_closed", rule=rule)
    if not s.emergency_notified and ctx.has_emergency_contacts:
        turn.do(NotifyEmergency(summary(s.intake, ctx, turn.language)))
        turn.say("emergency_notified")
        s = replace(s, emergency_notified=True)
    return _advance_message(replace(s, flow="message", pending=""), turn, ctx)


# ---- answers to the question we asked ---------------------------------------------------------


def _answer_pending(
    s: DialogueState, pending: str, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]] | None:
    """Read this turn as the answer to ``pending``; None when it is something else."""
    if pending == "name":
        name = None if _refuses(nlu) else nlu.entities.name or _bare_name(nlu)
        if name:
            s = replace(s, pending="", intake=replace(s.intake, name=name))
        elif _refuses(nlu):
            s = replace(s, pending="", intake=replace(s.intake, name_refused=True))
        elif nlu.intent != "other" and nlu.confidence >= 0.5:
            return None  # a new request: deal with it instead
        return _advance(s, turn, ctx)
    if pending in ("phone", "confirm_phone"):
        if nlu.entities.phone:
            s = replace(s, pending="")
        elif pending == "confirm_phone" and nlu.affirm:
            s = replace(s, pending="", intake=replace(s.intake, phone_confirmed=True))
        elif pending == "confirm_phone" and nlu.deny:
            s = replace(s, pending="", intake=replace(s.intake, phone=None))
        elif _refuses(nlu):
            s = replace(s, pending="", intake=replace(s.intake, phone_refused=True))
        elif nlu.intent != "other" and nlu.confidence >= 0.5:
            return None
        return _advance(s, turn, ctx)
    if pending == "reason":
        if nlu.wants_human:
            return None
        named = _just_a_name(nlu, s.intake)
        if named is not None:
            # "Marta Gómez" answers who, not what about: keep it as the name, ask again
            # (at most MAX_ASKS times in all, then the message goes without a reason)
            intake = replace(s.intake, name=named, name_refused=False)
            return _advance(replace(s, pending="", intake=intake), turn, ctx)
        intake = replace(s.intake, reason=_clip(nlu.text))
        return _advance(replace(s, pending="", intake=intake), turn, ctx)
    if pending == "choose_slot":
        return _choose_slot(s, turn, ctx, nlu)
    if pending == "confirm_cancel":
        if nlu.affirm and s.appointment_id:
            ref = _appointment(ctx, s.appointment_id)
            turn.do(CancelAppointment(s.appointment_id))
            turn.say("cancelled", slot=_when(ref.start if ref else None, ctx, turn.language))
            return turn.result(replace(s.ask("offer_rebook"), flow="", appointment_id=None))
        if nlu.deny:
            ref = _appointment(ctx, s.appointment_id or "")
            turn.say("kept", slot=_when(ref.start if ref else None, ctx, turn.language))
            turn.say("anything_else")
            return turn.result(replace(s.ask("anything_else"), flow=""))
        return None
    if pending == "offer_rebook":
        if nlu.affirm and nlu.intent in ("other", "appointment_book", "appointment_change"):
            return _advance_booking(replace(s, pending="", flow="booking"), turn, ctx)
        if nlu.deny:
            return _goodbye(s, turn)
        return None
    if pending == "offer_message":
        if nlu.affirm:
            return _advance_message(replace(s, pending="", flow="message"), turn, ctx)
        if nlu.deny:
            turn.say("anything_else")
            return turn.result(s.ask("anything_else"))
        return None
    if pending == "offer_human":
        if nlu.deny:
            turn.say("anything_else")
            return turn.result(s.ask("anything_else"))
        return None
    if pending == "anything_else":
        if nlu.deny or (nlu.affirm and _word_count(nlu.text) <= 2 and nlu.intent == "other"):
            if nlu.deny:
                return _goodbye(s, turn)
            turn.say("how_help")
            return turn.result(replace(s, pending="", flow=""))
        return None
    return None


def _goodbye(s: DialogueState, turn: _Turn) -> tuple[DialogueState, list[Action]]:
    turn.say("goodbye")
    turn.do(Close("done"))
    return turn.result(replace(s, pending="", flow="done"))


# ---- intents ----------------------------------------------------------------------------------


def _intent(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult, first: bool
) -> tuple[DialogueState, list[Action]]:
    intent = nlu.intent if nlu.confidence >= 0.3 else "other"
    # a date or a name while a flow is under way continues that flow
    if intent == "other" and s.flow in ("booking", "reschedule", "message"):
        return _advance(s, turn, ctx)
    if intent == "sales_spam":
        # the screening (allow list, an agent's "not spam", a known customer) overruled the
        # model: whatever it sounds like, the business wants to hear it, so take a message
        intake = replace(_with_reason(s.intake, nlu, force=True), intent="leave_message")
        return _advance_message(replace(s, flow="message", intake=intake), turn, ctx)
    if intent == "appointment_book" or (
        intent == "appointment_change" and nlu.detail == "book_appointment"
    ):
        return _advance_booking(replace(s, flow="booking", misunderstood=0), turn, ctx)
    if intent == "appointment_change":
        return _change(replace(s, misunderstood=0), turn, ctx, nlu)
    if intent == "message_for_staff":
        intake = _with_reason(s.intake, nlu, force=False, ctx=ctx)
        s = replace(s, flow="message", intake=intake, misunderstood=0)
        return _advance_message(s, turn, ctx)
    if intent in ("complaint", "billing"):
        return _complaint_or_billing(s, turn, ctx, nlu, intent)
    if intent == "info":
        return _info(replace(s, misunderstood=0), turn, ctx, nlu)
    # other
    if ctx.faq_answer:
        return _info(s, turn, ctx, nlu)
    if first and _word_count(nlu.text) <= 4:
        return turn.result(s)  # a bare "hola": the greeting already asked how to help
    if s.flow in ("booking", "reschedule", "message"):
        return _advance(s, turn, ctx)
    s = replace(s, misunderstood=s.misunderstood + 1)
    s = _maybe_offer_human(s, turn)
    if s.pending == "offer_human":
        return turn.result(s)
    if s.misunderstood >= 2 and ctx.take_messages:
        turn.say("dont_know")
        intake = _with_reason(s.intake, nlu, force=False, ctx=ctx)
        return turn.result(replace(s.ask("offer_message"), intake=intake))
    turn.say("not_understood")
    return turn.result(s)


def _info(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]]:
    if ctx.faq_answer:
        turn.text(ctx.faq_answer)
        s = _maybe_offer_human(s, turn)
        if s.pending != "offer_human":
            turn.say("anything_else")
            s = s.ask("anything_else")
        return turn.result(replace(s, misunderstood=0))
    # never invent: offer to take a message instead
    turn.say("dont_know")
    intake = _with_reason(s.intake, nlu, force=True)
    return turn.result(replace(s.ask("offer_message"), intake=intake))


def _complaint_or_billing(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult, intent: str
) -> tuple[DialogueState, list[Action]]:
    if intent == "billing" and ctx.faq_answer:
        return _info(s, turn, ctx, nlu)
    intake = _with_reason(s.intake, nlu, force=True)
    if intent == "complaint":
        turn.say("complaint")
        intake = replace(intake, urgency=higher_urgency(intake.urgency, "high"))
    s = replace(s, intake=intake, misunderstood=0)
    s = _maybe_offer_human(s, turn)
    if s.pending == "offer_human":
        return turn.result(s)
    return _advance_message(replace(s, flow="message"), turn, ctx)


def _change(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]]:
    if not ctx.appointments:
        turn.say("no_appointment")
        intake = _with_reason(s.intake, nlu, force=True)
        return turn.result(replace(s.ask("offer_message"), flow="", intake=intake))
    ref = _pick_appointment(ctx, nlu)
    who = _with_staff(ref.staff_key, ctx, turn.language)
    slot = _when(ref.start, ctx, turn.language)
    if nlu.detail == "cancel_appointment":
        turn.say("confirm_cancel", slot=slot, who=who)
        return turn.result(replace(s.ask("confirm_cancel"), flow="cancel", appointment_id=ref.id))
    if nlu.detail == "confirm_appointment":
        turn.do(ConfirmAppointment(ref.id))
        turn.say("confirmed", slot=slot, who=who)
        turn.say("anything_else")
        return turn.result(replace(s.ask("anything_else"), flow="", appointment_id=ref.id))
    # change: propose new times for the same service and person
    intake = s.intake
    if s.flow != "reschedule":
        turn.say("rescheduling", slot=slot)
        if nlu.entities.when_start is None:
            # the time asked for when booking is the one being changed: forget it
            intake = replace(intake, preferred_time=None, preferred_end=None)
        if nlu.entities.part_of_day is None:
            intake = replace(intake, part_of_day=None)
    intake = replace(
        intake,
        staff_key=s.intake.staff_key or ref.staff_key,
        service_key=s.intake.service_key or ref.service_key,
    )
    s = replace(s, flow="reschedule", appointment_id=ref.id, intake=intake)
    return _advance_booking(s, turn, ctx)


# ---- flows: booking, rescheduling, messages ---------------------------------------------------


def _advance(
    s: DialogueState, turn: _Turn, ctx: PolicyContext
) -> tuple[DialogueState, list[Action]]:
    if s.flow in ("booking", "reschedule"):
        return _advance_booking(s, turn, ctx)
    if s.flow == "message":
        return _advance_message(s, turn, ctx)
    turn.say("how_help")
    return turn.result(s)


def _advance_booking(
    s: DialogueState, turn: _Turn, ctx: PolicyContext
) -> tuple[DialogueState, list[Action]]:
    if not ctx.allow_booking:
        turn.say("booking_disabled")
        intake = replace(s.intake, reason=s.intake.reason or "cita / appointment")
        return _advance_message(replace(s, flow="message", intake=intake), turn, ctx)
    if s.chosen is not None and ctx.failed != "slot_taken":
        missing = _missing_for_booking(s, ctx)
        if missing:
            return _ask(s, turn, ctx, missing)
        return _book(s, turn, ctx, s.chosen)
    if ctx.failed == "slot_taken":
        turn.say("slot_taken")
        s = replace(s, chosen=None)

    preferred = _parse(s.intake.preferred_time)
    window_end = _parse(s.intake.preferred_end)
    if preferred is not None and preferred < ctx.now and (window_end or preferred) < ctx.now:
        turn.say("past_date")
        preferred = window_end = None
        s = replace(s, intake=replace(s.intake, preferred_time=None, preferred_end=None))
    query = SlotQuery(
        kind="appointment",
        service_key=s.intake.service_key or ctx.default_service,
        staff_key=s.intake.staff_key,
        preferred=preferred,
        window_end=window_end,
        part_of_day=s.intake.part_of_day,
        exclude_appointment_id=s.appointment_id if s.flow == "reschedule" else None,
    )
    options = _slots(ctx, query)
    current = None
    if s.flow == "reschedule" and s.appointment_id:
        current = _appointment(ctx, s.appointment_id)
    if current is not None:  # moving an appointment to the time it already has is no move
        options = tuple(o for o in options if o.start != current.start)
    if not options:
        turn.say("no_slots")
        intake = replace(s.intake, reason=s.intake.reason or "cita / appointment")
        return turn.result(replace(s.ask("offer_message"), intake=intake))
    limit = 2 if ctx.channel == "voice" else 3
    # the slots come sorted by time: the one the caller asked for may be any of them
    match = None
    if preferred is not None and _has_clock(s.intake):
        match = next((o for o in options if o.start == preferred), None)
    if match is not None:
        options = (match, *(o for o in options if o is not match))
    options = options[:limit]
    exact = match is not None
    offered = tuple(
        OfferedSlot(o.start.isoformat(), o.end.isoformat(), o.staff_key, query.service_key)
        for o in options
    )
    s = replace(s, offered=offered)
    if exact and ctx.channel == "email" and ctx.failed != "slot_taken":
        # one shot: the mail asked for a time that is free, so take it
        s = replace(s, chosen=offered[0])
        missing = _missing_for_booking(s, ctx)
        if missing:
            return _ask(s, turn, ctx, missing)
        return _book(s, turn, ctx, offered[0])
    if preferred is not None and _has_clock(s.intake) and not exact:
        turn.say("preferred_taken")
    staff = {o.staff_key for o in options}
    who = _with_staff(options[0].staff_key, ctx, turn.language) if len(staff) == 1 else ""
    if exact:
        turn.say("offer_one_slot", slot=_when(options[0].start, ctx, turn.language), who=who)
        return turn.result(replace(s.ask("choose_slot"), offered=offered[:1]))
    labels = [
        _when(o.start, ctx, turn.language)
        + ("" if who else _with_staff(o.staff_key, ctx, turn.language))
        for o in options
    ]
    turn.say("offer_slots", slots=texts.join(labels, turn.language), who=who)
    return turn.result(s.ask("choose_slot"))


def _choose_slot(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, nlu: NluResult
) -> tuple[DialogueState, list[Action]] | None:
    offered = s.offered
    if not offered:
        return None
    picked: OfferedSlot | None = None
    index = _ordinal(nlu.text, len(offered))
    if index is not None:
        picked = offered[index]
    elif nlu.entities.when_start is not None:
        picked = _match_time(offered, nlu, ctx)
        if picked is None:  # another time: look again around it
            return _advance_booking(replace(s, pending="", chosen=None), turn, ctx)
    elif nlu.affirm and len(offered) == 1:
        picked = offered[0]
    elif nlu.deny:
        turn.say("other_time")
        intake = replace(s.intake, preferred_time=None, preferred_end=None)
        return turn.result(replace(s, pending="", offered=(), intake=intake))
    elif nlu.intent not in ("other", "appointment_book") and nlu.confidence >= 0.5:
        return None  # something else entirely
    if picked is None:
        labels = [_when(_parse_req(o.start), ctx, turn.language) for o in offered]
        turn.say("which_slot", slots=texts.join(labels, turn.language))
        return turn.result(s.ask("choose_slot"))
    s = replace(s, pending="", chosen=picked)
    missing = _missing_for_booking(s, ctx)
    if missing:
        return _ask(s, turn, ctx, missing)
    return _book(s, turn, ctx, picked)


def _book(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, slot: OfferedSlot
) -> tuple[DialogueState, list[Action]]:
    if ctx.failed == "slot_taken":
        return _advance_booking(replace(s, chosen=None), turn, ctx)
    start, end = _parse_req(slot.start), _parse_req(slot.end)
    who = _with_staff(slot.staff_key, ctx, turn.language)
    when = _when(start, ctx, turn.language)
    if s.flow == "reschedule" and s.appointment_id:
        turn.do(Reschedule(s.appointment_id, start))
        turn.say("rescheduled", slot=when, who=who)
    else:
        service = slot.service_key or s.intake.service_key or ctx.default_service
        turn.do(Book(start, end, slot.staff_key, service, "appointment"))
        what = _service_name(service, ctx, turn.language) or (
            "la cita" if turn.language == "es" else "your appointment"
        )
        turn.say("booked", what=what, slot=when, who=who)
    turn.say("anything_else")
    s = replace(s.ask("anything_else"), flow="", chosen=None, offered=())
    return turn.result(s)


def _advance_message(
    s: DialogueState, turn: _Turn, ctx: PolicyContext
) -> tuple[DialogueState, list[Action]]:
    if s.message_taken and s.pending == "":
        turn.say("anything_else")
        return turn.result(s.ask("anything_else"))
    missing = _missing_for_message(s, ctx)
    if missing:
        if s.intake.staff_key and s.times_asked("name") == 0 and s.times_asked("reason") == 0:
            turn.say("message_for", who=_staff_or_team(s, ctx, turn.language))
        return _ask(s, turn, ctx, missing)
    reason = s.intake.reason or s.intake.intent or "—"
    turn.do(
        TakeMessage(
            recipient_key=s.intake.staff_key,
            reason=reason,
            urgency=s.intake.urgency,
            summary=summary(s.intake, ctx, turn.language),
        )
    )
    who = ctx.staff_names.get(s.intake.staff_key or "")
    if who:
        turn.say("message_taken", who=who)
    else:
        turn.say("message_taken_team")
    turn.say("anything_else")
    return turn.result(replace(s.ask("anything_else"), flow="", message_taken=True))


# ---- asking for what is missing ---------------------------------------------------------------


def _missing_for_booking(s: DialogueState, ctx: PolicyContext) -> list[str]:
    missing = []
    i = s.intake
    if not i.name and not i.name_refused and s.times_asked("name") < MAX_ASKS:
        missing.append("name")
    if not i.phone and not i.email and not i.phone_refused and s.times_asked("phone") < MAX_ASKS:
        missing.append("phone")
    elif _needs_readback(s, ctx):
        missing.append("confirm_phone")
    return missing


def _missing_for_message(s: DialogueState, ctx: PolicyContext) -> list[str]:
    missing = []
    i = s.intake
    if not i.name and not i.name_refused and s.times_asked("name") < MAX_ASKS:
        missing.append("name")
    if not i.phone and not i.phone_refused and s.times_asked("phone") < MAX_ASKS:
        if not (ctx.channel == "email" and i.email):
            missing.append("phone")
    elif _needs_readback(s, ctx):
        missing.append("confirm_phone")
    if not i.reason and s.times_asked("reason") < MAX_ASKS:
        missing.append("reason")
    return missing


def _needs_readback(s: DialogueState, ctx: PolicyContext) -> bool:
    i = s.intake
    return (
        ctx.channel == "voice"
        and bool(i.phone)
        and not i.phone_confirmed
        and s.times_asked("confirm_phone") < MAX_ASKS
    )


def _ask(
    s: DialogueState, turn: _Turn, ctx: PolicyContext, missing: list[str]
) -> tuple[DialogueState, list[Action]]:
    if ctx.channel == "email":
        # one reply listing everything still missing
        labels = [
            texts.say(f"missing_{'phone' if m == 'confirm_phone' else m}", turn.language)
            for m in missing
        ]
        turn.say("email_missing", missing=texts.join_and(labels, turn.language))
        for item in missing:
            s = s.ask(item)  # type: ignore[arg-type]
        return turn.result(replace(s, pending=missing[0]))  # type: ignore[arg-type]
    item = missing[0]
    if item == "name":
        turn.say("ask_name" if s.times_asked("name") == 0 else "ask_name_again")
    elif item == "phone":
        turn.say("ask_phone" if s.times_asked("phone") == 0 else "ask_phone_again")
    elif item == "confirm_phone":
        turn.say("confirm_phone", phone=texts.spoken_phone(s.intake.phone or ""))
    elif item == "reason":
        turn.say("ask_reason")
    return turn.result(s.ask(item))  # type: ignore[arg-type]


# ---- helpers ----------------------------------------------------------------------------------


_SUMMARY_LABELS = {
    "es": {"urgency": "urgencia", "for": "para", "preferred": "prefiere"},
    "en": {"urgency": "urgency", "for": "for", "preferred": "preferred"},
}


def summary(intake: Intake, ctx: PolicyContext, language: str = "en") -> str:
    """One line for staff, in the conversation's language: who, how to reach them, what
    about, how urgent, for whom, when."""
    labels = _SUMMARY_LABELS.get(language, _SUMMARY_LABELS["en"])
    parts = [intake.name or "?"]
    if intake.phone:
        parts.append(intake.phone)
    if intake.email:
        parts.append(intake.email)
    if intake.reason:
        parts.append(intake.reason)
    elif intake.intent:
        parts.append(intake.intent)
    parts.append(f"{labels['urgency']}: {intake.urgency}")
    if intake.staff_key:
        staff = ctx.staff_names.get(intake.staff_key, intake.staff_key)
        parts.append(f"{labels['for']}: {staff}")
    if intake.preferred_time:
        parts.append(f"{labels['preferred']}: {intake.preferred_time}")
    return " · ".join(parts)


def _slots(ctx: PolicyContext, query: SlotQuery) -> tuple[SlotOption, ...]:
    if ctx.slots is None or ctx.slots.query != query:
        raise _NeedSlots(query)
    return ctx.slots.options


_INTRODUCTION_WORDS = frozenset(
    {"soy", "me", "llamo", "mi", "nombre", "es", "de", "parte", "my", "name", "is", "im", "i"}
    | {"am", "this", "its", "it", "s"}
)


def _just_a_name(nlu: NluResult, intake: Intake) -> str | None:
    """The caller's name when the turn says nothing else ("Marta Gómez", "soy Marta")."""
    name = nlu.entities.name or intake.name
    words = _fold(nlu.text).replace("'", " ").replace(",", " ").replace(".", " ").split()
    if not name or not words or len(words) > 6:
        return None
    own = set(_fold(name).split())
    if any(w not in own and w not in _INTRODUCTION_WORDS for w in words):
        return None
    return name


def _with_reason(
    intake: Intake, nlu: NluResult, *, force: bool, ctx: PolicyContext | None = None
) -> Intake:
    """The turn's text as the reason, when it says more than the bare request."""
    if intake.reason:
        return intake
    if force or (_word_count(nlu.text) >= 7 and _says_more(nlu.text, ctx)):
        return replace(intake, reason=_clip(nlu.text))
    return intake


# The words of a bare request for a message or a person, in either language: "Quiero dejar
# un recado para el doctor Ruiz" names who, not what about, so it is no reason to pass on.
_REQUEST_WORDS = frozenset({
    "hola", "buenas", "buenos", "dias", "tardes", "noches", "quiero", "queria", "quisiera",
    "querria", "me", "gustaria", "podria", "puedo", "puede", "dejar", "dejarle", "deje", "dejo",
    "un", "una", "el", "la", "los", "las", "lo", "le", "al", "a", "de", "del", "para", "recado",
    "recadito", "mensaje", "nota", "aviso", "hablar", "con", "doctor", "doctora", "dr", "dra",
    "senor", "senora", "sr", "sra", "don", "dona", "por", "favor", "pasar", "pase", "pasa",
    "pasame", "paseme", "que", "si", "alguien", "persona", "humano", "agente", "i", "id", "i'd",
    "im", "i'm", "would", "like", "want", "wanted", "to", "leave", "an", "the", "message",
    "note", "for", "speak", "talk", "with", "please", "can", "could", "may", "mr", "mrs", "ms",
    "miss", "hello", "hi", "good", "morning", "afternoon", "evening", "person", "someone",
    "somebody", "human", "agent", "real", "put", "through", "get", "pass", "on", "is", "it",
    "possible", "posible", "es",
})  # fmt: skip


def _says_more(text: str, ctx: PolicyContext | None) -> bool:
    names = {
        _fold(word)
        for name in (ctx.staff_names.values() if ctx else ())
        for word in re.findall(r"\w+", name)
    }
    words = [_fold(w) for w in re.findall(r"[\w']+", text.replace("’", "'"))]
    return sum(w not in _REQUEST_WORDS and w not in names for w in words) >= 2


def _clip(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


_REFUSALS = re.compile(
    r"\b(prefiero no|no quiero|no se lo|no te lo|no lo voy|no lo doy|anonimo|rather not|"
    r"prefer not|won'?t say|not telling|no comment|none of your)\b"
)
_NOT_NAMES = {
    "hola", "si", "no", "vale", "ok", "gracias", "buenas", "hello", "hi", "yes", "thanks",
    "perdon", "sorry", "que", "what", "eh", "um",
}  # fmt: skip


def _refuses(nlu: NluResult) -> bool:
    return bool(_REFUSALS.search(_fold(nlu.text))) or (nlu.deny and _word_count(nlu.text) <= 3)


def _bare_name(nlu: NluResult) -> str | None:
    """A reply that is only a name ("Ana Ruiz", "soy ana") to "what is your name?"."""
    words = re.findall(r"[^\W\d_]+(?:[-'][^\W\d_]+)?", nlu.text)
    if not 1 <= len(words) <= 4 or nlu.entities.phone or nlu.entities.email:
        return None
    if any(_fold(w) in _NOT_NAMES for w in words) or nlu.affirm or nlu.deny:
        return None
    lead = {"soy", "me", "llamo", "mi", "nombre", "es", "i'm", "im", "my", "name", "is", "it's"}
    kept = [w for w in words if _fold(w) not in lead]
    if not kept:
        return None
    return " ".join(w[:1].upper() + w[1:] for w in kept)


_ORDINALS = (
    (0, r"\b(primer[oa]?|1|first|1st|the first one|earliest)\b|^\W*(?:uno|una)\W*$"),
    (1, r"\b(segund[oa]|2|dos|second|2nd)\b"),
    (2, r"\b(tercer[oa]?|3|tres|third|3rd)\b"),
    (-1, r"\b(ultim[oa]|last|latest)\b"),
)


def _ordinal(text: str, count: int) -> int | None:
    folded = _fold(text)
    if re.search(r"\d{1,2}[:.h]\d{2}|\blas\b|\bat\b", folded):
        return None  # "a las 5", "at 10:30": a time, read by the date parser
    for index, pattern in _ORDINALS:
        if re.search(pattern, folded):
            resolved = count - 1 if index == -1 else index
            return resolved if resolved < count else None
    return None


def _match_time(
    offered: tuple[OfferedSlot, ...], nlu: NluResult, ctx: PolicyContext
) -> OfferedSlot | None:
    when = nlu.entities.when_start
    if when is None:
        return None
    zone = ZoneInfo(ctx.timezone)
    local = when.astimezone(zone)
    starts = [(slot, _parse_req(slot.start).astimezone(zone)) for slot in offered]
    grain = nlu.entities.when_grain or "hour"
    if grain in ("hour", "minute", "second"):
        same = [s for s, t in starts if (t.hour, t.minute) == (local.hour, local.minute)]
        exact = [s for s, t in starts if t == local]
        if exact:
            return exact[0]
        if len(same) == 1:
            return same[0]
        # "a las cinco" may mean 5 pm: Duckling's alternatives
        if local.hour < 12:
            pm = [s for s, t in starts if (t.hour, t.minute) == (local.hour + 12, local.minute)]
            if len(pm) == 1:
                return pm[0]
        return None
    same_day = [s for s, t in starts if t.date() == local.date()]
    return same_day[0] if len(same_day) == 1 else None


def _pick_appointment(ctx: PolicyContext, nlu: NluResult) -> AppointmentRef:
    when = nlu.entities.when_start
    if when is not None and nlu.detail != "change_appointment":
        zone = ZoneInfo(ctx.timezone)
        for ref in ctx.appointments:
            if ref.start.astimezone(zone).date() == when.astimezone(zone).date():
                return ref
    return ctx.appointments[0]


def _appointment(ctx: PolicyContext, appointment_id: str) -> AppointmentRef | None:
    return next((a for a in ctx.appointments if a.id == appointment_id), None)


def _staff_or_team(s: DialogueState, ctx: PolicyContext, language: str) -> str:
    name = ctx.staff_names.get(s.intake.staff_key or "")
    return name or texts.say("handoff_team", language)


def _with_staff(staff_key: str | None, ctx: PolicyContext, language: str) -> str:
    name = ctx.staff_names.get(staff_key or "")
    return texts.say("with_staff", language, staff=name) if name else ""


def _service_name(key: str | None, ctx: PolicyContext, language: str) -> str | None:
    names = ctx.service_names.get(key or "")
    if not names:
        return None
    return names.get(language) or next(iter(names.values()), None)


def _when(moment: datetime | None, ctx: PolicyContext, language: str) -> str:
    if moment is None:
        return "—"
    return texts.when(moment.astimezone(ZoneInfo(ctx.timezone)), language)


def _has_clock(intake: Intake) -> bool:
    preferred = _parse(intake.preferred_time)
    end = _parse(intake.preferred_end)
    if preferred is None:
        return False
    return end is None or end - preferred < timedelta(hours=2)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _parse_req(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _first_name(name: str) -> str:
    words = name.split()
    titles = {"dr", "dr.", "dra", "dra.", "mr", "mrs", "ms", "sr", "sra", "sr.", "sra."}
    bare = [w for w in words if w.lower() not in titles]
    return (bare or words)[0]
