"""Folding text for matching: what callers type or say, compared without case or accents."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lower case without accents: "Doctora García" -> "doctora garcia"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold_words(text: str) -> str:
    """``fold``, apostrophes dropped ("I'd" -> "id") and every run of punctuation or space
    made one space: words separated by single spaces, for phrase matching."""
    bare = fold(text).replace("'", "").replace("’", "")
    return " ".join(_NON_WORD.sub(" ", bare).split())
