"""Server-side SVG plots of a probe's results, as plain strings.

No JavaScript and no plotting library: the results page inlines these strings,
and the PDF export (WeasyPrint renders inline SVG) can reuse them unchanged.
Every piece of text that reaches the SVG goes through ``html.escape``.

Functions:

* :func:`percentile_curve_svg` - latency against percentile, the x axis spread
  as ``log10(1 / (1 - p))`` so 90, 99, 99.9 and 99.99 get equal room (the
  usual HdrHistogram plot). Draws the corrected latency (what users saw) and,
  for the open model, the uncorrected service time: the gap between the two
  curves is time spent queueing behind a slow server.
* :func:`per_second_svg` - completed requests per second (bars) with p50 and
  p99 (lines) and seconds that had errors (red ticks along the bottom).

Both take plain data (encoded histograms, the outcome's ``per_second`` list)
and return a complete ``<svg>`` element with a ``<title>`` for accessibility.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from html import escape
from typing import Any

from probes.engine import decode_histogram

WIDTH = 640
HEIGHT = 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 52, 16, 34
CORRECTED_COLOUR = "#2453c7"
SERVICE_COLOUR = "#9aa4b8"
RATE_COLOUR = "#dfe6f5"
P99_COLOUR = "#c0392b"
P50_COLOUR = "#2453c7"
ERROR_COLOUR = "#c0392b"

# Percentile marks on the curve's x axis, as (percentile, label).
PERCENTILE_TICKS = ((0.0, "0"), (90.0, "90"), (99.0, "99"), (99.9, "99.9"), (99.99, "99.99"))


def percentile_curve_svg(
    histogram: str,
    *,
    service_histogram: str | None = None,
    title: str = "Latency by percentile",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Latency (ms, y) against percentile (x, log-spread); see the module docstring."""
    series = [("latency users saw", CORRECTED_COLOUR, _percentile_points(histogram))]
    if service_histogram:
        series.append(
            ("service time (uncorrected)", SERVICE_COLOUR, _percentile_points(service_histogram))
        )
    points = [p for _, _, pts in series for p in pts]
    if not points:
        return _empty(title, "No requests completed.", width, height)
    x_max = max(max(x for x, _ in points), _nines(99.0))
    y_max = _nice_ceiling(max(y for _, y in points))
    plot = _Frame(width, height, x_max=x_max, y_max=y_max)

    parts = [plot.open(title)]
    parts.append(plot.y_axis(unit="ms"))
    for pct, label in PERCENTILE_TICKS:
        x = _nines(pct)
        if x <= x_max:
            parts.append(plot.x_tick(x, label))
    parts.append(plot.x_label("percentile"))
    for name, colour, pts in reversed(series):
        if pts:
            parts.append(plot.polyline(pts, colour, name))
    parts.append(_legend([(name, colour) for name, colour, _ in series], width))
    parts.append("</svg>")
    return "".join(parts)


