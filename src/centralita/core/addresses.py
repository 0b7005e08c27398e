"""Contact addresses: the kinds we know and how each is normalised."""

from __future__ import annotations

import re
from enum import StrEnum

from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.core.phone import to_e164


class AddressKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    WEB = "web"


_VISITOR = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def normalise_address(
    kind: AddressKind | str, value: str, *, default_region: str | None = None, field: str = "value"
) -> tuple[AddressKind, str]:
    """Return the canonical (kind, value); raise ``InvalidInput`` naming ``field``."""
    try:
        k = AddressKind(kind)
    except ValueError as exc:
        allowed = ", ".join(a.value for a in AddressKind)
        raise InvalidInput.for_field(
            "kind", f"unknown address kind {kind!r}; use {allowed}"
        ) from exc
    if k is AddressKind.PHONE:
        return k, to_e164(value, default_region=default_region, field=field)
    if k is AddressKind.EMAIL:
        return k, normalise_email(value, field=field)
    if k is AddressKind.WHATSAPP:
        # A WhatsApp id (wa_id) is the phone number in international form without '+'.
        digits = to_e164(value if value.startswith("+") else "+" + value, field=field).lstrip("+")
        return k, digits
    text = value.strip()
    if not _VISITOR.match(text):
        raise InvalidInput.for_field(field, "a web visitor id is 1-128 letters, digits or _.:-")
    return k, text
