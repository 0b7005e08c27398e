"""Opt-out and opt-in keywords in an inbound message.

Only a whole message counts: "STOP", "stop.", " Baja! " opt out, while "BAJA por favor" or
"no me deis de baja" do not (a word inside a sentence is too often something else). Case,
accents, surrounding punctuation, emoji and repeated spaces are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

# Carriers' and Twilio's English set, and the usual Spanish words. "CANCELAR" is on the list
# as the brief's built-ins ask, although a bare "cancelar" may also mean an appointment; the
# confirmation reply tells the contact how to opt back in.
OPT_OUT_KEYWORDS = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT OUT",
    "BAJA",
    "DAR DE BAJA",
    "DARME DE BAJA",
    "CANCELAR",
    "ALTO",
    "PARAR",
    "NO MAS",
)
OPT_IN_KEYWORDS = ("START", "UNSTOP", "ALTA", "DAR DE ALTA", "DARME DE ALTA", "SUSCRIBIR")

Keyword = Literal["opt_out", "opt_in"]

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"[\s\-_]+")


def normalize(text: str) -> str:
    """Upper case, no accents, no surrounding punctuation, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _EDGES.sub("", plain.strip())
    return _SPACES.sub(" ", plain).upper()


def classify(text: str, *, extra_opt_out: Iterable[str] = ()) -> tuple[Keyword, str] | None:
    """("opt_out" | "opt_in", the normalized keyword) when the whole message is a keyword."""
    if len(text) > 60:
        return None
    word = normalize(text)
    if not word:
        return None
    if word in OPT_OUT_KEYWORDS or word in {normalize(w) for w in extra_opt_out}:
        return "opt_out", word
    if word in OPT_IN_KEYWORDS:
        return "opt_in", word
    return None


_CONFIRMATIONS = {
    ("opt_out", "es"): (
        "Hecho: no te enviaremos más mensajes promocionales ni avisos. "
        "Si cambias de idea, responde ALTA."
    ),
    ("opt_out", "en"): (
        "Done: you will not get any more promotional messages or reminders from us. "
        "Reply START to opt back in."
    ),
    (
        "opt_in",
        "es",
    ): "Hecho: vuelves a recibir nuestros mensajes. Para darte de baja, responde BAJA.",
    ("opt_in", "en"): "Done: you will get our messages again. Reply STOP to opt out.",
}


def confirmation(kind: Keyword, language: str | None) -> str:
    """The one reply to a keyword, in Spanish unless the contact's language is English."""
    lang = "en" if (language or "").lower().startswith("en") else "es"
    return _CONFIRMATIONS[(kind, lang)]
