"""Tenant documents: every error names its line and field; the schema is published."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import get_args

import pytest
import yaml

from centralita.cli.tenant import render_schema
from centralita.demo import demo_tenant_files, demo_tenant_text
from centralita.routing.model import RoutingSettings, Strategy
from centralita.tenants import service as tenants_service
from centralita.tenants.config import yaml_dialect
from centralita.tenants.config.errors import ConfigError, ConfigErrors
from centralita.tenants.config.export import dump_yaml
from centralita.tenants.config.loader import load_tenant_document, validate_document
from centralita.tenants.config.schema import (
    DEFAULT_CAPACITY,
    SLUG_PATTERN,
    RoutingStrategy,
    TenantDocument,
    json_schema,
)

ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
version: 1
tenant:
  slug: demo
  name: Demo
  timezone: Europe/Madrid
  country: ES
"""


# A staff member with skill x and a queue that needs it: the start of the routing cases.
QUEUE = """\
staff:
  - {key: a, name: Ana, skills: {x: 3}}
queues:
  - key: q
    name: Q
    skills: [x]
"""


def errors_of(text: str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_tenant_document(text, filename="t.yaml")
    return caught.value.errors


def marked_line(text: str) -> int:
    """The 1-based number of the line carrying the ``# <-`` marker."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if "# <-" in line)


BROKEN = [
    # (kind, document after HEAD, field, words of the message)
    ("yaml syntax", "staff:\n  - key: a\n    name: [Ana  # <-\n", "(yaml)", "flow sequence"),
    ("tab indentation", "profile:\n\tphone: 1  # <-\n", "(yaml)", "indent with spaces"),
    ("duplicate key", "hours: {}\nhours: {}  # <-\n", "hours", "duplicate key"),
    (
        "unknown field",
        "staff:\n  - key: a\n    name: Ana\n    emial: a@b.es  # <-\n",
        "staff[0].emial",
        "did you mean 'email'",
    ),
    ("unknown section", "staf: []  # <-\n", "staf", "did you mean 'staff'"),
    ("bad time zone", None, "tenant.timezone", "unknown time zone 'Europe/Madird'"),
    (
        "overlapping shifts",
        "hours:\n  monday: [[09:00, 14:00], [13:30, 20:00]]  # <-\n",
        "hours.monday",
        "09:00-14:00 and 13:30-20:00 overlap",
    ),
    (
        "shift backwards",
        "hours:\n  friday:\n    - [18:00, 09:00]  # <-\n",
        "hours.friday[0]",
        "must end after it starts",
    ),
    (
        "bad clock",
        "hours:\n  friday: [[09:00, 25:00]]  # <-\n",
        "hours.friday[0][1]",
        "not a time of day",
    ),
    ("unknown weekday", "hours:\n  funday: []  # <-\n", "hours.funday", "did you mean 'sunday'"),
    (
        "bad phone",
        "staff:\n  - key: a\n    name: Ana\n    phone: '12'  # <-\n",
        "staff[0].phone",
        "not a valid phone number",
    ),
    (
        "number for text",
        "staff:\n  - key: a\n    name: Ana\n    phone: 600000101  # <-\n",
        "staff[0].phone",
        "valid string",
    ),
    (
        "unknown staff reference",
        "staff:\n  - key: ana\n    name: Ana\nservices:\n  - key: s\n    name: {es: S}\n"
        "    staff: [ana, bea]  # <-\n",
        "services[0].staff[1]",
        "no staff member has key 'bea'",
    ),
    (
        "duplicate staff key",
        "staff:\n  - {key: a, name: Ana}\n  - {key: a, name: Bea}  # <-\n",
        "staff[1].key",
        "duplicate key 'a'",
    ),
    ("missing field", "staff:\n  - key: a  # <-\n", "staff[0].name", "Field required"),
    (
        "bad subdivision",
        "holidays:\n  subdivision: XX  # <-\n",
        "holidays.subdivision",
        "unknown subdivision 'XX'",
    ),
    (
        "closure backwards",
        "holidays:\n  closures:\n    - {from: 2026-08-20, to: 2026-08-01, name: Agosto}  # <-\n",
        "holidays.closures[0]",
        "'to' must not be before 'from'",
    ),
    (
        "missing translation",
        "receptionist:\n  languages: [es, en]\nfaq:\n  - key: q\n"
        '    question: {es: "¿Aparcamiento?", en: "Parking?"}\n    answer: {es: Sí}  # <-\n',
        "faq[0].answer.en",
        "receptionist speaks 'en'",
    ),
    (
        "unknown queue",
        "receptionist:\n  default_queue: nowhere  # <-\n",
        "receptionist.default_queue",
        "no queue has key 'nowhere'",
    ),
    (
        "two secrets",
        "channels:\n  - name: sim  # <-\n    kind: multi\n    provider: simulator\n"
        "    address: simulator\n    secret: s\n    secret_env: S\n",
        "channels[0]",
        "either secret or secret_env",
    ),
    (
        "login without email",
        "staff:\n  - key: a  # <-\n    name: Ana\n    user_role: agent\n",
        "staff[0].email",
        "needs one",
    ),
    (
        "price with cents of cents",
        "profile: {currency: EUR}\nservices:\n  - key: s\n    name: {es: S}\n"
        "    price: 9.999  # <-\n",
        "services[0].price",
        "no more than 2 decimal places",
    ),
    (
        "price without currency",
        "services:\n  - key: s\n    name: {es: S}\n    price: 10  # <-\n",
        "services[0].price",
        "needs profile.currency",
    ),
    (
        "NUL character",
        'staff:\n  - key: a\n    name: "An\\0a"  # <-\n',
        "staff[0].name",
        "NUL character",
    ),
    (
        "bad provider",
        "channels:\n  - name: x\n    kind: sms\n    provider: nexmo  # <-\n    address: x\n",
        "channels[0].provider",
        "'twilio'",
    ),
    # ---- the ACD's settings ----
    (
        "bad strategy",
        QUEUE + "    strategy: fastest  # <-\n",
        "queues[0].strategy",
        "'longest_idle', 'least_occupied', 'round_robin', 'skills_weighted' or 'ring_all'",
    ),
    (
        "widen without skills",
        QUEUE + "    overflow:\n      - {after_seconds: 30, action: widen}  # <-\n",
        "queues[0].overflow[0]",
        "give skills exactly when the action is 'widen'",
    ),
    (
        "skills without widen",
        QUEUE + "    overflow:\n      - {after_seconds: 30, action: message, skills: [x]}  # <-\n",
        "queues[0].overflow[0]",
        "give skills exactly when the action is 'widen'",
    ),
    (
        "widen to a skill nobody has",
        QUEUE + "    overflow:\n      - {after_seconds: 30, action: widen, skills: [x, y]}  # <-\n",
        "queues[0].overflow[0].skills[1]",
        "no staff member has the skill 'y'",
    ),
    (
        "overflow to an unknown queue",
        QUEUE + "    overflow:\n      - {after_seconds: 30, action: queue, queue: nope}  # <-\n",
        "queues[0].overflow[0].queue",
        "no other queue has key 'nope'",
    ),
    (
        "offer timeout too short",
        QUEUE + "    offer_timeout_seconds: 4  # <-\n",
        "queues[0].offer_timeout_seconds",
        "greater than or equal to 5",
    ),
    (
        "offer timeout too long",
        QUEUE + "    offer_timeout_seconds: 601  # <-\n",
        "queues[0].offer_timeout_seconds",
        "less than or equal to 600",
    ),
    (
        "wrap-up too long",
        QUEUE + "    wrapup_seconds: 3601  # <-\n",
        "queues[0].wrapup_seconds",
        "less than or equal to 3600",
    ),
    (
        "negative wrap-up",
        QUEUE + "    wrapup_seconds: -1  # <-\n",
        "queues[0].wrapup_seconds",
        "greater than or equal to 0",
    ),
    (
        "aging too fast",
        QUEUE + "    aging_per_minute: 100.5  # <-\n",
        "queues[0].aging_per_minute",
        "less than or equal to 100",
    ),
    (
        "proficiency out of range",
        QUEUE + "    min_proficiency: 6  # <-\n",
        "queues[0].min_proficiency",
        "less than or equal to 5",
    ),
    (
        "too many missed offers",
        QUEUE + "    max_missed_offers: 21  # <-\n",
        "queues[0].max_missed_offers",
        "less than or equal to 20",
    ),
    (
        "capacity for an unknown channel",
        "staff:\n  - key: a\n    name: Ana\n    capacity:\n      voice: 1\n      fax: 2  # <-\n",
        "staff[0].capacity.fax",
        "'voice', 'sms', 'whatsapp', 'email' or 'webchat'",
    ),
    (
        "capacity too high",
        "staff:\n  - key: a\n    name: Ana\n    capacity: {voice: 1, email: 51}  # <-\n",
        "staff[0].capacity.email",
        "less than or equal to 50",
    ),
    (
        "predictive share above 1",
        "routing:\n  predictive_share: 1.5  # <-\n",
        "routing.predictive_share",
        "less than or equal to 1",
    ),
    (
        "predictive min samples 0",
        "routing:\n  predictive_min_samples: 0  # <-\n",
        "routing.predictive_min_samples",
        "greater than or equal to 1",
    ),
    (
        "negative VIP bonus",
        "routing:\n  vip_bonus: -5  # <-\n",
        "routing.vip_bonus",
        "greater than or equal to 0",
    ),
    (
        "urgency bonus out of range",
        "routing:\n  urgency_bonus:\n    urgent: 1001  # <-\n",
        "routing.urgency_bonus.urgent",
        "less than or equal to 1000",
    ),
    (
        "unknown urgency",
        "routing:\n  urgency_bonus: {critical: 200}  # <-\n",
        "routing.urgency_bonus.critical",
        "expected one of: low, normal, high, urgent",
    ),
    (
        "misspelt routing field",
        "routing:\n  predictiv: true  # <-\n",
        "routing.predictiv",
        "did you mean 'predictive'",
    ),
]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_each_error_names_its_line_and_field(body: str | None, field: str, words: str) -> None:
    if body is None:  # errors in HEAD itself
        text = HEAD.replace("timezone: Europe/Madrid", "timezone: Europe/Madird  # <-")
    else:
        text = HEAD + body
    errors = errors_of(text)
    matching = [e for e in errors if e.field == field]
    assert matching, [str(e) for e in errors]
    assert words in matching[0].message
    assert matching[0].line == marked_line(text), str(matching[0])
    assert str(matching[0]).startswith(f"t.yaml:{matching[0].line}:{matching[0].column}: {field}: ")


def test_all_errors_are_reported_in_file_order() -> None:
    text = HEAD + textwrap.dedent(
        """\
        hours:
          monday: [[09:00, 14:00], [10:00, 11:00]]
        staff:
          - key: a
            name: Ana
            phone: nope
          - key: b
            nmae: Bea
        """
    )
    errors = errors_of(text)
    assert [(e.line, e.field) for e in errors] == [
        (8, "hours.monday"),
        (13, "staff[1].name"),
        (14, "staff[1].nmae"),
    ]


def test_cross_field_checks_run_once_the_shape_is_valid() -> None:
    text = HEAD + "staff:\n  - {key: a, name: Ana, phone: nope}\n  - {key: a, name: Bea}\n"
    assert [(e.line, e.field) for e in errors_of(text)] == [
        (8, "staff[0].phone"),
        (9, "staff[1].key"),
    ]


def test_an_empty_or_non_mapping_file_is_one_clear_error() -> None:
    for text in ("", "- a\n", "just text\n"):
        [error] = errors_of(text)
        assert (error.line, error.field) == (1, "(document)")
        assert "version: 1" in error.message


def test_yaml_12_scalars_times_and_country_codes_stay_text() -> None:
    text = HEAD.replace("country: ES", "country: NO") + textwrap.dedent(
        """\
        hours:
          monday: [[9:00, 14:00], [16:00, 20:30]]
        holidays:
          custom: [{date: 2026-05-17, name: on}]
        """
    )
    doc = load_tenant_document(text)
    assert doc.tenant.country == "NO"
    assert doc.hours.monday == [("09:00", "14:00"), ("16:00", "20:30")]
    assert doc.holidays.custom[0].name == "on"


@pytest.mark.parametrize(
    "text",
    [
        "14:00",
        "9:30",
        "NO",
        "on",
        "y",
        "007",
        "0x1A",
        "1_000",
        "1.5e+5",
        "1e5",
        "null",
        "~",
        "true",
        "2026-05-15",
        "12:30:00",
        "- a",
        "a: b",
        "#x",
        "¿Hola?",
        "two\nlines",
        "",
        " x ",
    ],
)
def test_exported_text_reads_back_as_the_same_text(text: str) -> None:
    dumped = yaml_dialect.dump({"k": [text]})
    assert yaml_dialect.compose_with_positions(dumped)[0] == {"k": [text]}
    assert yaml.safe_load(dumped) == {"k": [text]}  # and so does any other YAML reader


def test_phone_numbers_become_e164_in_the_tenant_country() -> None:
    text = (
        HEAD
        + "profile:\n  phone: 910 000 000\nstaff:\n  - {key: a, name: A, phone: 0034600000101}\n"
    )
    doc = load_tenant_document(text)
    assert doc.profile.phone == "+34910000000"
    assert doc.staff[0].phone == "+34600000101"


def test_validate_document_without_text_has_no_line() -> None:
    with pytest.raises(ConfigErrors) as caught:
        validate_document(
            {"version": 1, "tenant": {"slug": "Bad Slug", "name": "x", "timezone": "UTC"}}
        )
    [error] = caught.value.errors
    assert error.line is None and error.field == "tenant.slug"
    assert str(error).startswith("<data>: tenant.slug: ")


def test_version_must_be_1() -> None:
    errors = errors_of(HEAD.replace("version: 1", "version: 2"))
    assert [(e.line, e.field) for e in errors] == [(1, "version")]


def test_demo_files_are_valid_and_round_trip_through_yaml() -> None:
    files = demo_tenant_files()
    assert [f.name for f in files] == ["clinica-dental-sonrisa.yaml", "hartley-law.yaml"]
    for file in files:
        doc = load_tenant_document(file.read_text(encoding="utf-8"), filename=file.name)
        again = load_tenant_document(dump_yaml(doc.to_data()), filename="export.yaml")
        assert again.to_data() == doc.to_data()


def test_demo_clinic_has_what_the_receptionist_needs() -> None:
    doc = load_tenant_document(demo_tenant_text("clinica-dental-sonrisa"))
    assert (doc.tenant.timezone, doc.tenant.locale, doc.holidays.subdivision) == (
        "Europe/Madrid",
        "es",
        "MD",
    )
    assert 4 <= len(doc.staff) <= 6
    assert "la doctora García" in doc.staff[0].aliases
    assert any(len(shifts) == 2 for shifts in doc.hours.model_dump().values())
    insurance = " ".join(f.answer.text("es") for f in doc.faq)
    assert all(name in insurance for name in ("Sanitas", "Adeslas", "DKV"))
    assert len(doc.faq) >= 10 and all(f.answer.en and f.answer.es for f in doc.faq)
    [simulator] = [c for c in doc.channels if c.name == "simulator"]
    assert (simulator.kind, simulator.provider, simulator.address) == (
        "multi",
        "simulator",
        "simulator",
    )
    assert simulator.secret


def test_demo_law_firm_is_english_and_in_london() -> None:
    doc = load_tenant_document(demo_tenant_text("hartley-law"))
    assert (doc.tenant.timezone, doc.tenant.locale, doc.holidays.country) == (
        "Europe/London",
        "en",
        "GB",
    )
    assert doc.holidays.subdivision == "ENG"
    assert any(c.provider == "simulator" and c.secret for c in doc.channels)
    with pytest.raises(KeyError, match="known: clinica-dental-sonrisa, hartley-law"):
        demo_tenant_text("nope")


def test_published_schema_file_is_up_to_date() -> None:
    published = (ROOT / "docs" / "tenant.schema.json").read_text(encoding="utf-8")
    assert published == render_schema(), (
        "regenerate: centralita tenant schema -o docs/tenant.schema.json"
    )


def test_json_schema_accepts_the_demo_files_and_rejects_unknown_fields() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.validator_for(json_schema())
    for file in demo_tenant_files():
        data = load_tenant_document(file.read_text(encoding="utf-8")).to_data()
        assert validator.is_valid(json.loads(json.dumps(data)))
    assert not validator.is_valid({"version": 1, "tenant": {}, "extra": True})


def test_slug_rule_matches_the_tenants_service() -> None:
    assert tenants_service.SLUG.pattern == SLUG_PATTERN


def test_defaults_are_left_out_of_the_canonical_form() -> None:
    doc = TenantDocument.model_validate(
        {"version": 1, "tenant": {"slug": "a", "name": "A", "timezone": "UTC"}}
    )
    assert doc.to_data() == {"version": 1, "tenant": {"slug": "a", "name": "A", "timezone": "UTC"}}
    assert doc.languages == ["es"] and doc.receptionist.mode == "ai_first"


# ---- the ACD's settings: queues, staff capacity and the routing section ----------------------

ROUTING = """\
staff:
  - key: ana
    name: Ana
    skills: {citas: 4, recepcion: 5}
    capacity: {webchat: 3, voice: 1, email: 0}
  - {key: bea, name: Bea, skills: {citas: 2}}
queues:
  - key: citas
    name: Citas
    skills: [citas]
    strategy: skills_weighted
    offer_timeout_seconds: 15
    wrapup_seconds: 45
    aging_per_minute: 1.5
    min_proficiency: 3
    max_missed_offers: 0
    overflow:
      - {after_seconds: 20, action: widen, skills: [recepcion]}
      - {after_seconds: 40, action: widen, skills: []}
      - {after_seconds: 60, action: queue, queue: recepcion}
  - {key: recepcion, name: Recepción, skills: [recepcion], strategy: ring_all}
routing:
  predictive: true
  predictive_share: 0.5
  predictive_min_samples: 50
  vip_bonus: 0
  urgency_bonus: {urgent: 200}
"""


def test_routing_settings_parse() -> None:
    doc = load_tenant_document(HEAD + ROUTING)
    citas, recepcion = doc.queues
    assert (
        citas.strategy,
        citas.offer_timeout_seconds,
        citas.wrapup_seconds,
        citas.aging_per_minute,
        citas.min_proficiency,
        citas.max_missed_offers,
    ) == ("skills_weighted", 15, 45, 1.5, 3, 0)
    assert [(s.action, s.skills, s.queue) for s in citas.overflow] == [
        ("widen", ["recepcion"], None),
        ("widen", [], None),  # anyone
        ("queue", None, "recepcion"),
    ]
    assert recepcion.strategy == "ring_all"
    assert doc.staff[0].capacity == {"webchat": 3, "voice": 1, "email": 0}
    assert doc.staff[1].capacity is None
    routing = doc.routing
    assert (routing.predictive, routing.predictive_share, routing.predictive_min_samples) == (
        True,
        0.5,
        50,
    )
    assert routing.vip_bonus == 0
    assert routing.urgency_bonus.model_dump() == {
        "low": -10,
        "normal": 0,
        "high": 50,
        "urgent": 200,
    }


def test_routing_settings_default_to_what_the_engine_does_without_them() -> None:
    doc = load_tenant_document(
        HEAD + "queues:\n  - {key: q, name: Q}\nstaff:\n  - {key: a, name: A}\n"
    )
    queue = doc.queues[0]
    assert (
        queue.strategy,
        queue.offer_timeout_seconds,
        queue.wrapup_seconds,
        queue.aging_per_minute,
        queue.min_proficiency,
        queue.max_missed_offers,
    ) == ("longest_idle", 30, 0, 0.0, 1, 3)
    assert doc.staff[0].capacity is None
    assert DEFAULT_CAPACITY == {"voice": 1, "sms": 3, "whatsapp": 3, "email": 5, "webchat": 3}
    engine = RoutingSettings()
    assert doc.routing.model_dump() == {
        "predictive": engine.predictive,
        "predictive_share": engine.predictive_share,
        "predictive_min_samples": engine.predictive_min_samples,
        "vip_bonus": engine.vip_bonus,
        "urgency_bonus": engine.urgency_bonus,
    }
    # Defaults stay out of the canonical form: an absent capacity and routing stay absent.
    data = doc.to_data()
    assert data["queues"] == [{"key": "q", "name": "Q"}]
    assert "capacity" not in data["staff"][0]
    assert "routing" not in data


def test_routing_settings_round_trip_through_the_canonical_form() -> None:
    doc = load_tenant_document(HEAD + ROUTING)
    data = doc.to_data()
    assert data["staff"][0]["capacity"] == {"email": 0, "voice": 1, "webchat": 3}
    assert list(data["staff"][0]["capacity"]) == ["email", "voice", "webchat"]  # sorted
    assert "capacity" not in data["staff"][1]
    assert data["queues"][0]["overflow"] == [
        {"after_seconds": 20, "action": "widen", "skills": ["recepcion"]},
        {"after_seconds": 40, "action": "widen", "skills": []},
        {"after_seconds": 60, "action": "queue", "queue": "recepcion"},
    ]
    assert data["queues"][1] == {
        "key": "recepcion",
        "name": "Recepción",
        "skills": ["recepcion"],
        "strategy": "ring_all",
    }
    assert data["routing"] == {
        "predictive": True,
        "predictive_share": 0.5,
        "predictive_min_samples": 50,
        "vip_bonus": 0,
        "urgency_bonus": {"urgent": 200},
    }
    again = load_tenant_document(dump_yaml(data))
    assert again.to_data() == data


def test_strategies_are_the_engines() -> None:
    assert set(get_args(RoutingStrategy)) == {s.value for s in Strategy}


def test_json_schema_has_the_routing_settings() -> None:
    schema = json_schema()
    defs = schema["$defs"]
    assert schema["properties"]["routing"]["$ref"] == "#/$defs/RoutingConfig"
    queue = defs["QueueConfig"]["properties"]
    assert queue["strategy"]["enum"] == [s.value for s in Strategy]
    assert queue["strategy"]["default"] == "longest_idle"
    assert (
        queue["offer_timeout_seconds"]["minimum"],
        queue["offer_timeout_seconds"]["maximum"],
    ) == (
        5,
        600,
    )
    assert queue["wrapup_seconds"]["maximum"] == 3600
    assert queue["aging_per_minute"]["type"] == "number"
    assert queue["max_missed_offers"]["default"] == 3
    assert "min_proficiency" in queue
    step = defs["OverflowStep"]["properties"]
    assert "widen" in step["action"]["enum"]
    assert "skills" in step
    [capacity, _null] = defs["StaffConfig"]["properties"]["capacity"]["anyOf"]
    assert capacity["propertyNames"]["enum"] == ["voice", "sms", "whatsapp", "email", "webchat"]
    assert capacity["additionalProperties"]["maximum"] == 50
    routing = defs["RoutingConfig"]["properties"]
    assert set(routing) == {
        "predictive",
        "predictive_share",
        "predictive_min_samples",
        "vip_bonus",
        "urgency_bonus",
    }
    assert set(defs["UrgencyBonus"]["properties"]) == {"low", "normal", "high", "urgent"}


def test_json_schema_checks_the_routing_settings() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.validator_for(json_schema())
    data = load_tenant_document(HEAD + ROUTING).to_data()
    assert validator.is_valid(json.loads(json.dumps(data)))
    data["staff"][0]["capacity"]["fax"] = 1
    assert not validator.is_valid(json.loads(json.dumps(data)))


def test_demo_files_use_the_routing_settings() -> None:
    clinic = load_tenant_document(demo_tenant_text("clinica-dental-sonrisa"))
    law = load_tenant_document(demo_tenant_text("hartley-law"))
    queues = [*clinic.queues, *law.queues]
    assert {q.strategy for q in queues} >= {"longest_idle", "skills_weighted"}
    assert any(step.action == "widen" for q in queues for step in q.overflow)
    assert all(q.wrapup_seconds <= 60 for q in queues)
    staff = [*clinic.staff, *law.staff]
    assert any(m.capacity is not None for m in staff)
    assert any(m.capacity is None for m in staff)  # the defaults
    assert law.routing.predictive is False and law.to_data().get("routing")
