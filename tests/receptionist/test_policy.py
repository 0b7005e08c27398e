"""The pure dialogue policy, turn by turn, with hand-made NLU results."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from centralita.receptionist.dialogue import actions as act
from centralita.receptionist.dialogue.policy import (
    AppointmentRef,
    PolicyContext,
    SlotAnswer,
    SlotOption,
    decide,
)
from centralita.receptionist.dialogue.state import DialogueState
from centralita.receptionist.nlu.result import FINE_TO_INTENT, NluEntities, NluResult

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=MADRID)  # a Monday, open


def nlu(text: str, detail: str = "other", *, lang: str = "es", **kw: Any) -> NluResult:
    flags = {k: kw.pop(k) for k in ("wants_human", "affirm", "deny") if k in kw}
    urgency = kw.pop("urgency", "normal")
    sentiment = kw.pop("sentiment", 0.0)
    return NluResult(
        text=text,
        language=lang,  # type: ignore[arg-type]
        intent=FINE_TO_INTENT[detail],
        detail=detail,
        confidence=0.9 if detail != "other" else 0.2,
        urgency=urgency,
        spam=False,
        spam_score=0.0,
        sentiment=sentiment,
        entities=NluEntities(**kw),
        **flags,
    )


def ctx(**kw: Any) -> PolicyContext:
    base = PolicyContext(
        now=NOW,
        timezone="Europe/Madrid",
        tenant_name="Clínica Sonrisa",
        greeting={"es": "Gracias por llamar a Clínica Sonrisa.", "en": "Thanks for calling."},
        staff_names={"garcia": "Dra. García", "lopez": "Carmen López"},
        service_names={"limpieza": {"es": "Limpieza dental", "en": "Dental cleaning"}},
        default_service="limpieza",
        default_queue="recepcion",
        emergency_queue="urgencias",
    )
    return replace(base, **kw)


SLOTS = (
    SlotOption(
        NOW + timedelta(days=1, hours=7), NOW + timedelta(days=1, hours=7, minutes=45), "garcia"
    ),
    SlotOption(NOW + timedelta(days=2), NOW + timedelta(days=2, minutes=45), "garcia"),
    SlotOption(NOW + timedelta(days=3), NOW + timedelta(days=3, minutes=45), "garcia"),
)  # fmt: skip


def run(state: DialogueState, turn: NluResult, context: PolicyContext, slots=SLOTS):  # type: ignore[no-untyped-def]
    """decide(), answering a NeedSlots the way the runtime does."""
    new_state, actions = decide(state, turn, context)
    if actions and isinstance(actions[0], act.NeedSlots):
        assert new_state == state  # asking for data changes nothing
        context = replace(context, slots=SlotAnswer(actions[0].query, slots))
        new_state, actions = decide(state, turn, context)
    return new_state, actions


def reply(actions: list[act.Action]) -> str:
    texts = [a.text for a in actions if isinstance(a, act.Reply)]
    assert len(texts) == 1, actions
    return texts[0]


def test_a_bare_hello_gets_the_business_greeting() -> None:
    state, actions = run(DialogueState(), nlu("hola"), ctx())
    assert reply(actions).startswith("Gracias por llamar a Clínica Sonrisa.")
    assert state.turns == 1 and state.language == "es"


def test_a_known_contact_is_greeted_by_name_and_a_closed_business_says_so() -> None:
    opens = datetime(2026, 11, 24, 9, 0, tzinfo=MADRID)
    _, actions = run(
        DialogueState(),
        nlu("hello", lang="en"),
        ctx(contact_name="Ana Ruiz", is_open=False, next_open=opens),
    )
    text = reply(actions)
    assert text.startswith("Hello, Ana.")
    assert "closed right now" in text and "Tuesday 24 November at 9:00" in text


def test_booking_with_clarification_and_name_then_book() -> None:
    c = ctx(contact_phone="+34612345678")
    state, actions = run(DialogueState(), nlu("quiero cita", "book_appointment"), c)
    text = reply(actions)
    assert "martes 24 de noviembre a las 17:00" in text and "con Dra. García" in text
    assert state.pending == "choose_slot" and len(state.offered) == 3

    state, actions = run(state, nlu("la segunda"), c)
    assert state.pending == "name" and "nombre" in reply(actions)
    assert not any(isinstance(a, act.Book) for a in actions)

    state, actions = run(state, nlu("Lucía Pérez"), c)
    book = next(a for a in actions if isinstance(a, act.Book))
    assert book.start == SLOTS[1].start and book.staff_key == "garcia"
    assert book.service_key == "limpieza"
    assert "Limpieza dental" in reply(actions)
    assert state.intake.name == "Lucía Pérez" and state.intake.phone == "+34612345678"


def test_a_requested_time_that_is_free_is_offered_alone() -> None:
    wanted = SLOTS[0].start
    turn = nlu("cita mañana a las 17", "book_appointment", when_start=wanted, when_grain="hour")
    c = ctx(contact_name="Ana", contact_phone="+34612345678")
    state, actions = run(DialogueState(), turn, c, slots=SLOTS)
    assert "¿Se lo reservo?" in reply(actions)
    state, actions = run(state, nlu("sí", affirm=True), c)
    assert any(isinstance(a, act.Book) and a.start == wanted for a in actions)


def test_a_date_in_the_past_is_refused_politely() -> None:
    past = NOW - timedelta(days=2)
    turn = nlu("cita el sábado pasado", "book_appointment", when_start=past, when_grain="day")
    _, actions = run(DialogueState(), turn, ctx())
    assert "ya ha pasado" in reply(actions)


def test_no_free_slots_offers_a_message_instead_of_inventing() -> None:
    _, actions = run(DialogueState(), nlu("quiero cita", "book_appointment"), ctx(), slots=())
    assert "no encuentro huecos" in reply(actions)


def test_slot_taken_in_a_race_proposes_again() -> None:
    c = ctx(contact_name="Ana", contact_phone="+34612345678")
    state, _ = run(DialogueState(), nlu("quiero cita", "book_appointment"), c)
    _, actions = run(state, nlu("la primera"), replace(c, failed="slot_taken"))
    assert "se acaba de ocupar" in reply(actions)
    assert not any(isinstance(a, act.Book) for a in actions)


def test_a_human_is_reached_within_one_turn_mid_booking() -> None:
    c = ctx()
    state, _ = run(DialogueState(), nlu("quiero cita", "book_appointment"), c)
    state, actions = run(state, nlu("quiero hablar con una persona", wants_human=True), c)
    assert any(isinstance(a, act.Handoff) for a in actions)
    assert state.handed_off


def test_a_human_after_hours_becomes_a_message_with_the_intake() -> None:
    c = ctx(is_open=False, contact_phone="+34612345678")
    state, actions = run(DialogueState(), nlu("agent please", lang="en", wants_human=True), c)
    assert "Nobody is available right now" in reply(actions)
    assert state.flow == "message" and state.pending == "name"
    state, actions = run(state, nlu("John Smith", lang="en"), c)
    assert state.pending == "reason"
    state, actions = run(state, nlu("about my bill from October", lang="en"), c)
    msg = next(a for a in actions if isinstance(a, act.TakeMessage))
    assert msg.reason == "about my bill from October"
    assert "John Smith" in msg.summary and "+34612345678" in msg.summary


def test_message_for_a_named_person_reads_back_a_dictated_number_on_voice() -> None:
    c = ctx(channel="voice")
    turn = nlu(
        "quería dejarle un recado a la doctora García sobre mis análisis",
        "leave_message",
        staff_key="garcia",
        staff="Dra. García",
    )
    state, actions = run(DialogueState(), turn, c)
    assert "Dra. García" in reply(actions) and state.pending == "name"
    state, _ = run(state, nlu("me llamo Pedro Gil", name="Pedro Gil"), c)
    assert state.pending == "phone"
    state, actions = run(state, nlu("el 612 34 56 78", phone="+34612345678"), c)
    assert state.pending == "confirm_phone" and "612 34 56 78" in reply(actions)
    state, actions = run(state, nlu("sí", affirm=True), c)
    msg = next(a for a in actions if isinstance(a, act.TakeMessage))
    assert msg.recipient_key == "garcia"
    assert "análisis" in msg.reason


def test_emergency_after_hours_follows_the_tenant_rule_and_notifies() -> None:
    c = ctx(
        is_open=False,
        on_call_phone="+34600000101",
        has_emergency_contacts=True,
        emergency_message={"es": "Acuda a urgencias o llame al 112."},
        contact_phone="+34612345678",
        contact_name="Ana",
    )
    turn = nlu("me sangra mucho la encía y no para", urgency="emergency")
    state, actions = run(DialogueState(), turn, c)
    text = reply(actions)
    assert "112" in text and "600 00 01 01" in text
    assert any(isinstance(a, act.NotifyEmergency) for a in actions)
    assert state.intake.urgency == "emergency"
    # the urgent message is taken with what we know (name and caller id)
    assert any(isinstance(a, act.TakeMessage) and a.urgency == "emergency" for a in actions)


def test_emergency_during_hours_goes_to_the_emergency_queue() -> None:
    _, actions = run(DialogueState(), nlu("es una urgencia", urgency="emergency"), ctx())
    handoff = next(a for a in actions if isinstance(a, act.Handoff))
    assert handoff.queue_key == "urgencias" and handoff.urgency == "emergency"


def test_spam_is_closed_politely_and_nobody_is_told() -> None:
    state, actions = run(DialogueState(), nlu("oferta de luz"), ctx(spam=True, spam_reason="m"))
    assert "no estamos interesados" in reply(actions)
    assert any(isinstance(a, act.MarkSpam) for a in actions)
    assert not any(isinstance(a, act.TakeMessage | act.Handoff) for a in actions)
    # a second spam turn stays silent, and closes the conversation it may have reopened
    _, actions = run(state, nlu("pero escuche"), ctx(spam=True))
    assert actions == [act.Close("spam")]


def test_faq_answer_in_the_business_words_or_i_dont_know() -> None:
    answer = "Estamos en la calle de Alcalá 214."
    _, actions = run(
        DialogueState(), nlu("¿dónde estáis?", "information_address"), ctx(faq_answer=answer)
    )
    assert answer in reply(actions)
    state, actions = run(DialogueState(), nlu("¿hacéis carillas?", "information_services"), ctx())
    assert "no quiero darle un dato equivocado" in reply(actions)
    assert state.pending == "offer_message" and state.intake.reason == "¿hacéis carillas?"


def test_cancel_asks_for_confirmation_then_cancels() -> None:
    ref = AppointmentRef("apt_1", NOW + timedelta(days=2), "garcia", "limpieza")
    c = ctx(appointments=(ref,))
    state, actions = run(DialogueState(), nlu("quiero anular mi cita", "cancel_appointment"), c)
    assert "¿Confirma que quiere anularla?" in reply(actions)
    state, actions = run(state, nlu("sí", affirm=True), c)
    assert act.CancelAppointment("apt_1") in actions


def test_reschedule_proposes_new_times_and_moves_the_appointment() -> None:
    ref = AppointmentRef("apt_1", NOW + timedelta(days=5), "garcia", "limpieza")
    c = ctx(appointments=(ref,), contact_name="Ana", contact_phone="+34612345678")
    state, actions = decide(DialogueState(), nlu("cambiar la cita", "change_appointment"), c)
    need = actions[0]
    assert isinstance(need, act.NeedSlots) and need.query.exclude_appointment_id == "apt_1"
    state, actions = run(DialogueState(), nlu("cambiar la cita", "change_appointment"), c)
    state, actions = run(state, nlu("la primera"), c)
    assert act.Reschedule("apt_1", SLOTS[0].start) in actions


def test_sustained_negative_sentiment_raises_urgency_and_offers_a_human() -> None:
    c = ctx()
    state, _ = run(DialogueState(), nlu("esto es un desastre", sentiment=-0.8), c)
    state, actions = run(state, nlu("fatal, horrible", sentiment=-0.9), c)
    assert "¿Prefiere que le pase con una persona?" in reply(actions)
    assert state.intake.urgency == "high"
    state, actions = run(state, nlu("sí", affirm=True), c)
    assert any(isinstance(a, act.Handoff) for a in actions)


def test_email_is_one_shot_books_a_free_requested_time_at_once() -> None:
    wanted = SLOTS[0].start
    c = ctx(channel="email", contact_email="ana@example.com")
    turn = nlu(
        "Hola, soy Ana Ruiz, quiero una limpieza mañana a las 17:00. Gracias",
        "book_appointment",
        name="Ana Ruiz",
        when_start=wanted,
        when_grain="minute",
    )
    _, actions = run(DialogueState(), turn, c)
    assert any(isinstance(a, act.Book) and a.start == wanted for a in actions)


def test_email_asks_for_everything_missing_in_one_reply() -> None:
    c = ctx(channel="email", contact_email="x@example.com")
    _, actions = run(DialogueState(), nlu("dejo recado", "leave_message"), c)
    text = reply(actions)
    assert "su nombre" in text and "el motivo" in text


def test_caller_who_refuses_a_name_still_gets_served() -> None:
    c = ctx(contact_phone="+34612345678")
    state, _ = run(DialogueState(), nlu("quiero dejar un recado", "leave_message"), c)
    state, actions = run(state, nlu("prefiero no decirlo"), c)
    assert state.intake.name_refused and state.pending == "reason"
    state, actions = run(state, nlu("que me llamen por lo del presupuesto"), c)
    assert any(isinstance(a, act.TakeMessage) for a in actions)


def test_a_name_given_when_the_reason_was_asked_is_no_reason() -> None:
    """WhatsApp gave the name already; the caller repeats it when asked what it is about."""
    c = ctx(contact_phone="+34612345678", contact_name="Marta Gómez")
    state, actions = run(DialogueState(), nlu("quiero dejar un recado", "leave_message"), c)
    assert state.pending == "reason"
    state, actions = run(state, nlu("Marta Gómez"), c)
    assert state.pending == "reason" and state.intake.reason is None
    assert not any(isinstance(a, act.TakeMessage) for a in actions)
    state, actions = run(state, nlu("soy Marta Gómez", name="Marta Gómez"), c)
    # asked twice: the message goes without a reason rather than a third time
    take = next(a for a in actions if isinstance(a, act.TakeMessage))
    assert "Marta" not in take.reason and state.intake.reason is None


def test_empty_and_gibberish_turns_keep_what_was_captured() -> None:
    c = ctx(contact_phone="+34612345678")
    state, _ = run(DialogueState(), nlu("me llamo Ana", name="Ana"), c)
    state, actions = run(state, nlu(""), c)
    assert "No he recibido ningún texto" in reply(actions)
    state, actions = run(state, nlu("asdkjh qwe zzz"), c)
    assert state.intake.name == "Ana" and state.intake.phone == "+34612345678"
    assert reply(actions)


def test_state_round_trips_through_json() -> None:
    import json

    c = ctx()
    state, _ = run(DialogueState(), nlu("quiero cita", "book_appointment"), c)
    again = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state


def test_the_staff_summary_speaks_the_conversations_language() -> None:
    from centralita.receptionist.dialogue.policy import summary
    from centralita.receptionist.dialogue.state import Intake

    intake = Intake(name="Ana", phone="+34612345678", reason="resultados", staff_key="garcia")
    assert summary(intake, ctx(), "es") == (
        "Ana · +34612345678 · resultados · urgencia: normal · para: Dra. García"
    )
    assert "urgency: normal · for: Dra. García" in summary(intake, ctx(), "en")
