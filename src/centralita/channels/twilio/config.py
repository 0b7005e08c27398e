"""What a Twilio channel account needs in the tenant file (checked at validate and apply)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.channels.base import ConfigProblem

KINDS = frozenset({"sms", "voice"})  # SMS, and voice turn by turn (docs/channels.md)


def problems(kind: str, settings: Mapping[str, object], has_secret: bool) -> list[ConfigProblem]:
    found: list[ConfigProblem] = []
    if kind not in KINDS:
        found.append((("kind",), f"twilio supports {', '.join(sorted(KINDS))} here"))
    sid = settings.get("account_sid")
    if not isinstance(sid, str) or not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        found.append((("settings", "account_sid"), "required: AC followed by 32 hex digits"))
    base = settings.get("api_base_url")
    if base is not None and (
        not isinstance(base, str) or not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", base)
    ):
        found.append((("settings", "api_base_url"), "an http(s) URL, e.g. https://api.twilio.com"))
    if not has_secret:
        found.append((("secret_env",), "the auth token: secret or secret_env"))
    return found
