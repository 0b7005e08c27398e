"""Card numbers and security codes out of a caller's turn, before anything stores or reads it.

A card number is 13 to 19 digits that pass the Luhn check and start with 2-6 (Visa,
Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). Callers type them in one piece or
in groups ("4111 1111 1111 1111", "4111-1111-1111-1111", Amex "3782 822463 10005"), or say them
digit by digit ("cuatro uno uno uno..."). Phone numbers are left alone: their groups of two or
three digits never form a card's grouping, and a leading "+" rules a number out.

A security code (CVV) is a 3-4 digit group introduced by "cvv", "security code", "código de
seguridad"... anywhere, or by "código", "code", "pin" or nothing at all within a few words after
a card number. Dates and times ("12/27", "17:30") are never codes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CARD = "[card]"
CODE = "[code]"

_MIN_DIGITS = 13
_MAX_DIGITS = 19
_CARD_FIRST_DIGITS = frozenset("23456")
# How far after a card a bare 3-4 digit group still counts as its code (characters).
_BARE_CODE_WINDOW = 40

_DIGIT_WORDS: dict[str, str] = {
    "cero": "0",
    "uno": "1",
    "un": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TOKEN = re.compile(r"\+?\d+|[^\W\d_]+", re.UNICODE)
# What may sit between two groups of one card: spaces, dashes, dots, commas, and the odd
# filler word a caller says while reading the card aloud.
_GAP = re.compile(r"[\s\-.,;:/]*(?:(?:y|and|luego|then|guion|dash|espacio)[\s\-.,;:]*)?")
_STRONG_CODE_INTRO = re.compile(
    r"\b(?:cvv2?|cvc2?|cv2|csc|security\s+code|security\s+number|"
    r"codigo\s+de\s+seguridad|codigo\s+cvv|numero\s+de\s+seguridad|"
    r"(?:tres|3|cuatro|4)\s+(?:numeros|digitos|cifras)\s+de\s+(?:atras|detras)|"
    r"(?:three|3|four|4)\s+digits?\s+on\s+the\s+back)\b"
    r"[^\w]*(?:(?:es|is|son|are|el|the|:)\s*)*$"
)
_WEAK_CODE_INTRO = re.compile(r"\b(?:codigo|code|clave|pin)\b[^\w]*(?:(?:es|is|el|the)\s*)*$")


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    digits: str  # "" for a word that is not a digit
    plus: bool = False


def _fold(text: str) -> str:
    # Keeps the length: combining marks are dropped one-for-one only after NFC, so fold each
    # character separately and keep offsets aligned with the original text.
    out = []
    for char in text:
        base = unicodedata.normalize("NFKD", char)
        kept = "".join(c for c in base if not unicodedata.combining(c))
        out.append(kept[:1].lower()[:1] if kept else char)
    return "".join(out)


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _tokens(folded: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(folded):
        word = match.group()
        if word[0] == "+" or word.isdigit():
            tokens.append(_Token(match.start(), match.end(), word.lstrip("+"), word[0] == "+"))
        else:
            tokens.append(_Token(match.start(), match.end(), _DIGIT_WORDS.get(word, "")))
    return tokens


def _card_grouping(groups: list[int]) -> bool:
    """Groupings a card is written or read in; phone numbers (3-3-3, 2-2-2...) fail it."""
    if len(groups) == 1 or all(g == 1 for g in groups):
        return True
    if groups in ([4, 6, 5], [4, 6, 4]):  # Amex, Diners
        return True
    # 4-4-4-4, 4-4-4-4-3, 4-4-4-1...; single spoken digits may be mixed with groups of four
    return all(g in (1, 4) for g in groups[:-1]) and 1 <= groups[-1] <= 4


def _is_card(run: list[_Token]) -> bool:
    digits = "".join(t.digits for t in run)
    return (
        _MIN_DIGITS <= len(digits) <= _MAX_DIGITS
        and digits[0] in _CARD_FIRST_DIGITS
        and not run[0].plus
        and _card_grouping([len(t.digits) for t in run])
        and luhn_valid(digits)
    )


def _runs(folded: str, tokens: list[_Token]) -> list[list[_Token]]:
    """Maximal sequences of digit tokens with only separators between them."""
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    for token in tokens:
        if not token.digits:
            if current:
                runs.append(current)
            current = []
            continue
        joined = bool(current) and _GAP.fullmatch(folded[current[-1].end : token.start])
        if current and not joined:
            runs.append(current)
            current = []
        current.append(token)
    if current:
        runs.append(current)
    return runs


def _cards(folded: str, tokens: list[_Token]) -> list[tuple[int, int]]:
    spans = []
    for run in _runs(folded, tokens):
        i = 0
        while i < len(run):
            # the longest card starting at i; a card has at most 19 groups (one per digit)
            for j in range(min(len(run), i + _MAX_DIGITS), i, -1):
                if _is_card(run[i:j]):
                    spans.append((run[i].start, run[j - 1].end))
                    i = j
                    break
            else:
                i += 1
    return spans


def _segments(
    folded: str, tokens: list[_Token], cards: list[tuple[int, int]]
) -> list[list[_Token]]:
    """Digit runs once the card numbers are taken out."""
    free = [t for t in tokens if not any(s <= t.start < e for s, e in cards)]
    # a card's position breaks a run: put a non-digit marker where each card was
    markers = [_Token(s, e, "") for s, e in cards]
    return _runs(folded, sorted(free + markers, key=lambda t: t.start))


def _looks_like_code(folded: str, segment: list[_Token]) -> bool:
    """One typed group of 3-4 digits that is not part of a date or a time, or 3-4 digits
    read out one by one."""
    if len(segment) == 1:
        token = segment[0]
        before = folded[token.start - 1 : token.start] if token.start else ""
        after = folded[token.end : token.end + 1]
        return (
            3 <= len(token.digits) <= 4
            and not token.plus
            and before not in ("/", ":")
            and after not in ("/", ":")
        )
    return 3 <= len(segment) <= 4 and all(len(t.digits) == 1 for t in segment)


def _codes(
    folded: str, tokens: list[_Token], cards: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    spans = []
    for segment in _segments(folded, tokens, cards):
        if not _looks_like_code(folded, segment):
            continue
        start, end = segment[0].start, segment[-1].end
        lead = folded[max(0, start - 40) : start]
        card_ends = [e for _, e in cards if e <= start]
        after_card = bool(card_ends)
        near_card = after_card and start - max(card_ends) <= _BARE_CODE_WINDOW
        introduced = _STRONG_CODE_INTRO.search(lead) or (
            after_card and _WEAK_CODE_INTRO.search(lead)
        )
        if introduced or near_card:
            spans.append((start, end))
    return spans


def redact_cards(text: str) -> tuple[str, int]:
    """``text`` with card numbers replaced by "[card]" and their security codes by "[code]",
    and how many were replaced."""
    folded = _fold(text)
    tokens = _tokens(folded)
    if sum(len(t.digits) for t in tokens) < 3:
        return text, 0
    cards = _cards(folded, tokens)
    codes = _codes(folded, tokens, cards)
    spans = sorted([(s, e, CARD) for s, e in cards] + [(s, e, CODE) for s, e in codes])
    if not spans:
        return text, 0
    pieces = []
    position = 0
    for start, end, label in spans:
        pieces.append(text[position:start])
        pieces.append(label)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), len(spans)
