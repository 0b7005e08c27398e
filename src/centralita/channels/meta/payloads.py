"""The JSON bodies of ``POST /{phone_number_id}/messages``, and the customer-service window.

Pure: a message in, the Cloud API body out, or ``Refused`` with a reason an agent can act on.
Meta's documented limits are checked here, so a message that breaks them fails with that
reason instead of a bare 400 from the Graph API:

- reply buttons (``interactive.type = button``): at most 3, id ≤ 256 characters, title ≤ 20,
  body ≤ 1024;
- a list (``interactive.type = list``): at most 10 rows, button label ≤ 20, row id ≤ 200,
  row title ≤ 24, row description ≤ 72, body ≤ 4096;
- a template (``type = template``): ``name``, ``language.code`` and body parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from centralita.channels.base import Choice, OutboundMessage, TemplateRef

WINDOW_HOURS = 24
WINDOW_REASON = (
    "outside WhatsApp's 24-hour customer-service window: only an approved template may be sent"
)
MAX_TEXT = 4096
MAX_BUTTONS, BUTTON_ID, BUTTON_TITLE, BUTTON_BODY = 3, 256, 20, 1024
MAX_ROWS, ROW_ID, ROW_TITLE, ROW_DESCRIPTION, LIST_LABEL = 10, 200, 24, 72, 20
MAX_TEMPLATE_PARAMETER = 1024
DEFAULT_LIST_LABEL = "Options"
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Refused(ValueError):
    """The message cannot be sent as asked; the text says why."""


@dataclass(frozen=True)
class Built:
    payload: dict[str, Any]
    details: dict[str, Any]  # what was sent instead of what was asked, if anything


def window_open(metadata: Mapping[str, Any]) -> bool:
    """Whether free text may go out: the customer wrote to this number within 24 hours."""
    last, now = metadata.get("last_inbound_at"), metadata.get("now")
    if not isinstance(last, datetime) or not isinstance(now, datetime):
        return False
    return (now - last).total_seconds() <= WINDOW_HOURS * 3600


def build(message: OutboundMessage, settings: Mapping[str, Any]) -> Built:
    """The body for ``message``: its template; inside the window its text, buttons or list;
    outside it the account's re-engagement template, or ``Refused`` when there is none."""
    if message.template is not None:
        return Built(template(message.to.value, message.template), {})
    if window_open(message.metadata):
        return Built(_session_message(message, settings), {})
    reengage = reengagement(settings, message)
    if reengage is None:
        raise Refused(WINDOW_REASON)
    details = {
        "template_used": {"name": reengage.name, "language": reengage.language,
                          "reason": "outside the 24-hour customer-service window"},
    }  # fmt: skip
    return Built(template(message.to.value, reengage), details)


def _base(to: str, kind: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}


def _session_message(message: OutboundMessage, settings: Mapping[str, Any]) -> dict[str, Any]:
    to, choices = message.to.value, message.choices
    if not choices:
        if not message.text.strip():
            raise Refused("the message has no text")
        return {
            **_base(to, "text"),
            "text": {"preview_url": False, "body": message.text[:MAX_TEXT]},
        }
    _unique_ids(choices)
    if len(choices) <= MAX_BUTTONS:
        return buttons(to, message.text, choices)
    label = str(settings.get("list_button_label") or DEFAULT_LIST_LABEL)
    return choice_list(to, message.text, choices, label=label)


def _unique_ids(choices: tuple[Choice, ...]) -> None:
    if len({c.id for c in choices}) != len(choices):
        raise Refused("choice ids must be unique")


def _check(value: str, limit: int, what: str) -> str:
    if not value or not value.strip():
        raise Refused(f"{what}: required")
    if len(value) > limit:
        raise Refused(f"{what}: {len(value)} characters; WhatsApp allows at most {limit}")
    return value


def buttons(to: str, body: str, choices: tuple[Choice, ...]) -> dict[str, Any]:
    """Up to three reply buttons under ``body``."""
    if len(choices) > MAX_BUTTONS:
        raise Refused(f"{len(choices)} buttons; WhatsApp allows at most {MAX_BUTTONS}")
    items = [
        {"type": "reply", "reply": {"id": _check(c.id, BUTTON_ID, f"button {n} id"),
                                    "title": _check(c.title, BUTTON_TITLE, f"button {n} title")}}
        for n, c in enumerate(choices, start=1)
    ]  # fmt: skip
    return {
        **_base(to, "interactive"),
        "interactive": {
            "type": "button",
            "body": {"text": _check(body, BUTTON_BODY, "body")},
            "action": {"buttons": items},
        },
    }


def choice_list(to: str, body: str, choices: tuple[Choice, ...], *, label: str) -> dict[str, Any]:
    """Up to ten rows in one section, opened by a button labelled ``label``."""
    if len(choices) > MAX_ROWS:
        raise Refused(f"{len(choices)} list rows; WhatsApp allows at most {MAX_ROWS}")
    rows = []
    for n, c in enumerate(choices, start=1):
        row = {"id": _check(c.id, ROW_ID, f"row {n} id"),
               "title": _check(c.title, ROW_TITLE, f"row {n} title")}  # fmt: skip
        if c.description:
            row["description"] = _check(c.description, ROW_DESCRIPTION, f"row {n} description")
        rows.append(row)
    return {
        **_base(to, "interactive"),
        "interactive": {
            "type": "list",
            "body": {"text": _check(body, MAX_TEXT, "body")},
            "action": {"button": _check(label, LIST_LABEL, "list button label"),
                       "sections": [{"rows": rows}]},
        },
    }  # fmt: skip


def _parameter(value: str) -> str:
    """Meta refuses parameters with newlines, tabs or more than four spaces in a row."""
    text = re.sub(r"\s+", " ", value).strip()
    if not text:
        raise Refused("a template parameter is empty")
    return text[:MAX_TEMPLATE_PARAMETER]


def template(to: str, ref: TemplateRef) -> dict[str, Any]:
    if not _TEMPLATE_NAME.match(ref.name):
        raise Refused(f"template name {ref.name!r}: lower-case letters, digits and underscores")
    if not _LANGUAGE.match(ref.language):
        raise Refused(f"template language {ref.language!r}: a code such as es or en_US")
    body: dict[str, Any] = {"name": ref.name, "language": {"code": ref.language}}
    if ref.parameters:
        parameters = [{"type": "text", "text": _parameter(p)} for p in ref.parameters]
        body["components"] = [{"type": "body", "parameters": parameters}]
    return {**_base(to, "template"), "template": body}


def reengagement(settings: Mapping[str, Any], message: OutboundMessage) -> TemplateRef | None:
    """The account's ``reengagement_template``, its body parameters filled in.

    Each parameter is text in which ``{contact_name}`` and ``{text}`` (the message that could
    not be sent as free text) are replaced; an unknown name is left as written.
    """
    config = settings.get("reengagement_template")
    if not isinstance(config, Mapping) or not config.get("name"):
        return None
    values = {
        "contact_name": str(message.metadata.get("contact_name") or "").strip() or "-",
        "text": message.text,
    }
    raw = config.get("body_parameters") or []
    parameters = tuple(
        _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), str(p)) for p in raw
    )
    return TemplateRef(str(config["name"]), str(config.get("language") or "es"), parameters)
