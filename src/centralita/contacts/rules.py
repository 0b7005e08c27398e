"""Contact field rules: limits and checks shared by the API, the CSV import and merges.

Pure functions: each returns the clean value or raises ``InvalidInput`` naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from centralita.core.errors import InvalidInput

# Limits shared by the API, the CSV import and merges.
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_TEXT = 1000
MAX_TAGS = 50
MAX_TAG_LENGTH = 40
MAX_CONSENT_KEYS = 20
MAX_ADDRESSES = 50
MAX_VALUE = Decimal("999999999999.99")  # Numeric(14, 2)
EDITABLE = ("name", "language", "attributes", "tags", "value", "consent", "vip")

_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_CONSENT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(value: object, field: str = "name") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput.for_field(field, "must be text")
    text = value.strip()
    if len(text) > 200:
        raise InvalidInput.for_field(field, "at most 200 characters")
    if _CONTROL.search(text):
        raise InvalidInput.for_field(field, "control characters are not allowed")
    return text or None


def check_language(value: object, field: str = "language") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 8 or not _LANGUAGE.match(value):
        raise InvalidInput.for_field(field, "a language code such as 'es', 'en' or 'pt-BR'")
    return value


def check_attributes(value: object, field: str = "attributes") -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput.for_field(field, "must be an object")
    if len(value) > MAX_ATTRIBUTES:
        raise InvalidInput.for_field(field, f"at most {MAX_ATTRIBUTES} attributes")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _ATTRIBUTE_KEY.match(key):
            raise InvalidInput.for_field(
                field, f"attribute name {key!r}: 1-64 letters, digits, '_', '.' or '-'"
            )
        out[key] = check_attribute_value(item, f"{field}.{key}")
    return out


def check_attribute_value(item: object, field: str) -> Any:
    """Attribute values are scalars: text, a finite number, true/false or null."""
    if item is None or isinstance(item, bool | int):
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidInput.for_field(field, "numbers must be finite")
        return item
    if isinstance(item, str):
        if len(item) > MAX_ATTRIBUTE_TEXT:
            raise InvalidInput.for_field(field, f"at most {MAX_ATTRIBUTE_TEXT} characters")
        if "\x00" in item:
            raise InvalidInput.for_field(field, "NUL characters are not allowed")
        return item
    raise InvalidInput.for_field(field, "must be text, a number, true/false or null")


def check_tags(value: object, field: str = "tags") -> list[str]:
    if not isinstance(value, list | tuple):
        raise InvalidInput.for_field(field, "must be a list of text")
    tags: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            raise InvalidInput.for_field(f"{field}[{i}]", "must be text")
        text = tag.strip()
        if not text or len(text) > MAX_TAG_LENGTH:
            raise InvalidInput.for_field(f"{field}[{i}]", f"1-{MAX_TAG_LENGTH} characters")
        if _CONTROL.search(text) or ";" in text:
            raise InvalidInput.for_field(f"{field}[{i}]", "no ';' or control characters")
        if text not in tags:
            tags.append(text)
    if len(tags) > MAX_TAGS:
        raise InvalidInput.for_field(field, f"at most {MAX_TAGS} tags")
    return tags


def check_value(value: object, field: str = "value") -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise InvalidInput.for_field(field, f"not a number: {value!r}") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise InvalidInput.for_field(field, f"a number from 0 to {MAX_VALUE}")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput.for_field(field, "at most 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def check_consent(value: object, field: str = "consent") -> dict[str, bool]:
    if not isinstance(value, Mapping):
        raise InvalidInput.for_field(field, "must be an object of true/false flags")
    if len(value) > MAX_CONSENT_KEYS:
        raise InvalidInput.for_field(field, f"at most {MAX_CONSENT_KEYS} consent flags")
    out: dict[str, bool] = {}
    for key, flag in value.items():
        if not isinstance(key, str) or not _CONSENT_KEY.match(key):
            raise InvalidInput.for_field(
                field, f"consent name {key!r}: lower-case letters, digits and '_', up to 32"
            )
        if not isinstance(flag, bool):
            raise InvalidInput.for_field(f"{field}.{key}", "must be true or false")
        out[key] = flag
    return out


def check_vip(value: object, field: str = "vip") -> bool:
    if not isinstance(value, bool):
        raise InvalidInput.for_field(field, "must be true or false")
    return value


FIELD_RULES = {
    "name": check_name,
    "language": check_language,
    "attributes": check_attributes,
    "tags": check_tags,
    "value": check_value,
    "consent": check_consent,
    "vip": check_vip,
}


def clean_fields(fields: Mapping[str, object]) -> dict[str, Any]:
    """Validate editable contact fields; raise ``InvalidInput`` naming the first bad one."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        rule = FIELD_RULES.get(key)
        if rule is None:
            raise InvalidInput.for_field(key, "not a contact field")
        out[key] = rule(value)
    return out


def patch_mapping(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """JSON merge patch, one level deep: a null value removes the key."""
    out = dict(current)
    for key, item in patch.items():
        if item is None:
            out.pop(key, None)
        else:
            out[key] = item
    return out
