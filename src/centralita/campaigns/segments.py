"""Segment definitions and matching: which contacts a campaign is for.

A segment is a JSON object; every key given must match (AND). An empty segment matches every
contact. ``parse_segment`` checks the shape and names each problem; ``matches`` is pure and
takes ``now`` for the relative date rules.

.. code-block:: json

    {
      "attributes": {"plan": {"eq": "gold"}, "city": {"in": ["Bilbao", "Madrid"]},
                     "member_id": {"exists": true}},
      "tags": {"any": ["vip", "promo"], "all": ["customer"]},
      "last_contact": {"before": "2026-10-01T00:00:00Z", "after": "2026-01-01T00:00:00Z",
                       "within_days": 90, "not_within_days": 7},
      "consent": ["sms"],
      "language": ["es", "en"],
      "has_address": "sms"
    }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from centralita.channels.base import SENDER_ADDRESS_KIND, ChannelKind

SEGMENT_KEYS = ("attributes", "tags", "last_contact", "consent", "language", "has_address")
_ATTRIBUTE_OPS = ("eq", "in", "exists")
_LAST_CONTACT_OPS = ("before", "after", "within_days", "not_within_days")
_Scalar = str | int | float | bool


class SegmentError(ValueError):
    """A malformed segment; ``problems`` are (path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class AttributeRule:
    name: str
    op: str  # eq | in | exists
    values: tuple[_Scalar, ...] = ()
    exists: bool = True


@dataclass(frozen=True)
class Segment:
    attributes: tuple[AttributeRule, ...] = ()
    tags_any: frozenset[str] = frozenset()
    tags_all: frozenset[str] = frozenset()
    contact_before: datetime | None = None
    contact_after: datetime | None = None
    within_days: int | None = None
    not_within_days: int | None = None
    consent: tuple[str, ...] = ()
    languages: frozenset[str] = frozenset()
    address_kind: str | None = None  # the contact must have an address of this kind


@dataclass(frozen=True)
class ContactFacts:
    """What a segment may look at, as plain data."""

    id: str
    name: str | None = None
    language: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    consent: Mapping[str, Any] = field(default_factory=dict)
    last_contact_at: datetime | None = None
    address_kinds: frozenset[str] = frozenset()


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _when(value: object, path: str, problems: list[tuple[str, str]]) -> datetime | None:
    if not isinstance(value, str):
        problems.append((path, "must be an ISO 8601 date-time with a time zone"))
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append((path, f"not an ISO 8601 date-time: {value!r}"))
        return None
    if parsed.tzinfo is None:
        problems.append((path, "needs a time zone, e.g. 2026-10-01T00:00:00Z"))
        return None
    return parsed


def _days(value: object, path: str, problems: list[tuple[str, str]]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 3650:
        problems.append((path, "must be a whole number of days from 1 to 3650"))
        return None
    return value


def _strings(value: object, path: str, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append((path, "must be a non-empty list of strings"))
        return ()
    return tuple(value)


def _attributes(raw: object, problems: list[tuple[str, str]]) -> tuple[AttributeRule, ...]:
    if not isinstance(raw, dict):
        problems.append(("attributes", "must be an object of attribute name to rule"))
        return ()
    rules = []
    for name, rule in sorted(raw.items()):
        path = f"attributes.{name}"
        if _scalar(rule):  # shorthand: {"plan": "gold"}
            rules.append(AttributeRule(name, "eq", (rule,)))
            continue
        if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in _ATTRIBUTE_OPS:
            problems.append((path, 'use exactly one of {"eq": v}, {"in": [..]}, {"exists": bool}'))
            continue
        op, value = next(iter(rule.items()))
        if op == "eq" and _scalar(value):
            rules.append(AttributeRule(name, "eq", (value,)))
        elif op == "in" and isinstance(value, list) and value and all(map(_scalar, value)):
            rules.append(AttributeRule(name, "in", tuple(value)))
        elif op == "exists" and isinstance(value, bool):
            rules.append(AttributeRule(name, "exists", exists=value))
        else:
            problems.append((f"{path}.{op}", "wrong value for this rule"))
    return tuple(rules)


def parse_segment(raw: object) -> Segment:
    """The segment ``raw`` describes; raises ``SegmentError`` naming every problem."""
    if raw is None:
        return Segment()
    if not isinstance(raw, dict):
        raise SegmentError([("segment", "must be an object")])
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in SEGMENT_KEYS:
            problems.append((str(key), f"unknown rule; use {', '.join(SEGMENT_KEYS)}"))
    attributes = _attributes(raw["attributes"], problems) if "attributes" in raw else ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    if "tags" in raw:
        tags = raw["tags"]
        if not isinstance(tags, dict) or not tags or set(tags) - {"any", "all"}:
            problems.append(("tags", 'use {"any": [..]} and/or {"all": [..]}'))
        else:
            if "any" in tags:
                tags_any = _strings(tags["any"], "tags.any", problems)
            if "all" in tags:
                tags_all = _strings(tags["all"], "tags.all", problems)
    last: dict[str, Any] = {}
    if "last_contact" in raw:
        lc = raw["last_contact"]
        if not isinstance(lc, dict) or not lc or set(lc) - set(_LAST_CONTACT_OPS):
            problems.append(("last_contact", f"use some of {', '.join(_LAST_CONTACT_OPS)}"))
        else:
            for op in ("before", "after"):
                if op in lc:
                    last[op] = _when(lc[op], f"last_contact.{op}", problems)
            for op in ("within_days", "not_within_days"):
                if op in lc:
                    last[op] = _days(lc[op], f"last_contact.{op}", problems)
    consent = _strings(raw["consent"], "consent", problems) if "consent" in raw else ()
    languages = _strings(raw["language"], "language", problems) if "language" in raw else ()
    address_kind = None
    if "has_address" in raw:
        try:
            address_kind = SENDER_ADDRESS_KIND[ChannelKind(raw["has_address"])]
        except (ValueError, KeyError):
            problems.append(("has_address", "must be a channel: sms, whatsapp or email"))
    if problems:
        raise SegmentError(problems)
    return Segment(
        attributes=attributes,
        tags_any=frozenset(tags_any),
        tags_all=frozenset(tags_all),
        contact_before=last.get("before"),
        contact_after=last.get("after"),
        within_days=last.get("within_days"),
        not_within_days=last.get("not_within_days"),
        consent=consent,
        languages=frozenset(lang.lower() for lang in languages),
        address_kind=address_kind,
    )


def _attribute_ok(rule: AttributeRule, attributes: Mapping[str, Any]) -> bool:
    present = rule.name in attributes and attributes[rule.name] not in (None, "")
    if rule.op == "exists":
        return present == rule.exists
    return present and attributes[rule.name] in rule.values


def _language_ok(languages: frozenset[str], language: str | None) -> bool:
    if not languages:
        return True
    if not language:
        return False
    lang = language.lower()
    # "es" matches "es-MX"; "pt-br" matches only itself
    return lang in languages or lang.split("-")[0] in languages


def _last_contact_ok(segment: Segment, at: datetime | None, now: datetime) -> bool:
    rules = (
        segment.contact_before,
        segment.contact_after,
        segment.within_days,
        segment.not_within_days,
    )
    if all(rule is None for rule in rules):
        return True
    if at is None:
        # never contacted: "not within N days" and "before" hold, the others cannot
        return segment.contact_after is None and segment.within_days is None
    if segment.contact_before is not None and not at < segment.contact_before:
        return False
    if segment.contact_after is not None and not at >= segment.contact_after:
        return False
    if segment.within_days is not None and at < now - timedelta(days=segment.within_days):
        return False
    return not (
        segment.not_within_days is not None and at >= now - timedelta(days=segment.not_within_days)
    )


def matches(segment: Segment, contact: ContactFacts, *, now: datetime) -> bool:
    """True when ``contact`` is in ``segment``."""
    if not all(_attribute_ok(rule, contact.attributes) for rule in segment.attributes):
        return False
    if segment.tags_any and not segment.tags_any & contact.tags:
        return False
    if not segment.tags_all <= contact.tags:
        return False
    if not all(contact.consent.get(flag) is True for flag in segment.consent):
        return False
    if not _language_ok(segment.languages, contact.language):
        return False
    if segment.address_kind is not None and segment.address_kind not in contact.address_kinds:
        return False
    return _last_contact_ok(segment, contact.last_contact_at, now)
