"""What a web chat account may say in the tenant file, checked at validate and apply.

```yaml
settings:
  allowed_origins: [https://www.example.com]   # pages allowed to open the widget; empty: any
  prechat: [name, email, phone]                # the pre-chat form's fields; empty: no form
  prechat_required: [email]                    # which of them must be filled
  offline_when_closed: true                    # outside business hours: leave a message
  offline: false                               # force the leave-a-message form
  colour: "#0e7c86"
  welcome: {es: "¡Hola!", en: "Hi!"}
```

No secret is needed: a random one is made for the account on first use (and kept when the
file is applied again without one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from centralita.channels.base import ConfigProblem

PRECHAT_FIELDS = ("name", "email", "phone")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_BOOLS = ("offline_when_closed", "offline")


@dataclass(frozen=True)
class WidgetSettings:
    allowed_origins: tuple[str, ...] = ()
    prechat: tuple[str, ...] = ()
    prechat_required: tuple[str, ...] = ()
    offline_when_closed: bool = True
    offline: bool = False
    colour: str = "#0e7c86"
    welcome: Mapping[str, str] = field(default_factory=dict)

    def origin_allowed(self, origin: str | None) -> bool:
        """No list allows every page; with a list, a request must come from one of them."""
        if not self.allowed_origins:
            return True
        return origin is not None and origin.rstrip("/").lower() in self.allowed_origins


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def widget_settings(settings: Mapping[str, object]) -> WidgetSettings:
    """The account's settings as plain data; what ``problems`` would refuse is left out."""
    welcome = settings.get("welcome")
    colour = settings.get("colour")
    return WidgetSettings(
        allowed_origins=tuple(
            o.rstrip("/").lower() for o in _strings(settings.get("allowed_origins"))
        ),
        prechat=tuple(f for f in _strings(settings.get("prechat")) if f in PRECHAT_FIELDS),
        prechat_required=tuple(
            f for f in _strings(settings.get("prechat_required")) if f in PRECHAT_FIELDS
        ),
        offline_when_closed=settings.get("offline_when_closed", True) is not False,
        offline=settings.get("offline") is True,
        colour=colour if isinstance(colour, str) and _COLOUR.match(colour) else "#0e7c86",
        welcome={
            k: v for k, v in (welcome or {}).items() if k in ("es", "en") and isinstance(v, str)
        }
        if isinstance(welcome, dict)
        else {},
    )


def problems(kind: str, settings: Mapping[str, object], has_secret: bool) -> list[ConfigProblem]:
    found: list[ConfigProblem] = []
    if kind != "webchat":
        found.append((("kind",), "webchat serves webchat"))
    origins = settings.get("allowed_origins", [])
    if not isinstance(origins, list):
        found.append((("settings", "allowed_origins"), "a list of origins"))
    else:
        for i, origin in enumerate(origins):
            if not isinstance(origin, str) or not _ORIGIN.match(origin.rstrip("/")):
                found.append(
                    (("settings", "allowed_origins", str(i)), "scheme://host[:port], no path")
                )
    for name in ("prechat", "prechat_required"):
        value = settings.get(name, [])
        if not isinstance(value, list) or any(v not in PRECHAT_FIELDS for v in value):
            found.append((("settings", name), f"a list of {', '.join(PRECHAT_FIELDS)}"))
    required = _strings(settings.get("prechat_required"))
    shown = _strings(settings.get("prechat"))
    for name in required:
        if name not in shown:
            found.append((("settings", "prechat_required"), f"{name} is not in prechat"))
    for name in _BOOLS:
        if name in settings and not isinstance(settings[name], bool):
            found.append((("settings", name), "true or false"))
    colour = settings.get("colour")
    if colour is not None and not (isinstance(colour, str) and _COLOUR.match(colour)):
        found.append((("settings", "colour"), "a colour like #0e7c86"))
    welcome = settings.get("welcome")
    if welcome is not None and not (
        isinstance(welcome, dict)
        and all(k in ("es", "en") and isinstance(v, str) for k, v in welcome.items())
    ):
        found.append((("settings", "welcome"), "texts by language: {es: …, en: …}"))
    return found
