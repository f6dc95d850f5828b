"""SVG plots of an assumption's history, as plain strings (the probe plots' style).

A sparkline for the health page and a larger plot with axes for the ADR page; both
draw the threshold as a dashed line and mark failed points red. Text reaching the
SVG goes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

LINE_COLOUR = "#2453c7"
THRESHOLD_COLOUR = "#c0392b"
FAIL_COLOUR = "#c0392b"
MUTED = "#9aa4b8"


def _scale(values: Sequence[float], threshold: float) -> tuple[float, float]:
    low = min([*values, threshold])
    high = max([*values, threshold])
    if high == low:
        high = low + 1
    pad = (high - low) * 0.1
    return max(0.0, low - pad), high + pad


def sparkline_svg(
    values: Sequence[float], failed: Sequence[bool], *, threshold: float, title: str,
    width: int = 120, height: int = 28,
) -> str:  # fmt: skip
    """Oldest to newest, left to right; empty history gives a dashed threshold only."""
    low, high = _scale(values, threshold)

    def y(v: float) -> float:
        return round(height - 2 - (v - low) / (high - low) * (height - 4), 2)

    def x(i: int) -> float:
        return round(2 + i * (width - 4) / max(1, len(values) - 1), 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{escape(title)}</title>",
        f'<line x1="0" x2="{width}" y1="{y(threshold)}" y2="{y(threshold)}" '
        f'stroke="{THRESHOLD_COLOUR}" stroke-dasharray="3 2" stroke-width="1"/>',
    ]
    if values:
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5"/>'
        )
        for i, (v, bad) in enumerate(zip(values, failed, strict=True)):
            if bad:
                parts.append(f'<circle cx="{x(i)}" cy="{y(v)}" r="2" fill="{FAIL_COLOUR}"/>')
    parts.append("</svg>")
    return "".join(parts)


def history_svg(
    points: Sequence[tuple[str, float, bool]], *, threshold: float, unit: str, title: str,
    width: int = 560, height: int = 180,
) -> str:  # fmt: skip
    """``points``: (time label, value, failed), oldest first; the threshold dashed."""
    left, right, top, bottom = 56, 12, 14, 30
    values = [v for _, v, _ in points]
    low, high = _scale(values, threshold)
    inner_w, inner_h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return round(top + inner_h - (v - low) / (high - low) * inner_h, 2)

    def x(i: int) -> float:
        return round(left + i * inner_w / max(1, len(points) - 1), 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot assumption-plot" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + inner_h}" stroke="{MUTED}"/>',
        f'<line x1="{left}" x2="{left + inner_w}" y1="{top + inner_h}" y2="{top + inner_h}" '
        f'stroke="{MUTED}"/>',
    ]
    for v in (low, (low + high) / 2, high):
        parts.append(
            f'<text x="{left - 6}" y="{y(v) + 4}" text-anchor="end" font-size="11" '
            f'fill="#555">{v:.4g}</text>'
        )
    parts.append(
        f'<text x="{left - 44}" y="{top + 10}" font-size="11" fill="#555">{escape(unit)}</text>'
    )
    parts.append(
        f'<line x1="{left}" x2="{left + inner_w}" y1="{y(threshold)}" y2="{y(threshold)}" '
        f'stroke="{THRESHOLD_COLOUR}" stroke-dasharray="5 3"><title>threshold '
        f"{threshold:g} {escape(unit)}</title></line>"
    )
    parts.append(
        f'<text x="{left + inner_w}" y="{y(threshold) - 4}" text-anchor="end" font-size="11" '
        f'fill="{THRESHOLD_COLOUR}">threshold {threshold:g} {escape(unit)}</text>'
    )
    if points:
        coords = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>'
        )
        for i, (label, v, bad) in enumerate(points):
            colour = FAIL_COLOUR if bad else LINE_COLOUR
            parts.append(
                f'<circle cx="{x(i)}" cy="{y(v)}" r="3" fill="{colour}"><title>{escape(label)}: '
                f"{v:.4g} {escape(unit)}</title></circle>"
            )
        ends = [(0, "start")] + ([(len(points) - 1, "end")] if len(points) > 1 else [])
        for i, anchor in ends:
            parts.append(
                f'<text x="{x(i)}" y="{height - 10}" text-anchor="{anchor}" font-size="11" '
                f'fill="#555">{escape(points[i][0])}</text>'
            )
    else:
        parts.append(
            f'<text x="{left + inner_w / 2}" y="{top + inner_h / 2}" text-anchor="middle" '
            f'font-size="12" fill="#555">Not measured yet.</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
