"""The offline NLU engine end to end: redaction first, then intent, entities and cues."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.receptionist.nlu.intents import (
    TEST_FILE,
    IntentResult,
    flatten,
    load_examples,
)
from centralita.receptionist.nlu.language import Language
from centralita.receptionist.nlu.pipeline import (
    MAX_ANALYSED_CHARS,
    OfflineNlu,
    default_engine,
    resolve_intent,
)
from centralita.receptionist.nlu.result import (
    FINE_TO_INTENT,
    INTENTS,
    URGENCIES,
    DirectoryEntry,
    NluContext,
    NluEngine,
    NluResult,
    ServiceEntry,
    SpamExample,
)

MADRID = "Europe/Madrid"
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo(MADRID))
DIRECTORY = (
    DirectoryEntry(
        "garcia",
        "Dra. Lucía García Martín",
        ("la doctora García", "doctora García", "Dra. García"),
        "Odontóloga general y directora médica",
    ),
    DirectoryEntry(
        "ruiz", "Dr. Javier Ruiz Ortega", ("el doctor Ruiz", "Dr. Ruiz"), "Implantólogo"
    ),
    DirectoryEntry("sanz", "Paula Sanz Romero", ("Paula", "Paula Sanz"), "Higienista dental"),
    DirectoryEntry("lopez", "Carmen López Díaz", ("Carmen",), "Coordinadora de pacientes"),
)
SERVICES = (
    ServiceEntry("limpieza", ("Limpieza dental", "Dental cleaning")),
    ServiceEntry("implante", ("Implante dental", "Dental implant")),
    ServiceEntry("ortodoncia-invisible", ("Ortodoncia invisible", "Clear aligners")),
    ServiceEntry("ortodoncia-brackets", ("Ortodoncia con brackets", "Braces")),
    ServiceEntry("extraccion", ("Extracción", "Tooth extraction")),
)
CONTEXT = NluContext(
    now=FRIDAY,
    timezone=MADRID,
    country="ES",
    directory=DIRECTORY,
    services=SERVICES,
)


@pytest.fixture(scope="module")
def engine() -> OfflineNlu:
    return default_engine()


def analyse(engine: OfflineNlu, text: str, **changes: object) -> NluResult:
    from dataclasses import replace

    return engine.analyse(text, replace(CONTEXT, **changes))  # type: ignore[arg-type]


def test_is_an_engine_and_shared() -> None:
    engine: NluEngine = default_engine()
    assert default_engine() is engine


CARDS = [
    "mi tarjeta es 4111 1111 1111 1111 y el cvv 123",
    "4111-1111-1111-1111",
    "pago con la 4111111111111111 caduca 04/28 código 321",
    "cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno",
    "my card number is 5555 5555 5555 4444, security code 1234",
    "4111 1111, 1111 1111",
]


@pytest.mark.parametrize("text", CARDS)
def test_card_numbers_never_reach_the_result(engine: OfflineNlu, text: str) -> None:
    result = analyse(engine, text)
    for secret in ("4111", "1111", "5555", "4444", "123", "321", "1234", "cuatro uno uno"):
        assert secret not in result.text
    assert "[card]" in result.text
    assert result.redactions >= 1
    assert secret_free(json.dumps(result.public()))


def secret_free(serialised: str) -> bool:
    return "4111" not in serialised and "5555" not in serialised


def test_card_beyond_the_analysed_part_is_redacted_too(engine: OfflineNlu) -> None:
    text = "hola " * 2000 + "4111 1111 1111 1111"
    result = analyse(engine, text)
    assert result.text.endswith("[card]")
    assert "4111" not in result.text


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\n\t", "🙂", "👍👍", "🙂🙂🙂 😡", "...", "???", "12345"],
)
def test_no_words(engine: OfflineNlu, text: str) -> None:
    result = analyse(engine, text)
    assert result.intent == "other"
    assert result.confidence == 0.0
    assert not result.spam
    assert result.text == text


@pytest.mark.parametrize("text", ["asdkjh qwe zzz", "xkcd plorf", "qqqq wwww", "zxcvbnm"])
def test_gibberish_is_other_with_low_confidence(engine: OfflineNlu, text: str) -> None:
    result = analyse(engine, text)
    assert result.intent == "other"
    assert result.confidence <= 0.2


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_240,
        "hola " * 2048,
        "quiero pedir cita " * 600,
        "4" * 10_240,
        "🙂" * 5000,
        ("¿" * 3000) + "hola",
        "\x00\x01\x02 hola \ufffd",
        "a" + "\u0301" * 5000,
    ],
)
def test_odd_and_large_input_does_not_raise(engine: OfflineNlu, text: str) -> None:
    result = analyse(engine, text)
    assert result.intent in INTENTS
    assert result.urgency in URGENCIES
    assert 0.0 <= result.confidence <= 1.0
    assert -1.0 <= result.sentiment <= 1.0
    assert len(result.text) >= min(len(text), MAX_ANALYSED_CHARS) // 2


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hola, quería pedir cita para una limpieza la semana que viene", "es"),
        ("Hi, I'd like to book a cleaning for next week please", "en"),
        ("Hello, quería pedir cita para el martes", "es"),  # mixed: mostly Spanish
        ("Hola! I need to book an appointment for my son next Tuesday", "en"),
    ],
)
def test_language(engine: OfflineNlu, text: str, language: Language) -> None:
    result = analyse(engine, text)
    assert result.language == language
    assert result.intent == "appointment_book"


def test_short_reply_follows_the_conversation(engine: OfflineNlu) -> None:
    assert analyse(engine, "ok", history_languages=("en", "en")).language == "en"
    assert analyse(engine, "ok", history_languages=("es",)).language == "es"
    assert analyse(engine, "ok", default_language="en").language == "en"


def test_forced_language(engine: OfflineNlu) -> None:
    assert analyse(engine, "Quiero pedir cita", language="en").language == "en"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Hola, quiero pedir cita para una limpieza", "appointment_book"),
        ("quiero cambiar mi cita del lunes al miércoles", "appointment_change"),
        ("Necesito cancelar la cita de mañana", "appointment_change"),
        ("I need to reschedule my appointment", "appointment_change"),
        ("can I move my Monday slot to Wednesday", "appointment_change"),
        ("Quiero dejar un mensaje para la doctora García", "message_for_staff"),
        ("agent please", "message_for_staff"),
        ("¿A qué hora abrís el sábado?", "info"),
        ("Do you accept Bupa?", "info"),
        ("Quiero poner una queja por el trato recibido", "complaint"),
        ("Me habéis cobrado dos veces la misma visita", "billing"),
        ("Le llamo de Iberdrola para ofrecerle una tarifa de luz más barata", "sales_spam"),
        ("We can get your website to the top of Google", "sales_spam"),
        ("hola", "other"),
    ],
)
def test_intents(engine: OfflineNlu, text: str, intent: str) -> None:
    result = analyse(engine, text)
    assert result.intent == intent, (result.detail, result.confidence)
    assert FINE_TO_INTENT[result.detail] == result.intent
    assert result.spam is (intent == "sales_spam")


def test_complaint_about_a_cancellation_is_a_complaint(engine: OfflineNlu) -> None:
    result = analyse(engine, "Me cancelaron la cita sin avisar, es una vergüenza")
    assert result.intent == "complaint"
    assert result.sentiment < -0.3


def test_spam_feedback_in_the_context(engine: OfflineNlu) -> None:
    text = "Hola, soy Pedro de Dentalia, os llamo por el pedido de guantes de este mes"
    assert not analyse(engine, text).spam
    marked = (
        SpamExample("Buenas, soy Pedro de Dentalia, os llamo por el pedido de guantes", True),
    )
    result = analyse(engine, text, spam_feedback=marked)
    assert result.spam
    assert result.intent == "sales_spam"
    assert result.urgency == "low"


def test_entities(engine: OfflineNlu) -> None:
    result = analyse(
        engine,
        "Hola, me llamo Ana López. Quiero cambiar la limpieza con Paula al jueves a las 10, "
        "mi móvil es 612 345 678 y mi correo ana.lopez@example.com",
    )
    e = result.entities
    assert e.name == "Ana López"
    assert e.phone == "+34612345678"
    assert e.email == "ana.lopez@example.com"
    assert e.datetime == "2026-11-26T10:00:00+01:00"
    assert e.when_start == datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(MADRID))
    assert e.when_grain == "hour"
    assert e.staff == "Paula Sanz Romero"
    assert e.staff_key == "sanz"
    assert e.service_key == "limpieza"
    assert result.intent == "appointment_change"
    assert result.public()["entities"] == {
        "name": "Ana López",
        "phone": "+34612345678",
        "email": "ana.lopez@example.com",
        "datetime": "2026-11-26T10:00:00+01:00",
        "staff": "Paula Sanz Romero",
    }


@pytest.mark.parametrize(
    ("text", "staff_key"),
    [
        ("quiero cita con la higienista", "sanz"),
        ("¿Está la doctora García?", "garcia"),
        ("I need to talk to the implantólogo", "ruiz"),
        ("pásame con la coordinadora", "lopez"),
        ("soy Marta Ruiz y quiero cita con Paula", "sanz"),  # the caller's surname is not staff
        ("quiero cita", None),
    ],
)
def test_staff(engine: OfflineNlu, text: str, staff_key: str | None) -> None:
    assert analyse(engine, text).entities.staff_key == staff_key


@pytest.mark.parametrize(
    ("text", "service_key"),
    [
        ("¿Cuánto cuesta una limpieza dental?", "limpieza"),
        ("quiero hacerme una limpieza", "limpieza"),
        ("How much are clear aligners?", "ortodoncia-invisible"),
        ("¿hacéis implantes?", "implante"),
        ("cuánto cuesta una extraccion", "extraccion"),
        ("do you do braces", "ortodoncia-brackets"),
        ("¿cuánto cuesta la ortodoncia?", None),  # two services: do not guess
        ("¿a qué hora abrís?", None),
    ],
)
def test_services(engine: OfflineNlu, text: str, service_key: str | None) -> None:
    assert analyse(engine, text).entities.service_key == service_key


def test_part_of_day_and_interval(engine: OfflineNlu) -> None:
    result = analyse(engine, "¿Tenéis hueco el martes por la tarde?")
    e = result.entities
    assert e.part_of_day == "afternoon"
    assert e.when_start is not None and e.when_start.date().isoformat() == "2026-11-24"


def test_cues_and_urgency(engine: OfflineNlu) -> None:
    assert analyse(engine, "quiero hablar con una persona").wants_human
    assert analyse(engine, "sí, perfecto").affirm
    assert analyse(engine, "no, ninguna me viene bien").deny
    emergency = analyse(engine, "me sangra mucho la boca y tengo la cara hinchada")
    assert emergency.urgency == "emergency"
    assert analyse(engine, "¿A qué hora abrís?").urgency == "low"


def test_public_json_form(engine: OfflineNlu) -> None:
    data = analyse(engine, "Quiero pedir cita").public()
    assert set(data) == {
        "text",
        "language",
        "intent",
        "detail",
        "confidence",
        "urgency",
        "spam",
        "spam_score",
        "sentiment",
        "wants_human",
        "entities",
    }
    json.dumps(data)


class _FixedClassifier:
    """A classifier that is not embedding-based: the engine must call ``classify``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def classify(self, text: str, *, language: Language) -> IntentResult:
        self.calls.append(text)
        return IntentResult("billing", 0.9, (("billing", 0.9), ("sales_spam", 0.1)))


