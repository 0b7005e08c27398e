"""The LLM NLU backend against a local server speaking the chat-completions wire format."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from centralita.config import Settings
from centralita.receptionist.nlu.engines import build_engine
from centralita.receptionist.nlu.entities import extract_entities
from centralita.receptionist.nlu.language import detect_language
from centralita.receptionist.nlu.llm import LlmNlu, redact_personal_data
from centralita.receptionist.nlu.pipeline import default_engine
from centralita.receptionist.nlu.result import (
    DirectoryEntry,
    NluContext,
    NluEntities,
    NluResult,
    ServiceEntry,
    SpamExample,
)
from tests.receptionist.fake_llm import FakeLlm, running_fake_llm

CONTEXT = NluContext(
    now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    timezone="Europe/Madrid",
    country="ES",
    directory=(
        DirectoryEntry("marta", "Dra. Marta Ruiz", ("la doctora Ruiz",), "Odontóloga"),
        DirectoryEntry("pablo", "Pablo Soto", (), "Recepción"),
    ),
    services=(
        ServiceEntry("cleaning", ("Limpieza dental", "Dental cleaning")),
        ServiceEntry("implant", ("Implante", "Implant")),
    ),
    spam_feedback=(SpamExample("Le llamo de Energías Baratas SL", True),),
)
CALLER_TURN = (
    "Hola, me llamo Lucía Ferrándiz. Mi móvil es 612 345 678 y mi correo "
    "lucia.ferrandiz@example.com; también +34 699 88 77 66. Pago con la tarjeta "
    "4111 1111 1111 1111, código 321. Quiero cita con la doctora el martes."
)


class LocalNlu:
    """A small offline engine: entities from ``nlu.entities``, everything else neutral.

    Stands in for the offline pipeline so these tests see exactly what the LLM changed.
    """

    def __init__(self) -> None:
        self.texts: list[str] = []

    def analyse(self, text: str, context: NluContext) -> NluResult:
        self.texts.append(text)
        language = detect_language(text, default=context.default_language).language
        found = extract_entities(
            text,
            language=language,
            default_region=context.country,
            now=context.now,
            timezone=context.timezone,
        )
        return NluResult(
            text=text,
            language=language,
            intent="other",
            detail="other",
            confidence=0.3,
            urgency="normal",
            spam=False,
            spam_score=0.2,
            sentiment=0.1,
            entities=NluEntities(
                name=found.person_name,
                phone=found.phones[0] if found.phones else None,
                email=found.emails[0] if found.emails else None,
            ),
        )


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


def engine(fake: FakeLlm, *, api_key: str | None = "sk-test-123", timeout: float = 5.0) -> LlmNlu:
    return LlmNlu(fake.base_url, "qwen2.5:7b-instruct", api_key, timeout, fallback=LocalNlu())


def test_the_request_carries_model_tools_and_the_key(fake_llm: FakeLlm) -> None:
    result = engine(fake_llm).analyse("Quería información sobre el implante", CONTEXT)
    assert result.engine == "llm"
    [request] = fake_llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["model"] == "qwen2.5:7b-instruct"
    assert body["tool_choice"] in ("auto", "required")
    assert [t["type"] for t in body["tools"]] == ["function"] * 4
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}
    assert set(tools) == {"classify_turn", "book_appointment", "take_message", "handoff"}
    assert set(tools["book_appointment"]["properties"]) == {"service", "staff", "when_text"}
    assert set(tools["take_message"]["properties"]) == {"recipient", "reason", "urgency"}
    assert "appointment_book" in tools["classify_turn"]["properties"]["intent"]["enum"]
    assert tools["classify_turn"]["properties"]["urgency"]["enum"] == [
        "low",
        "normal",
        "high",
        "emergency",
    ]
    system, user = body["messages"]
    assert (system["role"], user["role"]) == ("system", "user")
    assert user["content"] == "Quería información sobre el implante"
    for name in ("Dra. Marta Ruiz", "Pablo Soto", "Limpieza dental", "Implant", "sales_spam"):
        assert name in system["content"]
    # Other callers' texts (agents' spam examples) stay home.
    assert b"Energ" not in request.body


def test_no_key_no_authorization_header(fake_llm: FakeLlm) -> None:
    engine(fake_llm, api_key=None).analyse("hola", CONTEXT)
    assert "authorization" not in fake_llm.requests[0].headers


def test_personal_data_never_leaves(fake_llm: FakeLlm) -> None:
    result = engine(fake_llm).analyse(CALLER_TURN, CONTEXT)
    assert result.engine == "llm"
    raw = fake_llm.requests[0].body
    sent = json.loads(raw)["messages"][1]["content"]
    for secret in (
        "612 345 678",
        "612345678",
        "699 88 77 66",
        "699887766",
        "lucia.ferrandiz",
        "example.com",
        "4111",
        "321",
        "Lucía",
        "Ferrándiz",
        "Ferr",
        "Luc",
    ):
        for form in (secret, json.dumps(secret)[1:-1]):  # as typed and JSON-escaped
            assert form.encode() not in raw, secret
    assert sent == (
        "Hola, me llamo [name_1]. Mi móvil es [phone_1] y mi correo [email_1]; también "
        "[phone_2]. Pago con la tarjeta [card], código [code]. Quiero cita con la doctora el "
        "martes."
    )


def test_redaction_numbers_each_phone_and_email_once() -> None:
    redacted = redact_personal_data(
        "Soy Ana Gil. Llamad al 600 111 222 o al 600111222, o a +44 20 7946 0958. "
        "ANA@example.com y ana@example.com. Pedido 12345678901. Gil, ana gil.",
        language="es",
        country="ES",
    )
    assert redacted.text == (
        "Soy [name_1]. Llamad al [phone_1] o al [phone_1], o a [phone_2]. [email_1] y "
        "[email_1]. Pedido [number_1]. [name_1], [name_1]."
    )
    assert redacted.cards == 0


def test_a_name_is_found_whatever_the_language() -> None:
    redacted = redact_personal_data(
        "My name is Oscar Wilde, te llamo por la cita", language="es", country="ES"
    )
    assert redacted.text == "My name is [name_1], te llamo por la cita"


def test_entities_come_from_the_local_engine(fake_llm: FakeLlm) -> None:
    fake_llm.answer_with_tools(
        ("classify_turn", {"intent": "appointment_book", "caller_name": "Mallory"}),
        ("book_appointment", {"staff": "la doctora Ruiz", "service": "limpieza DENTAL"}),
    )
    local = LocalNlu()
    result = LlmNlu(fake_llm.base_url, "m", None, 5.0, fallback=local).analyse(CALLER_TURN, CONTEXT)
    assert result.entities.phone == "+34612345678"
    assert result.entities.email == "lucia.ferrandiz@example.com"
    assert result.entities.name == "Lucía Ferrándiz"
    # The LLM may pick who and what from the tenant's own directory.
    assert (result.entities.staff_key, result.entities.staff) == ("marta", "Dra. Marta Ruiz")
    assert result.entities.service_key == "cleaning"
    # The local engine read the local text, cards already out.
    assert "4111" not in local.texts[0] and "612 345 678" in local.texts[0]
    assert result.redactions == 2


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        (
            [("book_appointment", {"when_text": "el martes"})],
            {"intent": "appointment_book", "detail": "book_appointment", "wants_human": False},
        ),
        (
            [
                ("classify_turn", {"intent": "info"}),
                (
                    "take_message",
                    {"recipient": "Pablo Soto", "reason": "factura", "urgency": "high"},
                ),
            ],
            {
                "intent": "message_for_staff",
                "detail": "leave_message",
                "urgency": "high",
                "staff_key": "pablo",
            },
        ),
        (
            # "info" has several finer labels and the LLM names none: "other" says so.
            [("classify_turn", {"intent": "info"})],
            {"intent": "info", "detail": "other", "confidence": 0.9},
        ),
        (
            [("handoff", {"reason": "quiere una persona"})],
            {"intent": "other", "wants_human": True, "confidence": 0.3},
        ),
        (
            [
                (
                    "classify_turn",
                    {
                        "language": "en",
                        "intent": "complaint",
                        "urgency": "emergency",
                        "spam": False,
                        "sentiment": -0.8,
                    },
                ),
                ("handoff", {}),
            ],
            {
                "intent": "complaint",
                "detail": "complaint",
                "language": "en",
                "urgency": "emergency",
                "sentiment": -0.8,
                "wants_human": True,
                "confidence": 0.9,
            },
        ),
        (
            [("classify_turn", {"intent": "sales_spam", "spam": True})],
            {"intent": "sales_spam", "spam": True, "spam_score": 0.8},
        ),
        (
            # Invalid values are ignored field by field: the local engine's stay.
            [("classify_turn", {"intent": "buy_pizza", "urgency": "meh", "sentiment": "bad"})],
            {"intent": "other", "urgency": "normal", "sentiment": 0.1, "language": "es"},
        ),
    ],
)
def test_tool_calls_map_to_the_result(
    fake_llm: FakeLlm, calls: list[tuple[str, dict[str, Any]]], expected: dict[str, Any]
) -> None:
    fake_llm.answer_with_tools(*calls)
    result = engine(fake_llm).analyse("Hola, llamo por lo de la clínica", CONTEXT)
    assert result.engine == "llm"
    got = {k: getattr(result, k, None) for k in expected}
    if "staff_key" in expected:
        got["staff_key"] = result.entities.staff_key
    assert got == expected


def test_arguments_sent_as_an_object_are_accepted(fake_llm: FakeLlm) -> None:
    """Some OpenAI-compatible servers (Ollama, a few vLLM parsers) send an object."""
    fake_llm.answer_with_message(
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "classify_turn", "arguments": {"intent": "billing"}}}
            ],
        },
        "tool_calls",
    )
    assert engine(fake_llm).analyse("Una duda con la factura", CONTEXT).intent == "billing"


def _expect_fallback(llm: LlmNlu, text: str = "Quiero cambiar mi cita") -> None:
    local = LocalNlu().analyse(text, CONTEXT)
    result = llm.analyse(text, CONTEXT)
    assert result.engine == "offline-fallback"
    assert result == NluResult(**{**local.__dict__, "engine": "offline-fallback"})


@pytest.mark.parametrize(
    "reply",
    [
        (500, b'{"error": {"message": "model overloaded"}}'),
        (401, b'{"error": {"message": "bad key"}}'),
        (200, b"<html>proxy error</html>"),
        (200, b'{"choices": []}'),
        (200, b"[1, 2, 3]"),
    ],
    ids=["500", "401", "not-json", "no-choices", "not-an-object"],
)
def test_http_and_body_errors_fall_back(fake_llm: FakeLlm, reply: tuple[int, bytes]) -> None:
    fake_llm.answer_raw(*reply)
    _expect_fallback(engine(fake_llm))


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": "Claro, le doy cita."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "classify_turn", "arguments": "{intent:"},
                }
            ],
        },
    ],
    ids=["text-only", "malformed-arguments"],
)
def test_answers_without_usable_tool_calls_fall_back(
    fake_llm: FakeLlm, message: dict[str, Any]
) -> None:
    fake_llm.answer_with_message(message)
    _expect_fallback(engine(fake_llm))


def test_a_slow_server_times_out_and_falls_back(fake_llm: FakeLlm) -> None:
    fake_llm.delay = 2.0
    started = datetime.now(UTC)
    _expect_fallback(engine(fake_llm, timeout=0.3))
    assert (datetime.now(UTC) - started).total_seconds() < 1.5


def test_nobody_listening_falls_back() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    _expect_fallback(LlmNlu(f"http://127.0.0.1:{port}/v1", "m", None, 1.0, fallback=LocalNlu()))


def test_an_injected_client_is_used(fake_llm: FakeLlm) -> None:
    with httpx.Client(headers={"x-gateway-tenant": "clinic"}) as client:
        llm = LlmNlu(fake_llm.base_url + "/", "m", "k", 5.0, fallback=LocalNlu(), client=client)
        assert llm.analyse("hola", CONTEXT).engine == "llm"
    assert fake_llm.requests[0].headers["x-gateway-tenant"] == "clinic"
    assert fake_llm.requests[0].path == "/v1/chat/completions"


def test_build_engine_picks_the_configured_engine(fake_llm: FakeLlm) -> None:
    offline = build_engine(Settings(nlu_engine="offline"))
    assert type(offline) is type(default_engine())
    llm = build_engine(
        Settings(
            nlu_engine="llm",
            llm_base_url=fake_llm.base_url,
            llm_model="gpt-4o-mini",
            llm_api_key="sk-live",
            llm_timeout_seconds=3,
        )
    )
    assert isinstance(llm, LlmNlu)
    assert llm.fallback is default_engine()
    with pytest.raises(ValueError, match="llm_base_url"):
        build_engine(Settings(nlu_engine="llm"))


@pytest.mark.slow  # the offline engine trains its models at first use
def test_the_real_offline_engine_behind_the_llm(fake_llm: FakeLlm) -> None:
    llm = build_engine(
        Settings(
            nlu_engine="llm",
            llm_base_url=fake_llm.base_url,
            llm_model="gpt-4o-mini",
            llm_api_key="sk-live",
        )
    )
    assert isinstance(llm, LlmNlu)
    fake_llm.answer_with_tools(("classify_turn", {"intent": "info", "language": "es"}))
    result = llm.analyse("¿A qué hora abrís mañana? Soy Lucía, 612 345 678", CONTEXT)
    assert (result.engine, result.intent) == ("llm", "info")
    assert result.entities.phone == "+34612345678"  # the real offline engine's extraction
    request = fake_llm.requests[0]
    assert request.headers["authorization"] == "Bearer sk-live"
    assert json.loads(request.body)["model"] == "gpt-4o-mini"
    assert b"612" not in request.body and b"Luc" not in request.body
    fake_llm.answer_raw(503, b"")
    fallback = llm.analyse("¿A qué hora abrís mañana? Soy Lucía, 612 345 678", CONTEXT)
    assert fallback.engine == "offline-fallback"
    assert fallback.entities.phone == "+34612345678"
