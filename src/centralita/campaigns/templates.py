"""Message templates: ``{variable}`` placeholders filled per contact.

Variables: ``{name}``, ``{first_name}``, ``{attributes.<key>}``, ``{appointment.date}``,
``{appointment.time}`` (the contact's next booked appointment, in the contact's time zone) and
``{business}``. ``{{`` and ``}}`` write a literal brace. A contact whose text would need a
variable they lack is never sent a broken text: ``render`` reports it as missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SIMPLE_VARIABLES = ("name", "first_name", "business", "appointment.date", "appointment.time")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ATTRIBUTE = re.compile(r"^attributes\.[A-Za-z0-9_\-]{1,63}$")


class TemplateError(ValueError):
    """A template that cannot be rendered for anybody (bad syntax, unknown variable)."""


@dataclass(frozen=True)
class Rendered:
    text: str | None  # None when a variable is missing
    missing: tuple[str, ...] = ()


def variables(template: str) -> tuple[str, ...]:
    """The variables ``template`` uses, in order of first use; raises ``TemplateError``."""
    found: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(f"unpaired brace at character {match.start() + 1}; write {{{{")
        name = name.strip()
        if name not in SIMPLE_VARIABLES and not _ATTRIBUTE.match(name):
            known = ", ".join(f"{{{v}}}" for v in SIMPLE_VARIABLES)
            raise TemplateError(f"unknown variable {{{name}}}; use {known} or {{attributes.x}}")
        if name not in found:
            found.append(name)
    return tuple(found)


def render(template: str, values: Mapping[str, str | None]) -> Rendered:
    """``template`` with ``values`` filled in; an absent or blank value is missing."""
    needed = variables(template)
    missing = tuple(v for v in needed if not (values.get(v) or "").strip())
    if missing:
        return Rendered(None, missing)

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return str(values[match.group(1).strip()]).strip()

    return Rendered(_TOKEN.sub(fill, template))


def first_name(name: str | None) -> str | None:
    """The first word of a full name."""
    if not name or not name.strip():
        return None
    return name.strip().split()[0]
