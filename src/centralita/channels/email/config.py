"""What an email channel account (``smtp`` or ``imap``) needs in the tenant file."""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.channels.base import ConfigProblem
from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput

_ENV = re.compile(r"[A-Z_][A-Z0-9_]*")
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}")
_PORT = ("smtp_port", "imap_port")
_BOOLS = ("smtp_starttls", "imap_ssl")
_STRINGS = ("smtp_host", "smtp_username", "display_name", "imap_host", "imap_username")


def address_problem(address: str) -> str | None:
    """The account's address is the mailbox mail is sent to and answered from."""
    try:
        normalise_email(address, field="address")
    except InvalidInput:
        return "an email address, e.g. recepcion@clinica.es"
    return None


def problems(kind: str, settings: Mapping[str, object], has_secret: bool) -> list[ConfigProblem]:
    found: list[ConfigProblem] = []
    if kind != "email":
        found.append((("kind",), "smtp and imap serve email"))
    if not has_secret:
        found.append((("secret_env",), "required: it signs each mail handed to the hook"))
    for name in _STRINGS:
        if name in settings and not isinstance(settings[name], str):
            found.append((("settings", name), "a string"))
    for name in ("smtp_host", "imap_host"):
        value = settings.get(name)
        if isinstance(value, str) and value and not _HOST.fullmatch(value):
            found.append((("settings", name), "a host name or IP address"))
    for name in _PORT:
        value = settings.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536
        ):
            found.append((("settings", name), "a port number, 1 to 65535"))
    for name in _BOOLS:
        if name in settings and not isinstance(settings[name], bool):
            found.append((("settings", name), "true or false"))
    for name in ("smtp_password_env", "imap_password_env"):
        value = settings.get(name)
        if value is not None and (not isinstance(value, str) or not _ENV.fullmatch(value)):
            found.append((("settings", name), "an environment variable name"))
    folder = settings.get("imap_folder")
    if folder is not None and (not isinstance(folder, str) or not 0 < len(folder) <= 200):
        found.append((("settings", "imap_folder"), "a mailbox name, e.g. INBOX"))
    return found


def imap_problems(
    kind: str, settings: Mapping[str, object], has_secret: bool
) -> list[ConfigProblem]:
    """IMAP polling also needs where to log in."""
    found = problems(kind, settings, has_secret)
    for name in ("imap_host", "imap_username", "imap_password_env"):
        if not settings.get(name):
            found.append((("settings", name), "required for imap polling"))
    return found
