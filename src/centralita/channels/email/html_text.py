"""HTML mail bodies as plain text, with the standard library's ``html.parser``.

Block elements become line breaks, list items get a dash, links keep their target as
"text (url)", scripts and styles are dropped, entities are decoded. Quoted history that mail
clients mark up (Gmail's ``gmail_quote``, Apple's and Thunderbird's ``<blockquote
type="cite">``, Outlook's ``divRplyFwdMsg``) is kept in the full text but left out of the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Paragraph-like elements leave a blank line around them; the other blocks a line break.
_PARAGRAPH = frozenset(
    {"blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
)
_BLOCK = _PARAGRAPH | frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "header", "li", "main", "nav", "section", "tbody",
        "tfoot", "thead", "tr",
    }
)  # fmt: skip
_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class HtmlText:
    full: str  # everything readable
    reply: str  # without the quoted history the mail client marked


def _is_quote(tag: str, attrs: dict[str, str]) -> bool:
    classes = attrs.get("class", "").lower()
    if any(name in classes for name in _QUOTE_CLASSES):
        return True
    if attrs.get("id", "").lower() in _QUOTE_IDS:
        return True
    return tag == "blockquote" and attrs.get("type", "").lower() == "cite"


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.full: list[str] = []
        self.reply: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, dropped, quote)
        self._dropped = 0
        self._quoted = 0
        self._pre = 0
        self._links: list[tuple[str, int]] = []  # (href, index in ``full`` at <a>)
        self._pending = 0  # line breaks owed before the next visible text

    # ---- output ---------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        if not text.strip() and self._pending:
            return  # the spaces between two blocks
        if self._pending and text.strip():
            text = "\n" * self._pending + text.lstrip(" ")
            self._pending = 0
        self.full.append(text)
        if not self._quoted:
            self.reply.append(text)

    def _break(self, lines: int = 1) -> None:
        self._pending = max(self._pending, lines)

    def _block(self, tag: str) -> None:
        if tag in _BLOCK and not self._dropped:
            self._break(2 if tag in _PARAGRAPH else 1)

    # ---- parser callbacks -------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag in _VOID:
            if tag == "br":
                self._pending = min(self._pending + 1, 2)
            elif tag == "hr":
                self._break()
                self._emit("---")
                self._break()
            elif tag == "img" and values.get("alt") and not self._dropped:
                self._emit(values["alt"])
            return
        dropped = tag in _DROPPED
        quote = _is_quote(tag, values)
        self._stack.append((tag, dropped, quote))
        self._dropped += dropped
        self._quoted += quote
        if tag == "pre":
            self._pre += 1
        self._block(tag)
        if tag == "li" and not self._dropped:
            self._emit("- ")
        if tag in ("td", "th") and not self._dropped:
            self._emit(" ")
        if tag == "a":
            self._links.append((values.get("href", ""), len(self.full)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(open_tag == tag for open_tag, _, _ in self._stack):
            return  # a stray end tag: browsers ignore it, so do we
        while self._stack:
            open_tag, dropped, quote = self._stack.pop()
            self._close(open_tag)
            self._dropped -= dropped
            self._quoted -= quote
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag == "pre":
            self._pre -= 1
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.full[start:]).strip()
            if _worth_showing(href, label) and not self._dropped:
                self._emit(f" ({href.removeprefix('mailto:')})")
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        self._emit(data if self._pre else _SPACES.sub(" ", data.replace("\n", " ")))


def _worth_showing(href: str, label: str) -> bool:
    """Keep a link's target unless it is what the text already says (or not a real link)."""
    href = href.strip()
    if not href.lower().startswith(("http://", "https://", "mailto:")):
        return False
    bare = href.removeprefix("mailto:")
    return bool(label) and label.rstrip("/") not in (href.rstrip("/"), bare)


def _tidy(parts: list[str]) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> HtmlText:
    """Readable text of an HTML body; never raises on bad markup."""
    converter = _Converter()
    try:
        converter.feed(html)
        converter.close()
    except (AssertionError, ValueError):  # html.parser's rare give-ups on broken markup
        pass
    return HtmlText(_tidy(converter.full), _tidy(converter.reply))
