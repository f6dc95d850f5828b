"""Diagram builders: one graph per pattern, user labels drawn as text, limits enforced."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from patterns import diagrams
from patterns.diagrams import (
    MAX_LABEL,
    DiagramError,
    diagram_svg,
    pattern_diagram,
    render_svg,
)
from patterns.engine import PATTERN_ORDER, Hop, UseCaseInput, recommend

SVG = "{http://www.w3.org/2000/svg}"

INJECTIONS = [
    'x"] ; a -> b [color=red',
    "<<TABLE><TR><TD>cell</TD></TR></TABLE>>",
    "<b>bold</b>",
    "pay\\N\\l\\G\\",
    'quote\\" ; evil [shape=star]',
    "node",
    "}",
]

ORDER = UseCaseInput(
    name="Place an order",
    caller="browser",
    latency_p95_ms=400,
    latency_p99_ms=900,
    consumers=3,
    distributed_transaction=True,
    chain=(
        Hop("inventory", 8, 40),
        Hop("payments", 40, 450),
        Hop("shipping", 25, 120),
        Hop("notifications", 5, 30, critical=False),
    ),
)


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def node_count(svg: str) -> int:
    root = ET.fromstring(svg)
    return sum(1 for g in root.iter(f"{SVG}g") if g.get("class") == "node")


@pytest.mark.parametrize("pattern", PATTERN_ORDER)
def test_every_pattern_renders_an_svg_naming_the_services(pattern):
    svg = diagram_svg(ORDER, pattern, recommend(ORDER).to_dict())
    labels = " ".join(texts(svg))
    assert svg.startswith("<svg")
    for service in ("inventory", "payments"):
        assert service in labels


def test_the_sync_chain_shows_hops_in_order_with_their_timeouts():
    rec = recommend(ORDER).to_dict()
    timeouts = next(s for s in rec["supporting"] if s["id"] == "timeouts")["settings"]
    labels = texts(diagram_svg(ORDER, "rest", rec))
    assert [t for t in labels if t.startswith("hop ")] == ["hop 1", "hop 2", "hop 3"]
    expected = timeouts["per_hop_timeout_ms"]["payments"]
    assert f"timeout {expected} ms" in labels
    assert "after the answer" in labels  # notifications is not critical


def test_the_event_fan_out_has_broker_topic_and_consumers():
    labels = texts(diagram_svg(UseCaseInput(name="Order placed", consumers=3), "event-driven"))
    assert "event broker" in labels
    assert "topic: order-placed" in labels
    assert {"consumer 1", "consumer 2", "consumer 3"} <= set(labels)


def test_the_queue_has_workers_and_a_dead_letter_queue():
    labels = texts(diagram_svg(ORDER, "message-queue"))
    assert "work queue" in labels
    assert "dead-letter queue" in labels
    assert labels.count("competing consumer") == 4


def test_saga_compensations_run_in_reverse_order():
    svg = diagram_svg(ORDER, "saga-orchestration")
    labels = texts(svg)
    undo = [t for t in labels if t.startswith("undo ")]
    assert undo == ["undo shipping", "undo payments", "undo inventory"]
    assert "saga orchestrator" in labels
    assert "fails: compensate" in labels


def test_the_hybrid_draws_the_synchronous_phase_then_the_events():
    rec = recommend(ORDER).to_dict()
    option = next(o for o in rec["options"] if o["pattern"] == "request-event")
    labels = texts(diagram_svg(ORDER, "request-event", rec))
    assert "synchronous phase: the caller waits" in labels
    assert "after the answer: events" in labels
    for step in option["sync_steps"] + option["async_steps"]:
        assert step in labels


@pytest.mark.parametrize("name", INJECTIONS)
@pytest.mark.parametrize("pattern", ["rest", "saga-choreography", "request-event"])
def test_hostile_names_are_drawn_as_literal_text(name, pattern):
    inp = UseCaseInput(name=name, chain=(Hop(name, 5, 50), Hop("ok", 5, 50)))
    graph = pattern_diagram(inp, pattern, recommend(inp).to_dict())
    svg = render_svg(graph)
    labels = texts(svg)
    assert any(name in label for label in labels), labels
    # Nothing was injected: no node ids other than ours, no red, no stars, no tables.
    root = ET.fromstring(svg)
    node_ids = [
        g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "node"
    ]
    assert all(re.fullmatch(r"n\d+", node_id) for node_id in node_ids), node_ids
    assert (
        len(node_ids) == len(set(node_ids)) == len(re.findall(r"^\s*n\d+ \[", graph.source, re.M))
    )
    assert 'stroke="red"' not in svg and "star" not in graph.source.split("label=")[0]
    assert "<table" not in svg.lower().replace("&lt;table", "")


def test_long_labels_are_cut():
    name = "s" * 500
    labels = texts(diagram_svg(UseCaseInput(chain=(Hop(name, 5, 50),)), "rest"))
    longest = max(labels, key=len)
    assert len(longest) == MAX_LABEL
    assert longest.endswith("…")


def test_long_chains_are_folded_below_the_node_limit():
    chain = tuple(Hop(f"svc{i}", 1, 2) for i in range(100))
    svg = diagram_svg(UseCaseInput(chain=chain), "rest")
    assert node_count(svg) <= diagrams.MAX_NODES
    assert any(t.startswith("… ") and t.endswith("more hops") for t in texts(svg))


def test_the_node_limit_is_enforced(monkeypatch):
    monkeypatch.setattr(diagrams, "MAX_NODES", 3)
    with pytest.raises(DiagramError, match="at most 3 nodes"):
        pattern_diagram(ORDER, "rest")


def test_dot_is_stopped_after_its_time_limit(monkeypatch, tmp_path):
    slow = tmp_path / "slow-dot"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setattr(diagrams, "DOT_BINARY", str(slow))
    with pytest.raises(DiagramError, match="longer than 0.2 s"):
        render_svg(pattern_diagram(ORDER, "rest"), timeout=0.2)


def test_an_unknown_pattern_is_refused():
    with pytest.raises(DiagramError, match="unknown pattern"):
        pattern_diagram(ORDER, "carrier-pigeon")


def test_a_snapshot_inputs_dict_works_like_the_dataclass():
    from_dict = diagram_svg(ORDER.to_dict(), "rest")
    assert texts(from_dict) == texts(diagram_svg(ORDER, "rest"))


# --- cache, concurrent dot, print SVG ---------------------------------------------------


@pytest.fixture
def dot_runs(monkeypatch):
    """Counts the dot subprocesses, starting from an empty cache."""
    diagrams.svg_cache.clear()
    calls: list[str] = []
    real = diagrams._run_dot

    def counting(source: str, timeout: float) -> str:
        calls.append(source)
        return real(source, timeout)

    monkeypatch.setattr(diagrams, "_run_dot", counting)
    yield calls
    diagrams.svg_cache.clear()


def test_the_cache_key_changes_with_every_input_that_shapes_the_diagram(monkeypatch):
    rec = recommend(ORDER).to_dict()
    key = diagrams.svg_cache_key
    base = key(pattern_diagram(ORDER, "rest", rec))
    assert base == key(pattern_diagram(ORDER.to_dict(), "rest", rec))  # same content
    renamed = UseCaseInput(**{**ORDER.__dict__, "name": "Place an order!"})
    slower = UseCaseInput(**{**ORDER.__dict__, "chain": (Hop("inventory", 9, 40),)})
    other_timeouts = {
        **rec,
        "supporting": [
            {**s, "settings": {"per_hop_timeout_ms": {"payments": 1234}}}
            if s["id"] == "timeouts"
            else s
            for s in rec["supporting"]
        ],
    }
    changed = {
        key(pattern_diagram(renamed, "rest", rec)),
        key(pattern_diagram(slower, "rest", rec)),
        key(pattern_diagram(ORDER, "grpc", rec)),
        key(pattern_diagram(ORDER, "rest", other_timeouts)),
        key(pattern_diagram(ORDER, "rest", None)),
    }
    assert base not in changed and len(changed) == 5
    monkeypatch.setattr(diagrams, "DOT_BINARY", "/opt/other/dot")
    assert key(pattern_diagram(ORDER, "rest", rec)) != base


def test_a_drawing_is_made_once_and_then_served_from_the_cache(dot_runs):
    first = diagram_svg(ORDER, "saga-orchestration")
    assert diagram_svg(ORDER, "saga-orchestration") == first
    assert len(dot_runs) == 1
    renamed = UseCaseInput(**{**ORDER.__dict__, "name": "Cancel an order"})
    assert "Cancel an order" in " ".join(texts(diagram_svg(renamed, "saga-orchestration")))
    assert len(dot_runs) == 2


def test_a_failed_drawing_is_not_cached(monkeypatch, tmp_path, dot_runs):
    broken = tmp_path / "broken-dot"
    broken.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(diagrams, "DOT_BINARY", str(broken))
    for _ in range(2):
        with pytest.raises(DiagramError, match="nope"):
            diagram_svg(ORDER, "rest")
    assert len(dot_runs) == 2


def test_concurrent_dot_gives_the_same_svgs_as_one_after_another(dot_runs):
    rec = recommend(ORDER).to_dict()
    graphs = [pattern_diagram(ORDER, pattern, rec) for pattern in PATTERN_ORDER]
    serial = [render_svg(graph) for graph in graphs]
    diagrams.svg_cache.clear()
    parallel = diagrams.render_svgs([*graphs, None])
    assert parallel == [*serial, None]
    assert len(dot_runs) == 2 * len(graphs)  # the second round really ran dot again


def test_concurrent_dot_returns_each_failure_in_its_place(monkeypatch, dot_runs):
    graphs = [pattern_diagram(ORDER, "rest"), pattern_diagram(ORDER, "grpc")]
    real = diagrams._run_dot

    def fail_grpc(source: str, timeout: float) -> str:
        if "gRPC" in source:
            raise DiagramError("dot failed: boom")
        return real(source, timeout)

    monkeypatch.setattr(diagrams, "_run_dot", fail_grpc)
    ok, failed = diagrams.render_svgs(graphs)
    assert ok.startswith("<svg") and isinstance(failed, DiagramError)


def test_the_print_svg_keeps_every_shape_and_label_and_drops_comments_and_tooltips():
    svg = diagram_svg(ORDER, "request-event", recommend(ORDER).to_dict())
    light = diagrams.print_svg(svg)
    assert "<!--" in svg and "<title>" in svg
    assert "<!--" not in light and "<title>" not in light
    assert texts(light) == texts(svg)
    full, slim = ET.fromstring(svg), ET.fromstring(light)
    for shape in ("path", "polygon", "ellipse", "polyline", "text", "g"):
        assert len(list(slim.iter(f"{SVG}{shape}"))) == len(list(full.iter(f"{SVG}{shape}")))
    assert len(light) < len(svg)
