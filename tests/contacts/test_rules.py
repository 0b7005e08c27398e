"""Pure rules: field checks, the merge combination and CSV parsing, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from centralita.contacts import rules
from centralita.contacts.csv_io import parse_contacts_csv
from centralita.contacts.merge import ContactFields, combine
from centralita.core.errors import InvalidInput

T1 = datetime(2025, 1, 1, tzinfo=UTC)
T2 = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("winner", "loser", "expected"),
    [
        (
            ContactFields(name="Ana", language=None),
            ContactFields(name="Ana María", language="es"),
            ContactFields(name="Ana", language="es"),
        ),
        (
            ContactFields(attributes={"a": 1, "b": "w"}, tags=("x", "y")),
            ContactFields(attributes={"b": "l", "c": True}, tags=("y", "z")),
            ContactFields(attributes={"a": 1, "b": "w", "c": True}, tags=("x", "y", "z")),
        ),
        (
            ContactFields(value=Decimal("10.50"), vip=False, last_contact_at=T1),
            ContactFields(value=Decimal("4.50"), vip=True, last_contact_at=T2),
            ContactFields(value=Decimal("15.00"), vip=True, last_contact_at=T2),
        ),
        (
            ContactFields(consent={"sms": True, "email": True, "calls": False}),
            ContactFields(consent={"sms": False, "whatsapp": True, "calls": True}),
            ContactFields(consent={"sms": False, "email": True, "calls": False, "whatsapp": True}),
        ),
    ],
    ids=["fills-missing", "attributes-and-tags", "value-vip-last-contact", "consent"],
)
def test_combine(winner: ContactFields, loser: ContactFields, expected: ContactFields) -> None:
    assert combine(winner, loser) == expected


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"language": "spanish"}, "language"),
        ({"attributes": {f"k{i}": i for i in range(51)}}, "attributes"),
        ({"attributes": {"bad key": 1}}, "attributes"),
        ({"attributes": {"k": {"nested": 1}}}, "attributes.k"),
        ({"attributes": {"k": float("nan")}}, "attributes.k"),
        ({"tags": ["ok", "x" * 41]}, "tags[1]"),
        ({"tags": ["a;b"]}, "tags[0]"),
        ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
        ({"value": "-1"}, "value"),
        ({"value": "1.234"}, "value"),
        ({"value": "abc"}, "value"),
        ({"consent": {"SMS": True}}, "consent"),
        ({"consent": {"sms": "yes"}}, "consent.sms"),
        ({"vip": "yes"}, "vip"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_name_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        rules.clean_fields(fields)
    assert info.value.problems[0].field == field


def test_good_fields_are_normalised() -> None:
    clean = rules.clean_fields(
        {"name": "  Ana  ", "tags": ["a", " a ", "b"], "value": "12.5", "language": "pt-BR"}
    )
    assert clean == {
        "name": "Ana",
        "tags": ["a", "b"],
        "value": Decimal("12.50"),
        "language": "pt-BR",
    }


def test_patch_mapping_removes_null_keys() -> None:
    assert rules.patch_mapping({"a": 1, "b": 2}, {"b": None, "c": 3}) == {
        "a": 1,
        "c": 3,
    }


def test_csv_rows_are_parsed_with_their_line_numbers() -> None:
    text = (
        "name,phones,emails,tags,value,vip,consent_sms,attr_plan\n"
        'Ana,"600 111 222; +34 600 111 333",ANA@Example.com,a;b,10.50,yes,false,gold\n'
        "\n"
        'Bo,,bo@example.com,,,,,"gold\nplus"\n'
        "Bad,12,not-an-email,,-3,maybe,,\n"
    )
    parsed = parse_contacts_csv(text, default_region="ES")
    assert not parsed.fatal
    ana, bo = parsed.rows
    assert ana.line == 2 and bo.line == 4 and bo.attributes == {"plan": "gold\nplus"}
    assert ana.addresses == [
        ("phones", "phone", "+34600111222"),
        ("phones", "phone", "+34600111333"),
        ("emails", "email", "ana@example.com"),
    ]
    assert ana.fields == {"tags": ["a", "b"], "value": Decimal("10.50"), "vip": True, "name": "Ana"}
    assert ana.consent == {"sms": False} and ana.attributes == {"plan": "gold"}
    assert {(p.line, p.field) for p in parsed.problems} == {
        (6, "phones"),
        (6, "emails"),
        (6, "value"),
        (6, "vip"),
    }


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("name,colour\n", "colour"),
        ("name,name\n", "name"),
        ("name,attr_bad key\n", "attr_bad key"),
        ("name,consent_Bad-Flag\n", "consent_Bad-Flag"),
        ("\n", "header"),
    ],
)
def test_header_problems_are_fatal(header: str, field: str) -> None:
    parsed = parse_contacts_csv(header + "Ana,x\n")
    assert parsed.fatal and parsed.rows == []
    assert parsed.problems[0].line == 1 and parsed.problems[0].field == field


def test_too_many_cells_is_a_row_problem() -> None:
    parsed = parse_contacts_csv("name\nAna,extra\nBo\n")
    assert [r.fields["name"] for r in parsed.rows] == ["Bo"]
    assert [(p.line, p.field) for p in parsed.problems] == [(2, "row")]


def test_formula_protection_is_undone_on_import() -> None:
    parsed = parse_contacts_csv("name,attr_note\n'=cmd,'@x\n")
    assert parsed.rows[0].fields["name"] == "=cmd"
    assert parsed.rows[0].attributes == {"note": "@x"}


def test_contact_events_round_trip_through_json() -> None:
    import dataclasses
    import json

    from centralita.contacts import events

    classes = [
        c
        for c in vars(events).values()
        if isinstance(c, type) and issubclass(c, events.Event) and c is not events.Event
    ]
    assert len(classes) >= 7
    for cls in classes:
        values = {
            f.name: (["name"] if f.type in ("list[str]",) else f"{f.name}-1")
            for f in dataclasses.fields(cls)
        }
        event = cls(**values)
        payload = json.loads(json.dumps(event.payload()))
        assert cls(**payload) == event, cls
        assert cls.name.startswith("contact.")
