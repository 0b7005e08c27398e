"""The SVG charts: valid XML, proportional bars, gaps for missing data, escaped labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from centralita.analytics.charts import Datum, bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _bars(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}rect"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1.0), (0.8, 1.0), (1, 1.0), (1.2, 2.0), (3, 5.0), (7, 10.0), (21, 25.0), (240, 250.0),
     (1001, 2000.0)],
)  # fmt: skip
def test_nice_ceiling(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)


def test_a_bar_chart_is_valid_accessible_xml() -> None:
    root = _parse(bar_chart([Datum("a", 1), Datum("b", 2)], title="Contacts", chart_id="c1"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == "Contacts"
    assert root.get("id") == "c1"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Contacts"


@pytest.mark.parametrize(
    ("values", "ratios"),
    [
        ([10, 5, 0], [1.0, 0.5, 0.0]),
        ([3, 1.5], [1.0, 0.5]),
        ([4, 1, 2], [1.0, 0.25, 0.5]),
    ],
)
def test_bar_heights_are_proportional_to_the_values(
    values: list[float], ratios: list[float]
) -> None:
    svg = bar_chart([Datum(str(i), v) for i, v in enumerate(values)], title="t", top=max(values))
    heights = [float(r.get("height", "0")) for r in _bars(_parse(svg))]
    tallest = max(heights)
    assert [h / tallest for h in heights] == pytest.approx(ratios, abs=0.01)


def test_every_bar_stands_on_the_same_baseline() -> None:
    bars = _bars(_parse(bar_chart([Datum("a", 3), Datum("b", 7)], title="t")))
    bottoms = {round(float(r.get("y", "0")) + float(r.get("height", "0")), 2) for r in bars}
    assert len(bottoms) == 1


def test_a_missing_value_is_a_gap_not_a_zero_bar() -> None:
    root = _parse(bar_chart([Datum("a", 2), Datum("none", None), Datum("c", 0)], title="t"))
    assert len(_bars(root)) == 2  # "none" has no bar; a real zero has one, of height 0
    gaps = [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-gap"]
    assert len(gaps) == 1
    gap_title = gaps[0].find(f"{SVG}title")
    assert gap_title is not None and gap_title.text == "none: —"


def test_hostile_labels_are_escaped() -> None:
    hostile = "<script>alert(\"x\")</script> & 'q'"
    svg = bar_chart(
        [Datum(hostile, 1, href='/d?queue=<x>&a="b"')], title=hostile, target=0.5,
        target_label=hostile,
    )  # fmt: skip
    assert "<script>" not in svg
    root = _parse(svg)  # still well-formed
    assert root.get("aria-label") == hostile
    [link] = list(root.iter(f"{SVG}a"))
    assert link.get("href") == '/d?queue=<x>&a="b"'  # round-trips as the same text
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert hostile in texts and f"{hostile}: 1" in texts
    svg_line = line_chart([Datum(hostile, 1), Datum("b", 2)], title=hostile)
    assert "<script>" not in svg_line
    _parse(svg_line)


def test_bars_with_links_are_a_group_of_labelled_links() -> None:
    data = [Datum("Ventas", 4, href="/drill?queue=q1"), Datum("Soporte", 2, href="/drill?queue=q2")]
    root = _parse(bar_chart(data, title="Contacts"))
    assert root.get("role") == "group"
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/drill?queue=q1", "/drill?queue=q2"]
    assert [a.get("aria-label") for a in links] == ["Ventas: 4", "Soporte: 2"]
    assert all(a.find(f"{SVG}rect") is not None for a in links)


def test_the_target_line_sits_at_the_target() -> None:
    svg = bar_chart([Datum("a", 1.0)], title="SL", target=0.8, top=1.0, target_label="Target",
                    fmt=lambda v: f"{v:.0%}")  # fmt: skip
    root = _parse(svg)
    [target] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-target"]
    line = target.find(f"{SVG}line")
    [bar] = _bars(root)
    assert line is not None
    baseline = float(bar.get("y", "0")) + float(bar.get("height", "0"))
    full = float(bar.get("height", "0"))  # the bar is the whole axis (1.0 of 1.0)
    assert baseline - float(line.get("y1", "0")) == pytest.approx(0.8 * full, abs=0.01)
    assert "Target 80%" in "".join(target.itertext())


def test_a_target_above_the_values_raises_the_axis() -> None:
    root = _parse(bar_chart([Datum("a", 10)], title="t", target=30))
    labels = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "50" in labels  # nice_ceiling(30)


def test_a_line_breaks_at_missing_values() -> None:
    data = [Datum("08", 1), Datum("09", 2), Datum("10", None), Datum("11", 3), Datum("12", 4)]
    root = _parse(line_chart(data, title="Per hour"))
    lines = list(root.iter(f"{SVG}polyline"))
    assert [len(p.get("points", "").split()) for p in lines] == [2, 2]
    assert len(list(root.iter(f"{SVG}circle"))) == 4


def test_line_points_rise_with_the_values_and_can_link() -> None:
    data = [Datum("mon", 0, href="/d?day=1"), Datum("tue", 5, href="/d?day=2"), Datum("wed", 10)]
    root = _parse(line_chart(data, title="Per day", top=10))
    ys = [float(c.get("cy", "0")) for c in root.iter(f"{SVG}circle")]
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2])  # evenly spaced values, evenly drawn
    assert ys[0] > ys[1] > ys[2]
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/d?day=1", "/d?day=2"]


def test_many_points_thin_out_their_labels() -> None:
    data = [Datum(f"{h:02d}:00", h) for h in range(48)]
    root = _parse(line_chart(data, title="t", width=480))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert 0 < len(labels) < 48


def test_an_empty_chart_is_still_valid() -> None:
    for draw in (bar_chart, line_chart):
        root = _parse(draw([], title="Nothing yet"))
        assert root.get("aria-label") == "Nothing yet"


def test_long_labels_are_shortened_under_narrow_bars() -> None:
    data = [Datum("A very long queue name indeed " * 3, 1)] + [Datum(str(i), 1) for i in range(20)]
    root = _parse(bar_chart(data, title="t"))
    first = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label")
    assert (first.text or "").endswith("…") and len(first.text or "") < 20
