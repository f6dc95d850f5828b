"""Diagrams are drawn once per content and kept in the database, so another process (or
this one after its small cache is gone) serves them without running dot."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from decisions.models import DiagramRender
from decisions.records.diagrams import diagram_store
from decisions.records.selectors import decision_diagram_svg, decision_diagram_svgs
from patterns import diagrams
from patterns.engine import Hop, UseCaseInput
from tests.decisions.adr_support import drafted


@pytest.fixture
def dot_runs(monkeypatch):
    """The dot subprocesses run, starting with an empty in-process cache."""
    diagrams.svg_cache.clear()
    calls: list[str] = []
    real = diagrams._run_dot

    def counting(source: str, timeout: float) -> str:
        calls.append(source)
        return real(source, timeout)

    monkeypatch.setattr(diagrams, "_run_dot", counting)
    yield calls
    diagrams.svg_cache.clear()


def test_a_drawing_is_stored_and_served_to_a_fresh_process_without_dot(acme, owner, dot_runs):
    decision = drafted(acme, owner)
    first = decision_diagram_svg(decision=decision)
    assert first.startswith("<svg") and len(dot_runs) == 1
    stored = DiagramRender.objects.get()
    assert stored.svg == first and len(stored.key) == 64

    diagrams.svg_cache.clear()  # as another worker, or this one after a restart
    assert decision_diagram_svg(decision=decision) == first
    assert len(dot_runs) == 1


def test_a_changed_record_gets_a_new_drawing_and_keeps_the_old(acme, owner, dot_runs):
    decision = drafted(acme, owner)
    decision_diagram_svg(decision=decision)
    decision.chosen_pattern = "message-queue"
    assert "<svg" in decision_diagram_svg(decision=decision)
    assert DiagramRender.objects.count() == 2 and len(dot_runs) == 2


def test_many_records_cost_one_lookup_and_each_distinct_drawing_one_dot_run(acme, owner, dot_runs):
    records = [drafted(acme, owner) for _ in range(3)]  # the same content three times
    records.append(drafted(acme, owner, chosen_pattern="message-queue"))
    first = decision_diagram_svgs(decisions=records)
    assert len(dot_runs) == 2 and DiagramRender.objects.count() == 2
    assert first[0] == first[1] == first[2] != first[3]

    diagrams.svg_cache.clear()
    with CaptureQueriesContext(connection) as captured:
        again = decision_diagram_svgs(decisions=records)
    assert again == first and len(dot_runs) == 2
    lookups = [q for q in captured if "decisions_diagramrender" in q["sql"]]
    assert len(lookups) == 1


def test_a_drawing_stored_twice_by_racing_processes_is_kept_once(db):
    diagram_store.put_many({"a" * 64: "<svg>first</svg>"})
    diagram_store.put_many({"a" * 64: "<svg>second</svg>", "b" * 64: "<svg>b</svg>"})
    assert diagram_store.get_many(["a" * 64, "b" * 64, "c" * 64]) == {
        "a" * 64: "<svg>first</svg>",
        "b" * 64: "<svg>b</svg>",
    }


def test_a_failed_drawing_is_not_stored(db, monkeypatch, tmp_path, dot_runs):
    broken = tmp_path / "broken-dot"
    broken.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(diagrams, "DOT_BINARY", str(broken))
    graph = diagrams.pattern_diagram(UseCaseInput(chain=(Hop("stock", 5, 50),)), "rest")
    [result] = diagrams.render_svgs([graph], store=diagram_store)
    assert isinstance(result, diagrams.DiagramError)
    assert not DiagramRender.objects.exists()
