"""Server-side SVG charts for the supervisor's pages: bars and lines, drawn as plain markup.

Pure: standard library only. Every label is escaped, so a queue or intent named
``<script>`` is text. Values may be ``None`` (no data): a bar chart leaves the slot empty and
a line chart breaks the line there, so "no data" never looks like zero.

Accessibility: the chart has a ``<title>`` and an ``aria-label``. A chart without links is
``role="img"``; a chart whose bars or points are links (drill-down) is ``role="group"``, since
``img`` would hide its links from assistive technology; each link has its own ``aria-label``.
Colours come from classes (``chart-bar``, ``chart-target`` ...) styled in ``kpis.css``: the
page's CSP forbids inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Datum", "bar_chart", "line_chart", "nice_ceiling"]

Formatter = Callable[[float], str]

_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 28, 44
_CHAR_WIDTH = 6.5  # of the 11 px axis font, to fit labels under their bars


@dataclass(frozen=True)
class Datum:
    """One bar or point: its label, its value (``None``: no data) and where it links to."""

    label: str
    value: float | None
    href: str | None = None


def _plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _num(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is ``>= value`` (1 for 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def _fit(label: str, width: float) -> str:
    room = max(3, int(width / _CHAR_WIDTH))
    return label if len(label) <= room else label[: room - 1] + "…"


def _a(text: str) -> str:
    return escape(text, quote=True)


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    top: float  # the axis maximum

    @property
    def plot_width(self) -> float:
        return float(self.width - _LEFT - _RIGHT)

    @property
    def plot_height(self) -> float:
        return float(self.height - _TOP - _BOTTOM)

    @property
    def baseline(self) -> float:
        return float(self.height - _BOTTOM)

    def y(self, value: float) -> float:
        return self.baseline - max(0.0, value) / self.top * self.plot_height


def _frame(
    data: Sequence[Datum], target: float | None, width: int, height: int, top: float | None
) -> _Frame:
    values = [d.value for d in data if d.value is not None]
    highest = max([*values, target or 0.0, 0.0])
    return _Frame(width, height, top if top and top > 0 else nice_ceiling(highest))


def _open(kind: str, title: str, chart_id: str, frame: _Frame, interactive: bool) -> list[str]:
    role = "group" if interactive else "img"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="{role}" '
        f'aria-label="{_a(title)}" id="{_a(chart_id)}">',
        f"<title>{_a(title)}</title>",
    ]


def _axes(frame: _Frame, fmt: Formatter) -> list[str]:
    parts = ['<g class="chart-axis">']
    for fraction in (0.0, 0.5, 1.0):
        value = frame.top * fraction
        y = _num(frame.y(value))
        parts.append(
            f'<line class="chart-grid" x1="{_LEFT}" y1="{y}" x2="{frame.width - _RIGHT}" y2="{y}"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">'
            f"{_a(fmt(value))}</text>"
        )
    parts.append("</g>")
    return parts


def _target(frame: _Frame, target: float | None, label: str, fmt: Formatter) -> list[str]:
    if target is None:
        return []
    y = _num(frame.y(min(target, frame.top)))
    text = f"{label} {fmt(target)}".strip()
    return [
        '<g class="chart-target">',
        f"<title>{_a(text)}</title>",
        f'<line x1="{_LEFT}" y1="{y}" x2="{frame.width - _RIGHT}" y2="{y}"/>',
        f'<text x="{frame.width - _RIGHT}" y="{_num(frame.y(min(target, frame.top)) - 4)}" '
        f'text-anchor="end">{_a(text)}</text>',
        "</g>",
    ]


def _linked(datum: Datum, text: str, inner: str) -> str:
    if datum.href is None:
        return inner
    return f'<a href="{_a(datum.href)}" aria-label="{_a(text)}">{inner}</a>'


def _describe(datum: Datum, fmt: Formatter, empty: str) -> str:
    return f"{datum.label}: {empty if datum.value is None else fmt(datum.value)}"


def _x_label(x: float, frame: _Frame, label: str, room: float) -> str:
    return (
        f'<text class="chart-label" x="{_num(x)}" y="{_num(frame.baseline + 16)}" '
        f'text-anchor="middle">{_a(_fit(label, room))}</text>'
    )


def bar_chart(
    data: Sequence[Datum],
    *,
    title: str,
    chart_id: str = "chart",
    fmt: Formatter = _plain,
    target: float | None = None,
    target_label: str = "",
    empty: str = "—",
    width: int = 640,
    height: int = 260,
    top: float | None = None,
) -> str:
    """Vertical bars, one per datum, heights proportional to the values from zero.

    ``target`` draws a dashed horizontal line (a service-level target, say). ``top`` fixes the
    axis maximum (1.0 for ratios); by default it is a round number above the largest value.
    A ``None`` value draws no bar, only its label and a tooltip saying ``empty``.
    """
    frame = _frame(data, target, width, height, top)
    parts = _open("bars", title, chart_id, frame, any(d.href for d in data))
    parts += _axes(frame, fmt)
    band = frame.plot_width / max(1, len(data))
    bar_width = band * 0.7
    parts.append('<g class="chart-series">')
    for index, datum in enumerate(data):
        centre = _LEFT + band * (index + 0.5)
        text = _describe(datum, fmt, empty)
        parts.append(f'<g class="chart-slot" data-key="{_a(datum.label)}">')
        if datum.value is None:
            parts.append(f'<g class="chart-gap"><title>{_a(text)}</title></g>')
        else:
            y = frame.y(min(datum.value, frame.top))
            rect = (
                f'<rect class="chart-bar" x="{_num(centre - bar_width / 2)}" y="{_num(y)}" '
                f'width="{_num(bar_width)}" height="{_num(frame.baseline - y)}">'
                f"<title>{_a(text)}</title></rect>"
            )
            parts.append(_linked(datum, text, rect))
        parts.append(_x_label(centre, frame, datum.label, band))
        parts.append("</g>")
    parts.append("</g>")
    parts += _target(frame, target, target_label, fmt)
    parts.append("</svg>")
    return "".join(parts)


def _label_step(labels: Sequence[str], room: float) -> int:
    """Show every n-th x label so that the longest label, plus a gap, never overlaps."""
    widest = max((len(label) for label in labels), default=1) + 2
    return max(1, math.ceil(len(labels) * widest * _CHAR_WIDTH / max(room, 1.0)))


def line_chart(
    data: Sequence[Datum],
    *,
    title: str,
    chart_id: str = "chart",
    fmt: Formatter = _plain,
    target: float | None = None,
    target_label: str = "",
    empty: str = "—",
    width: int = 640,
    height: int = 260,
    top: float | None = None,
) -> str:
    """A line through the values in order (hours, days); ``None`` breaks the line.

    Every point with a value is a dot (a link when it has an ``href``). Labels under the axis
    are thinned out when there are too many to fit.
    """
    frame = _frame(data, target, width, height, top)
    parts = _open("line", title, chart_id, frame, any(d.href for d in data))
    parts += _axes(frame, fmt)
    count = max(1, len(data))
    step = frame.plot_width / count
    xs = [_LEFT + step * (index + 0.5) for index in range(len(data))]
    runs: list[list[str]] = [[]]
    for x, datum in zip(xs, data, strict=True):
        if datum.value is None:
            runs.append([])
        else:
            runs[-1].append(f"{_num(x)},{_num(frame.y(min(datum.value, frame.top)))}")
    parts.append('<g class="chart-series">')
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline class="chart-line" points="{" ".join(run)}"/>')
    every = _label_step([d.label for d in data], frame.plot_width)
    for index, (x, datum) in enumerate(zip(xs, data, strict=True)):
        text = _describe(datum, fmt, empty)
        parts.append(f'<g class="chart-slot" data-key="{_a(datum.label)}">')
        if datum.value is None:
            parts.append(f'<g class="chart-gap"><title>{_a(text)}</title></g>')
        else:
            y = frame.y(min(datum.value, frame.top))
            dot = (
                f'<circle class="chart-point" cx="{_num(x)}" cy="{_num(y)}" r="4">'
                f"<title>{_a(text)}</title></circle>"
            )
            parts.append(_linked(datum, text, dot))
        if index % every == 0:
            parts.append(_x_label(x, frame, datum.label, step * every))
        parts.append("</g>")
    parts.append("</g>")
    parts += _target(frame, target, target_label, fmt)
    parts.append("</svg>")
    return "".join(parts)
