"""The server-drawn SVG line chart: a point per value, its labels, and nothing the CSP refuses."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from markupsafe import Markup

from cairn.api.pages.charts import HEIGHT, Point, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parsed(chart: Markup) -> ET.Element:
    return ET.fromstring(str(chart))


def test_a_point_per_value_with_a_tooltip_and_a_link() -> None:
    points = [Point("1", 0.5, "/v/1"), Point("2", 0.75, "/v/2"), Point("3", 0.6, None)]
    svg = parsed(line_chart("auc across versions", points))
    dots = svg.findall(f".//{SVG}circle")
    assert len(dots) == 3
    titles = [d.find(f"{SVG}title").text for d in dots]  # type: ignore[union-attr]
    assert titles == ["1: 0.5", "2: 0.75", "3: 0.6"]
    links = [a.get("href") for a in svg.findall(f"{SVG}a")]
    assert links == ["/v/1", "/v/2"]
    assert svg.find(f"{SVG}title").text == "auc across versions"  # type: ignore[union-attr]
    assert svg.get("role") == "img"


def test_the_highest_value_is_drawn_highest_and_labels_name_the_extremes() -> None:
    svg = parsed(line_chart("m", [Point("1", 10.0), Point("2", 30.0), Point("3", 20.0)]))
    ys = [float(d.get("cy", "")) for d in svg.iter(f"{SVG}circle")]
    assert ys[1] < ys[2] < ys[0]  # SVG's y grows downwards
    xs = [float(d.get("cx", "")) for d in svg.iter(f"{SVG}circle")]
    assert xs == sorted(xs) and len(set(xs)) == 3
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"10", "30", "1", "3"} <= set(labels)
    line = svg.find(f"{SVG}polyline")
    assert line is not None and len(line.get("points", "").split()) == 3
    assert len(svg.findall(f"{SVG}line")) == 2  # the axes


def test_one_point_and_a_flat_line_are_drawn_inside_the_frame() -> None:
    for points in ([Point("7", 1.0)], [Point("1", 2.0), Point("2", 2.0)]):
        svg = parsed(line_chart("m", points))
        for dot in svg.iter(f"{SVG}circle"):
            assert 0 < float(dot.get("cy", "")) < HEIGHT
    assert parsed(line_chart("m", [Point("7", 1.0)])).find(f"{SVG}polyline") is None


def test_no_finite_value_draws_an_empty_frame_that_says_so() -> None:
    svg = parsed(line_chart("m", [Point("1", math.nan), Point("2", math.inf)]))
    assert svg.findall(f".//{SVG}circle") == []
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["no values"]
    assert len(parsed(line_chart("m", [])).findall(f"{SVG}line")) == 2


def test_strings_are_escaped_and_nothing_uses_inline_style() -> None:
    hostile = '"><script>alert(1)</script>'
    chart = line_chart(hostile, [Point(hostile, 1.0, '/x?a="><script>'), Point("2", 3.0)])
    text = str(chart)
    assert "<script" not in text
    assert "style=" not in text and not re.search(r"\son\w+=", text)
    svg = parsed(chart)  # still well-formed XML
    assert svg.find(f"{SVG}title").text == hostile  # type: ignore[union-attr]
    assert svg.find(f"{SVG}a").get("href") == '/x?a="><script>'  # type: ignore[union-attr]
    assert re.search(r'class="chart"', text)