def test_any_classifier_can_be_plugged_in() -> None:
    classifier = _FixedClassifier()
    engine = OfflineNlu(classifier=classifier)
    result = engine.analyse("mi tarjeta 4111 1111 1111 1111", CONTEXT)
    assert classifier.calls == ["mi tarjeta [card]"]  # the classifier sees redacted text only
    assert result.intent == "billing"
    assert not result.spam


def _result(intent: str, confidence: float = 0.5) -> IntentResult:
    return IntentResult(intent, confidence, ((intent, confidence), ("other", 1 - confidence)))


@pytest.mark.parametrize(
    ("text", "classified", "spam", "expected"),
    [
        ("quiero anular la cita", "book_appointment", False, "appointment_change"),
        ("can you cancel my booking", "other", False, "appointment_change"),
        ("me cancelasteis la cita sin avisar", "complaint", False, "complaint"),
        (
            "you cancelled my appointment without telling me",
            "book_appointment",
            False,
            "appointment_book",
        ),
        ("¿cuál es la política de cancelación?", "information_prices", False, "info"),
        ("quiero pedir cita", "change_appointment", False, "appointment_book"),
        ("quiero cambiar mi cita", "change_appointment", False, "appointment_change"),
        ("lo que sea", "sales_spam", True, "sales_spam"),
        ("lo que sea", "book_appointment", True, "sales_spam"),
    ],
)
def test_resolve_intent(text: str, classified: str, spam: bool, expected: str) -> None:
    intent, detail, confidence = resolve_intent(
        text, _result(classified), spam=spam, spam_score=0.9 if spam else 0.0, wants_person=False
    )
    assert intent == expected
    assert FINE_TO_INTENT[detail] == intent
    assert 0.0 <= confidence <= 1.0


