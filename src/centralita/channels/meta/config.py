"""What a WhatsApp Cloud API channel account needs in the tenant file."""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.channels.base import ConfigProblem

_STRINGS = ("verify_token", "access_token_env", "graph_api_url", "graph_api_version")


def problems(kind: str, settings: Mapping[str, object], has_secret: bool) -> list[ConfigProblem]:
    found: list[ConfigProblem] = []
    if kind != "whatsapp":
        found.append((("kind",), "meta serves whatsapp"))
    for name in _STRINGS:
        if name in settings and not isinstance(settings[name], str):
            found.append((("settings", name), "a string"))
    env = settings.get("access_token_env")
    if isinstance(env, str) and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env):
        found.append((("settings", "access_token_env"), "an environment variable name"))
    return found