def per_second_svg(
    per_second: Sequence[dict[str, Any]],
    *,
    title: str = "Per second: requests, p50 and p99",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Bars of completed requests per second, lines of p50/p99, red ticks where errors were."""
    rows = sorted(per_second, key=lambda r: r["t"])
    if not rows:
        return _empty(title, "No per-second data.", width, height)
    seconds = max(int(r["t"]) for r in rows) + 1
    y_max = _nice_ceiling(max(max(r["p99_ms"], r["p50_ms"]) for r in rows))
    rate_max = _nice_ceiling(max(r["rate"] for r in rows))
    plot = _Frame(width, height, x_max=float(seconds), y_max=y_max)

    parts = [plot.open(title)]
    bar_w = max(1.0, plot.inner_w / seconds - 2)
    for r in rows:
        x = plot.px(float(r["t"])) + 1
        h = plot.inner_h * (r["rate"] / rate_max if rate_max else 0)
        parts.append(
            f'<rect x="{x:.1f}" y="{plot.bottom - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{RATE_COLOUR}"><title>second {int(r["t"])}: {int(r["rate"])} requests, '
            f"{r['p50_ms']:g} / {r['p99_ms']:g} ms, {int(r['errors'])} errors</title></rect>"
        )
        if r["errors"]:
            parts.append(
                f'<rect x="{x:.1f}" y="{plot.bottom - 4:.1f}" width="{bar_w:.1f}" height="4" '
                f'fill="{ERROR_COLOUR}" class="error-second"/>'
            )
    parts.append(plot.y_axis(unit="ms"))
    parts.append(plot.right_axis(rate_max, unit="req/s"))
    step = max(1, math.ceil(seconds / 10))
    for t in range(0, seconds + 1, step):
        parts.append(plot.x_tick(float(t), f"{t}s"))
    centre = bar_w / 2 + 1
    for key, colour, name in (("p99_ms", P99_COLOUR, "p99"), ("p50_ms", P50_COLOUR, "p50")):
        pts = [(float(r["t"]) + centre / plot.sx, float(r[key])) for r in rows]
        parts.append(plot.polyline(pts, colour, name))
    parts.append(
        _legend(
            [("p50", P50_COLOUR), ("p99", P99_COLOUR), ("requests/s", "#b8c3dc")]
            + ([("errors", ERROR_COLOUR)] if any(r["errors"] for r in rows) else []),
            width,
        )
    )
    parts.append("</svg>")
    return "".join(parts)


# --- helpers -------------------------------------------------------------------------


def _nines(percentile: float) -> float:
    """x position of a percentile: 0 -> 0, 90 -> 1, 99 -> 2, 99.9 -> 3 ..."""
    return math.log10(100.0 / (100.0 - min(percentile, 99.9999)))


def _percentile_points(encoded: str, steps: int = 120) -> list[tuple[float, float]]:
    """(x, latency ms) along the percentile axis, up to the last percentile the count supports.

    The cumulative counts are computed once and bisected per point, instead of
    walking the whole counts array for each percentile.
    """
    h = decode_histogram(encoded)
    total = h.get_total_count()
    if not total:
        return []
    running = list(itertools.accumulate(h.counts))
    # With n values the highest meaningful percentile is 100 * (1 - 1/n).
    x_end = _nines(100.0 * (1 - 1 / total)) if total > 1 else _nines(90.0)
    x_end = max(x_end, _nines(90.0))
    points = []
    for i in range(steps + 1):
        x = x_end * i / steps
        pct = 100.0 * (1 - 10 ** (-x))
        rank = max(1, math.ceil(pct / 100.0 * total))
        index = min(bisect.bisect_left(running, rank), len(running) - 1)
        value_us = h.get_highest_equivalent_value(h.get_value_from_index(index))
        points.append((x, value_us / 1000.0))
    points.append((x_end, h.get_max_value() / 1000.0))
    return points


def _nice_ceiling(value: float) -> float:
    """The next 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value < 10 else f"{value:,.0f}"


class _Frame:
    """Coordinates of one plot: data (x, y) to pixels, axes and ticks."""

    def __init__(self, width: int, height: int, *, x_max: float, y_max: float) -> None:
        self.width, self.height = width, height
        self.left, self.right = PAD_LEFT, width - PAD_RIGHT
        self.top, self.bottom = PAD_TOP, height - PAD_BOTTOM
        self.inner_w = self.right - self.left
        self.inner_h = self.bottom - self.top
        self.x_max = x_max or 1.0
        self.y_max = y_max or 1.0
        self.sx = self.inner_w / self.x_max

    def px(self, x: float) -> float:
        return self.left + x * self.sx

    def py(self, y: float) -> float:
        return self.bottom - self.inner_h * min(y, self.y_max) / self.y_max

    def open(self, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" '
            f'height="{self.height}" font-family="sans-serif" font-size="11">'
            f"<title>{escape(title)}</title>"
            f'<rect x="{self.left}" y="{self.top}" width="{self.inner_w}" '
            f'height="{self.inner_h}" fill="#fff" stroke="#d5dae5"/>'
        )

    def y_axis(self, *, unit: str, ticks: int = 5) -> str:
        out = []
        for i in range(ticks + 1):
            value = self.y_max * i / ticks
            y = self.py(value)
            out.append(
                f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="#eef1f7"/><text x="{self.left - 6}" y="{y + 4:.1f}" '
                f'text-anchor="end">{escape(_fmt(value))}</text>'
            )
        out.append(
            f'<text x="12" y="{self.top + self.inner_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {self.top + self.inner_h / 2:.1f})">{escape(unit)}</text>'
        )
        return "".join(out)

    def right_axis(self, top_value: float, *, unit: str, ticks: int = 5) -> str:
        out = []
        for i in range(ticks + 1):
            value = top_value * i / ticks
            y = self.bottom - self.inner_h * i / ticks
            out.append(
                f'<text x="{self.right + 6}" y="{y + 4:.1f}" fill="#6b7488">'
                f"{escape(_fmt(value))}</text>"
            )
        x = self.width - 8
        y = self.top + self.inner_h / 2
        out.append(
            f'<text x="{x}" y="{y:.1f}" text-anchor="middle" fill="#6b7488" '
            f'transform="rotate(90 {x} {y:.1f})">{escape(unit)}</text>'
        )
        return "".join(out)

    def x_tick(self, x: float, label: str) -> str:
        px = self.px(x)
        return (
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{self.bottom}" y2="{self.bottom + 4}" '
            f'stroke="#6b7488"/><text x="{px:.1f}" y="{self.bottom + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )

    def x_label(self, label: str) -> str:
        return (
            f'<text x="{self.left + self.inner_w / 2:.1f}" y="{self.height - 2}" '
            f'text-anchor="middle" fill="#6b7488">{escape(label)}</text>'
        )

    def polyline(self, points: Sequence[tuple[float, float]], colour: str, name: str) -> str:
        coords = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in points)
        return (
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round" data-series="{escape(name)}"/>'
        )


def _legend(items: Sequence[tuple[str, str]], width: int) -> str:
    out = []
    x = PAD_LEFT + 8
    for name, colour in items:
        out.append(
            f'<rect x="{x}" y="{PAD_TOP + 6}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{PAD_TOP + 15}">{escape(name)}</text>'
        )
        x += 24 + 6 * len(name)
    return "".join(out)


def _empty(title: str, message: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot empty" role="img" '
        f'viewBox="0 0 {width} {height // 3}" width="{width}" height="{height // 3}" '
        f'font-family="sans-serif" font-size="12"><title>{escape(title)}</title>'
        f'<text x="{width / 2}" y="{height // 6}" text-anchor="middle" fill="#6b7488">'
        f"{escape(message)}</text></svg>"
    )