def test_classifier_spam_guess_is_overruled_by_the_scorer() -> None:
    result = IntentResult(
        "sales_spam", 0.6, (("sales_spam", 0.6), ("billing", 0.3), ("other", 0.1))
    )
    assert resolve_intent(
        "la minuta es más alta de lo acordado",
        result,
        spam=False,
        spam_score=0.3,
        wants_person=False,
    ) == ("billing", "billing", 0.3)


# Measured 2026-11-22 through the whole pipeline (docs/nlu.md): es 0.944, en 0.952
# (0.833 / 0.913 before the second to fourth training batches and the lexical fusion).
HELD_OUT_FLOOR: dict[Language, float] = {"es": 0.90, "en": 0.91}


@pytest.mark.parametrize("language", ["es", "en"])
def test_held_out_public_intent_accuracy(engine: OfflineNlu, language: Language) -> None:
    texts, intents, languages = flatten(load_examples(TEST_FILE))
    rows = [
        (t, FINE_TO_INTENT[i])
        for t, i, lang in zip(texts, intents, languages, strict=True)
        if lang == language
    ]
    wrong = [(t, want, got) for t, want in rows if (got := analyse(engine, t).intent) != want]
    assert 1 - len(wrong) / len(rows) >= HELD_OUT_FLOOR[language], wrong
