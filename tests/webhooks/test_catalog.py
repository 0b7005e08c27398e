"""The public catalog: built from real internal events, JSON round-trips, documented."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import centralita
from centralita.events import catalog
from centralita.events.envelope import Event

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _internal_events() -> dict[str, type[Event]]:
    for module in pkgutil.walk_packages(centralita.__path__, "centralita."):
        if module.name.endswith(".events"):
            importlib.import_module(module.name)
    found: dict[str, type[Event]] = {}
    stack = list(Event.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "name" in cls.__dict__:
            found[cls.name] = cls
    return found


INTERNAL = _internal_events()


def _sample(cls: type[Event]) -> Event:
    """An instance with a plausible value for every field, by its annotation."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        kind = str(field.type)
        if "datetime" in kind or (field.name.endswith("_at") and "str" in kind):
            values[field.name] = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
        elif kind.startswith("list"):
            values[field.name] = ["name", "email"]
        elif kind.startswith("dict"):
            values[field.name] = {"k": 1}
        elif kind.startswith("bool"):
            values[field.name] = True
        elif kind.startswith("int"):
            values[field.name] = 42
        elif kind.startswith("float"):
            values[field.name] = 12.5
        else:
            values[field.name] = f"{field.name}-value"
    values["tenant_id"] = "tn_1"
    if cls.name == "message.queued":
        values["direction"] = "outbound"
    if cls.name == "message.status_changed":
        values["status"] = "delivered"
    return cls(**values)


_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "datetime": lambda v: isinstance(v, str) and datetime.fromisoformat(v) is not None,
    "string[]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}


@pytest.mark.parametrize("event", catalog.CATALOG, ids=lambda e: e.name)
def test_every_public_event_comes_from_a_real_internal_event(event: catalog.PublicEvent) -> None:
    assert event.source in INTERNAL, f"{event.source} is not an internal event"
    internal_fields = {f.name for f in dataclasses.fields(INTERNAL[event.source])}
    for field in event.fields:
        assert field.internal in internal_fields, f"{event.name}.{field.name}"


@pytest.mark.parametrize("event", catalog.CATALOG, ids=lambda e: e.name)
def test_payload_round_trips_through_json_and_matches_its_schema(
    event: catalog.PublicEvent,
) -> None:
    internal = _sample(INTERNAL[event.source])
    # as the outbox stores it and the relay hands it over: through JSON
    payload = json.loads(json.dumps(internal.payload()))
    message = catalog.to_public(internal.name, payload)
    assert message is not None and (message.name, message.version) == (event.name, event.version)
    assert json.loads(json.dumps(message.data)) == message.data
    schema = event.json_schema()
    assert set(message.data) == set(schema["properties"]) == set(schema["required"])
    for field in event.fields:
        value = message.data[field.name]
        assert (value is None and field.nullable) or _CHECKS[field.type](value), field.name
    assert json.loads(json.dumps(schema)) == schema


def test_internal_only_events_and_fields_stay_inside() -> None:
    assert catalog.to_public("api_key.created", {"api_key_id": "k"}) is None
    assert catalog.to_public("webhook.created", {"webhook_id": "w"}) is None
    note = {"message_id": "m", "conversation_id": "c", "channel": "sms", "direction": "internal"}
    assert catalog.to_public("message.queued", {**note, "kind": "note"}) is None
    received = catalog.to_public(
        "message.received",
        {"message_id": "m", "channel_account_id": "chn_secretish", "body": "hola"},
    )
    assert received is not None and "channel_account_id" not in received.data
    forbidden = re.compile(r"secret|password|token|api_key|credential")
    for event in catalog.CATALOG:
        assert not [f.name for f in event.fields if forbidden.search(f.name)], event.name


def test_names_are_unique_and_wildcard_matching() -> None:
    assert len(catalog.PUBLIC_NAMES) == len(catalog.CATALOG)
    assert catalog.matches(["*"], "contact.created")
    assert catalog.matches(["contact.created"], "contact.created")
    assert not catalog.matches(["contact.updated"], "contact.created")
    assert catalog.unknown_names(["*", "contact.created", "contact.exploded"]) == [
        "contact.exploded"
    ]


def test_docs_describe_every_event_and_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    for event in catalog.CATALOG:
        heading = f"### `{event.name}` (version {event.version})"
        assert heading in text, heading
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        for field in event.fields:
            assert f"| `{field.name}` |" in section, f"{event.name}.{field.name}"
