"""What the customer wrote this time: a reply without the history mail clients quote below it.

Spanish and English clients: "> " lines, "On … wrote:" / "El … escribió:" (also wrapped over
two lines), "-----Original Message-----" / "-----Mensaje original-----", Outlook's header
block ("From:/De: …" then "Sent:/Enviado:/Date:/Fecha: …"), and the "-- " signature
separator. A reply written *below* the quote (bottom-posting) is kept. If nothing is left, the
whole text is the reply: a customer's words are never dropped.
"""

from __future__ import annotations

import re

_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|mensaje original|message d'origine|"
    r"ursprüngliche nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_WROTE_END = re.compile(r"(wrote|escribió|escribio|a écrit|schrieb)\s*:\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^\s*(on|el|le|am)\s\S", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(from|de)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|enviado|date|fecha|to|para|subject|asunto|cc)\s*:", re.IGNORECASE
)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_SIGNATURE = ("-- ", "--")


def _attribution_length(lines: list[str], i: int) -> int:
    """1 or 2 when "On … wrote:" starts at line ``i`` (wrapped over two lines), else 0."""
    line = lines[i]
    if not _WROTE_START.match(line):
        return 0
    if _WROTE_END.search(line):
        return 1
    if i + 1 < len(lines) and _WROTE_END.search(lines[i + 1]) and len(line) < 200:
        return 2
    return 0


def _outlook_header(lines: list[str], i: int) -> bool:
    """An Outlook header block: From/De, then Sent/Enviado, Date, To or Subject lines."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 6] if line.strip()][:4]
    return sum(bool(_HEADER_NEXT.match(line)) for line in following) >= 2


def _only_quotes_after(lines: list[str], start: int) -> bool:
    """Nothing but quoted lines, blanks or a signature from ``start`` on: a top-posted reply."""
    for line in lines[start:]:
        if line.rstrip("\r") in _SIGNATURE:
            return True
        if line.strip() and not line.lstrip().startswith(">"):
            return False
    return True


def strip_quoted(text: str) -> str:
    """The new part of a reply; the full text when the new part would be empty."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip("\r") in _SIGNATURE or _ORIGINAL.match(line) or _outlook_header(lines, i):
            break
        wrote = _attribution_length(lines, i)
        if wrote:
            if _only_quotes_after(lines, i + wrote):
                break
            i += wrote  # bottom-posting: drop the attribution, keep reading
            continue
        if not line.lstrip().startswith(">"):
            kept.append(line)
        i += 1
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()
    reply = "\n".join(kept).strip()
    return reply or text.strip()
