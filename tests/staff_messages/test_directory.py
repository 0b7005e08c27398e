"""Who a message is for, and what it says: pure tables, no database."""

from __future__ import annotations

import pytest

from centralita.staff_messages.directory import MessageFields, format_message, resolve_recipient
from centralita.tenants.config.schema import ServiceConfig, StaffConfig

CLINIC = [
    StaffConfig(
        key="garcia",
        name="Dra. Lucía García Martín",
        aliases=["la doctora García", "Dra. García", "la directora"],
        role="Odontóloga general y directora médica",
        skills={"urgencias": 5, "estetica": 4},
    ),
    StaffConfig(
        key="ruiz",
        name="Dr. Javier Ruiz Ortega",
        aliases=["Dr. Ruiz"],
        role="Implantólogo y cirujano oral",
        skills={"implantologia": 5, "urgencias": 4},
    ),
    StaffConfig(key="sanz", name="Paula Sanz Romero", role="Higienista dental"),
    StaffConfig(key="navarro", name="Marta Navarro Gil", role="Ortodoncista"),
    StaffConfig(
        key="lopez",
        name="Carmen López Díaz",
        role="Coordinadora de pacientes",
        skills={"recepcion": 5, "facturacion": 4, "seguros": 5},
    ),
    StaffConfig(
        key="moreno",
        name="Alberto Moreno Vidal",
        role="Recepcionista",
        skills={"recepcion": 4, "facturacion": 3},
    ),
]

LAW = [
    StaffConfig(
        key="hartley",
        name="Eleanor Hartley",
        aliases=["Mrs Hartley"],
        role="Managing Partner, Commercial Property",
        skills={"commercial_property": 5, "conveyancing": 4},
    ),
    StaffConfig(key="webb", name="Daniel Webb", role="Partner, Family Law", skills={"family": 5}),
    StaffConfig(
        key="chen",
        name="Sophie Chen",
        role="Associate, Residential Conveyancing",
        skills={"conveyancing": 5},
    ),
    StaffConfig(
        key="brennan",
        name="Aoife Brennan",
        role="Client Services Manager",
        skills={"intake": 5, "billing": 4},
    ),
    StaffConfig(
        key="hughes",
        name="Tom Hughes",
        aliases=["Tom"],
        role="Legal Secretary and Intake Coordinator",
        skills={"intake": 4},
    ),
]

SERVICES = [
    ServiceConfig.model_validate(
        {"key": "limpieza", "name": {"es": "Limpieza"}, "staff": ["sanz"]}
    ),
    ServiceConfig.model_validate(
        {"key": "implante", "name": {"es": "Implante"}, "staff": ["nadie", "ruiz", "garcia"]}
    ),
    ServiceConfig.model_validate({"key": "vacio", "name": {"es": "Vacío"}}),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # by name or alias, accents, case and titles ignored
        ("Quería dejar un recado para la doctora Garcia", "garcia"),
        ("mensaje para LUCÍA GARCÍA MARTÍN por favor", "garcia"),
        ("Dígale a Paula Sanz que me llame", "sanz"),
        ("es para el doctor Ruiz", "ruiz"),
        ("para la directora", "garcia"),
        ("Que me llame Marta Navarro", "navarro"),
        # by role or skill words
        ("Quiero hablar con la higienista", "sanz"),
        ("Un mensaje para la ortodoncista", "navarro"),
        ("para el implantólogo", "ruiz"),
        ("una duda de facturación", "lopez"),  # facturacion 4 beats 3
        ("para la coordinadora", "lopez"),
        ("que me llame el recepcionista", "moreno"),  # the job title beats a skill
        ("tengo una urgencia", "garcia"),  # urgencias 5 beats 4
        ("nothing to see here", None),
        ("", None),
    ],
)
def test_clinic_text(text: str, expected: str | None) -> None:
    found = resolve_recipient(CLINIC, text=text)
    assert (found.key if found else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Could Mrs Hartley call me back?", "hartley"),
        ("A message for Tom please", "hughes"),
        ("I need to talk to the conveyancing team", "chen"),  # role beats a skill
        ("It's about billing", "brennan"),
        ("Please pass it to the receptionist", None),  # nobody's title or skill says it
        ("a question about my family law case", "webb"),
        ("the intake coordinator please", "hughes"),
        ("I will call again tomorrow", None),
    ],
)
def test_law_firm_text(text: str, expected: str | None) -> None:
    found = resolve_recipient(LAW, text=text)
    assert (found.key if found else None) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"staff_key": "sanz", "text": "para la doctora García"}, "sanz"),  # the key wins
        ({"staff_key": "nobody", "text": "para la doctora García"}, "garcia"),
        ({"text": "para la doctora García", "service_key": "limpieza"}, "garcia"),
        ({"text": "hola", "service_key": "limpieza"}, "sanz"),
        ({"service_key": "implante"}, "ruiz"),  # unknown keys in the service are skipped
        ({"service_key": "vacio", "default_key": "lopez"}, "lopez"),
        ({"service_key": "unknown", "default_key": "lopez"}, "lopez"),
        ({"text": "hola", "default_key": "moreno"}, "moreno"),
        ({"default_key": "nobody"}, None),
        ({}, None),
    ],
)
def test_order_of_resolution(kwargs: dict[str, str], expected: str | None) -> None:
    found = resolve_recipient(CLINIC, services=SERVICES, **kwargs)
    assert (found.key if found else None) == expected


