"""What a WhatsApp Cloud API channel account needs in the tenant file."""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.channels.base import ConfigProblem

_STRINGS = (
    "verify_token",
    "access_token_env",
    "graph_api_url",
    "graph_api_version",
    "list_button_label",
)
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")


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
    label = settings.get("list_button_label")
    if isinstance(label, str) and not 1 <= len(label) <= 20:
        found.append((("settings", "list_button_label"), "1 to 20 characters"))
    rate = settings.get("rate_per_second")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1000
    ):
        found.append((("settings", "rate_per_second"), "a number above 0, at most 1000"))
    found.extend(_template_problems(settings.get("reengagement_template")))
    return found


def _template_problems(value: object) -> list[ConfigProblem]:
    """``reengagement_template: {name, language, body_parameters: [text, ...]}``."""
    where = ("settings", "reengagement_template")
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [(where, "a mapping with name, language and optional body_parameters")]
    found: list[ConfigProblem] = []
    unknown = set(value) - {"name", "language", "body_parameters"}
    if unknown:
        found.append((where, f"unknown keys: {', '.join(sorted(map(str, unknown)))}"))
    name = value.get("name")
    if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
        found.append(((*where, "name"), "the template's name: lower-case letters, digits, _"))
    language = value.get("language")
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        found.append(((*where, "language"), "a language code such as es or en_US"))
    params = value.get("body_parameters", [])
    if not isinstance(params, list) or not all(isinstance(p, str) and p for p in params):
        found.append(((*where, "body_parameters"), "a list of texts ({contact_name}, {text})"))
    return found
