"""What identifies a contact, and how to scrub it out of text and JSON. Pure.

Erasure collects the contact's *needles* (name, every address and the spellings those take in
stored text and JSON), then replaces each occurrence with ``ERASED`` wherever it survives.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
MIN_NEEDLE = 4  # shorter strings would scrub unrelated text; see docs/privacy.md


def needles(name: str | None, addresses: Iterable[tuple[str, str]]) -> list[str]:
    """Every string that identifies the contact, longest first (so that "+34600…" goes
    before "34600…"). ``addresses`` holds (kind, normalised value) pairs."""
    found: set[str] = set()
    full = " ".join((name or "").split())
    if len(full.split()) >= 2 and len(full) >= MIN_NEEDLE:
        # a full name only: one word ("María") would scrub every other María's messages
        found.update({full, _folded(full)})
    for kind, value in addresses:
        value = value.strip()
        if not value:
            continue
        found.add(value)
        if kind in ("phone", "whatsapp"):
            digits = value.lstrip("+")
            found.update({digits, "+" + digits})
        if kind == "web" and value.startswith("web:"):
            found.add(value.removeprefix("web:"))
    found = {n for n in found if len(n) >= MIN_NEEDLE}
    # JSON stored as text escapes non-ASCII ("José" -> "Jos\u00e9"): look for that too
    escaped = {json.dumps(n)[1:-1] for n in found}
    return sorted(found | escaped, key=lambda n: (-len(n), n))


def _folded(text: str) -> str:
    """Without accents: what search indexes and some channels make of "José"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _pattern(items: list[str]) -> re.Pattern[str] | None:
    if not items:
        return None
    return re.compile("|".join(re.escape(n) for n in items), re.IGNORECASE)


def scrub_text(text: str, items: list[str]) -> str:
    """``text`` with every needle replaced (case-insensitive: emails and names vary)."""
    pattern = _pattern(items)
    return text if pattern is None else pattern.sub(ERASED, text)


def contains(text: str, items: list[str]) -> bool:
    lowered = text.lower()
    return any(n.lower() in lowered for n in items)


def scrub_json(value: Any, items: list[str]) -> Any:
    """A copy of a JSON value with every needle replaced in strings and object keys."""
    if isinstance(value, str):
        return scrub_text(value, items)
    if isinstance(value, list):
        return [scrub_json(v, items) for v in value]
    if isinstance(value, dict):
        return {scrub_text(str(k), items): scrub_json(v, items) for k, v in value.items()}
    return value
