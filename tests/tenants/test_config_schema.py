"""Tenant documents: every error names its line and field; the schema is published."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from centralita.cli.tenant import render_schema
from centralita.demo import demo_tenant_files, demo_tenant_text
from centralita.tenants import service as tenants_service
from centralita.tenants.config import yaml_dialect
from centralita.tenants.config.errors import ConfigError, ConfigErrors
from centralita.tenants.config.export import dump_yaml
from centralita.tenants.config.loader import load_tenant_document, validate_document
from centralita.tenants.config.schema import SLUG_PATTERN, TenantDocument, json_schema

ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
version: 1
tenant:
  slug: demo
  name: Demo
  timezone: Europe/Madrid
  country: ES
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
