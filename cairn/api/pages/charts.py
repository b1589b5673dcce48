"""Charts drawn on the server as inline SVG: a page shows them with no script at all.

Only presentation attributes and CSS classes (``cairn.css`` colours them for light and dark):
the pages' Content-Security-Policy refuses ``style`` attributes. Every string that reaches
the SVG is escaped; a point's tooltip is its ``<title>``, and a point may link somewhere (its
version's page).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 560
HEIGHT = 200
# Room around the plot for the labels: left for the values, bottom for the versions.
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 14, 30
DOT_RADIUS = 4


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a line: its label on the x axis (a version's number), its value, and
    where it links (None: nowhere)."""

    label: str
    value: float
    href: str | None = None


def _number(value: float) -> str:
    return f"{value:.6g}"


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:  # a flat line is drawn across the middle
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def line_chart(title: str, points: Sequence[Point]) -> Markup:
    """``points`` (left to right) as a line with a dot per point, the y axis labelled with the
    lowest and highest value and the x axis with the first and last label. Points whose value
    is not finite are left out; with none left the chart is an empty frame that says so."""
    shown = [p for p in points if math.isfinite(p.value)]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        *_axes(),
    ]
    if not shown:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
            f'text-anchor="middle">no values</text>'
        )
    else:
        parts.extend(_plot(shown))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or a number


def _axes() -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    return [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
    ]


def _plot(points: Sequence[Point]) -> list[str]:
    low, high = _span([p.value for p in points])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0

    def x(i: int) -> float:
        return LEFT + (i * step if len(points) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    coords = [(x(i), y(p.value)) for i, p in enumerate(points)]
    lowest, highest = min(p.value for p in points), max(p.value for p in points)
    bottom = HEIGHT - BOTTOM
    parts = [
        f'<text class="label" x="{LEFT - 6}" y="{y(highest) + 4:.1f}" '
        f'text-anchor="end">{_number(highest)}</text>',
        f'<text class="label" x="{LEFT - 6}" y="{y(lowest) + 4:.1f}" '
        f'text-anchor="end">{_number(lowest)}</text>',
        f'<text class="label" x="{coords[0][0]:.1f}" y="{bottom + 18}" '
        f'text-anchor="middle">{escape(points[0].label)}</text>',
    ]
    if len(points) > 1:
        parts.append(
            f'<text class="label" x="{coords[-1][0]:.1f}" y="{bottom + 18}" '
            f'text-anchor="middle">{escape(points[-1].label)}</text>'
        )
        line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        parts.append(f'<polyline class="line" points="{line}"/>')
    for (cx, cy), point in zip(coords, points, strict=True):
        dot = (
            f'<circle class="dot" cx="{cx:.1f}" cy="{cy:.1f}" r="{DOT_RADIUS}">'
            f"<title>{escape(point.label)}: {_number(point.value)}</title></circle>"
        )
        if point.href is not None:
            dot = f'<a class="point" href="{escape(point.href)}">{dot}</a>'
        parts.append(dot)
    return parts
