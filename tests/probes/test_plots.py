"""The server-side SVG plots: well-formed, escaped, and drawn from the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from probes.plots import per_second_svg, percentile_curve_svg
from tests.probes.outcomes import measured_outcome

SVG = "{http://www.w3.org/2000/svg}"


def test_the_percentile_curve_draws_both_latencies_for_the_open_model():
    outcome = measured_outcome()
    svg = percentile_curve_svg(outcome["histogram"], service_histogram=outcome["service_histogram"])
    root = ET.fromstring(svg)
    series = [p.get("data-series") for p in root.iter(f"{SVG}polyline")]
    assert series == ["service time (uncorrected)", "latency users saw"]
    points = root.find(f"{SVG}polyline").get("points").split()
    assert len(points) > 50
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "99" in labels and "percentile" in labels


def test_the_curve_rises_with_the_percentile():
    outcome = measured_outcome()
    root = ET.fromstring(percentile_curve_svg(outcome["histogram"]))
    ys = [float(p.split(",")[1]) for p in root.find(f"{SVG}polyline").get("points").split()]
    assert all(a >= b for a, b in zip(ys, ys[1:], strict=False))  # SVG y grows downwards


def test_the_per_second_plot_has_a_bar_per_second_and_marks_seconds_with_errors():
    rows = [
        {"t": 0, "rate": 50, "p50_ms": 2.0, "p99_ms": 9.0, "errors": 0},
        {"t": 1, "rate": 48, "p50_ms": 2.5, "p99_ms": 30.0, "errors": 2},
        {"t": 2, "rate": 51, "p50_ms": 2.1, "p99_ms": 8.0, "errors": 0},
    ]
    root = ET.fromstring(per_second_svg(rows))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 3
    assert "2 errors" in bars[1].find(f"{SVG}title").text
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "error-second"]) == 1
    assert {p.get("data-series") for p in root.iter(f"{SVG}polyline")} == {"p50", "p99"}


def test_text_in_a_plot_is_escaped():
    svg = per_second_svg([], title='<script>alert("x")</script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_an_empty_histogram_says_so_instead_of_drawing_nothing():
    svg = percentile_curve_svg("")
    assert "No requests completed." in svg
    ET.fromstring(svg)
