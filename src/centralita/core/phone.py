"""Phone numbers: parse anything a person types into E.164, or say why not."""

from __future__ import annotations

import phonenumbers

from centralita.core.errors import InvalidInput


def to_e164(raw: str, *, default_region: str | None = None, field: str = "phone") -> str:
    """Return the E.164 form of ``raw``; raise ``InvalidInput`` naming ``field`` otherwise."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput.for_field(field, f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput.for_field(field, f"not a valid phone number: {raw!r}")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
