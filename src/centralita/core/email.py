"""Email addresses: normalised and validated without any DNS lookup."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from centralita.core.errors import InvalidInput


def normalise_email(raw: str, *, field: str = "email") -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput.for_field(field, f"not a valid email address: {exc}") from exc
    return str(result.normalized).lower()