def test_empty_directory_resolves_nobody() -> None:
    assert resolve_recipient([], text="la doctora García", default_key="garcia") is None


FIELDS = MessageFields(
    recipient_name="Dra. García",
    caller_name="Ana Ruiz",
    caller_phone="+34600111222",
    caller_email="ana@example.com",
    reason="Dolor de muela",
    urgency="high",
    summary="Le sigue doliendo la muela.",
    taken_at="20/11/2026 10:05",
    transcript_url="https://clinic.example/t/1",
    ack_url="https://clinic.example/ack/smsg_1?t=abc",
    business="Clínica Sonrisa",
)


def test_format_message_in_spanish() -> None:
    subject, body = format_message(FIELDS, "es")
    assert subject == "[Urgente] Mensaje de Ana Ruiz para Dra. García"
    for piece in (
        "Mensaje para Dra. García, tomado por la recepcionista virtual el 20/11/2026 10:05.",
        "Teléfono: +34600111222",
        "Correo: ana@example.com",
        "Motivo: Dolor de muela",
        "Urgencia: alta",
        "Le sigue doliendo la muela.",
        "Transcripción: https://clinic.example/t/1",
        "Confirme que lo ha recibido (un clic): https://clinic.example/ack/smsg_1?t=abc",
        "Clínica Sonrisa",
    ):
        assert piece in body, piece


def test_format_message_in_english_with_gaps() -> None:
    fields = MessageFields(
        recipient_name=None,
        caller_name=None,
        caller_phone="+441234567890",
        caller_email=None,
        reason=None,
        urgency="emergency",
        summary="",
        escalation=True,
    )
    subject, body = format_message(fields, "en")
    assert subject == "[EMERGENCY] [Not acknowledged] Message from +441234567890"
    assert "Email: (not given)" in body and "Urgency: EMERGENCY" in body
    assert "You get it as the backup" in body
    assert "Acknowledge" not in body  # no link, no line


@pytest.mark.parametrize(
    ("urgency", "prefix"), [("low", ""), ("normal", ""), ("high", "[Urgent] ")]
)
def test_subject_prefix_by_urgency(urgency: str, prefix: str) -> None:
    fields = MessageFields(
        recipient_name="Tom\r\nBcc: evil@example.com",  # a header must stay one line
        caller_name="Jo",
        caller_phone=None,
        caller_email=None,
        reason=None,
        urgency=urgency,
        summary="x",
    )
    subject, _ = format_message(fields, "xx")  # unknown languages fall back to English
    assert subject == f"{prefix}Message from Jo for Tom Bcc: evil@example.com"
