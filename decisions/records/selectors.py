"""Reads for ADRs: the team's log with filters, one record, its diagram and the supersede graph."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import graphviz
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet

from decisions.evidence import evidence_for
from decisions.models import (
    Decision,
    DecisionChange,
    DecisionLink,
    DecisionStatus,
    Team,
    UseCase,
)
from decisions.records.diagrams import diagram_store
from decisions.records.imports.lint import LintRecord, lint_records
from decisions.search import decisions_matching
from patterns.diagrams import (
    DiagramError,
    DiagramModel,
    mermaid_flowchart,
    pattern_diagram,
    pattern_drawing,
    pattern_mermaid,
    render_svg,
    render_svgs,
    safe_label,
)
from patterns.engine import PATTERN_NAMES, UseCaseInput

log = logging.getLogger(__name__)

# The log's lint results are recomputed at least this often even when nothing changed.
LOG_PROBLEMS_CACHE_S = 3600
# The supersede graph draws at most this many records (the newest), to stay readable.
GRAPH_LIMIT = 80


def decision_list(
    *, team: Team, status: str = "", pattern: str = "", query: str = ""
) -> QuerySet[Decision]:
    # The team and the use case's team too: every row links to both (get_absolute_url).
    decisions = Decision.objects.filter(team=team).select_related(
        "team", "superseded_by", "use_case__team"
    )
    if status in DecisionStatus.values:
        decisions = decisions.filter(status=status)
    if pattern:
        decisions = decisions.filter(chosen_pattern=pattern)
    if query:
        decisions = decisions_matching(decisions, query)
    return decisions.order_by("number")


def decision_get(*, team: Team, number: int) -> Decision:
    return (
        Decision.objects.select_related("team", "superseded_by", "use_case", "snapshot")
        .prefetch_related("supersedes")
        .get(team=team, number=number)
    )


def decision_history(*, decision: Decision) -> QuerySet[DecisionChange]:
    return decision.changes.select_related("by").order_by("-at", "-pk")


def decisions_for_use_case(*, use_case: UseCase) -> QuerySet[Decision]:
    return Decision.objects.filter(use_case=use_case).order_by("-number")


def decision_patterns(*, team: Team) -> list[tuple[str, str]]:
    """(pattern id, name) for the filter: the patterns the team's records actually chose."""
    used = set(
        Decision.objects.filter(team=team)
        .exclude(chosen_pattern="")
        .order_by()
        .values_list("chosen_pattern", flat=True)
        .distinct()
    )
    return [(p, PATTERN_NAMES.get(p, p)) for p in sorted(used)]


def _diagram_inputs(
    decision: Decision,
) -> tuple[UseCaseInput | Mapping[str, Any], Mapping[str, Any] | None] | None:
    """(use case input, recommendation) the record's diagram is drawn from, or None."""
    if decision.chosen_pattern not in PATTERN_NAMES:
        return None
    snapshot = decision.snapshot
    if snapshot is not None:
        return snapshot.inputs, snapshot.output
    if decision.use_case is not None:
        return decision.use_case.to_input(), None
    return None


def _diagram_graph(decision: Decision) -> graphviz.Digraph | None:
    """The record's diagram as a graph (not yet drawn); None when there is nothing to draw
    (an imported record, no pattern). Raises DiagramError when it cannot be built."""
    found = _diagram_inputs(decision)
    return None if found is None else pattern_diagram(found[0], decision.chosen_pattern, found[1])


def decision_diagram_mermaid(*, decision: Decision) -> str | None:
    """The same diagram as ``decision_diagram_svg``, as a Mermaid flowchart, or None."""
    found = _diagram_inputs(decision)
    if found is None:
        return None
    try:
        return pattern_mermaid(found[0], decision.chosen_pattern, found[1])
    except DiagramError as exc:
        log.warning("No Mermaid diagram for %s: %s", decision, exc)
        return None


def decision_links(*, decision: Decision) -> list[tuple[str, Decision]]:
    """Typed links read from this record: ("Amends", other), ("Amended by", other), ..."""
    links = [
        (link.get_kind_display(), link.target)
        for link in decision.links_out.select_related("target", "target__team")
    ]
    links += [
        (link.inverse_label, link.source)
        for link in decision.links_in.select_related("source", "source__team")
    ]
    return sorted(links, key=lambda pair: (pair[0], pair[1].number))


def decision_link_warnings(*, decision: Decision) -> list[str]:
    """A link from this record to one no longer in force reads as if it were: say so."""
    return [
        f"{decision.label} {link.get_kind_display().lower()} {link.target.label}, which is "
        f"{link.target.get_status_display().lower()}."
        for link in decision.links_out.select_related("target")
        if link.target.status in (DecisionStatus.SUPERSEDED, DecisionStatus.REJECTED)
    ]


def decision_diagram_svg(*, decision: Decision) -> str | None:
    """The chosen pattern drawn for the record's use case, or None when there is nothing
    to draw (an imported record, no pattern) or the drawing failed (logged, never fatal).
    Drawings are kept by their content (``decisions.records.diagrams``)."""
    try:
        graph = _diagram_graph(decision)
        return None if graph is None else render_svg(graph, store=diagram_store)
    except DiagramError as exc:
        log.warning("No diagram for %s: %s", decision, exc)
        return None


def decision_diagram_svgs(*, decisions: list[Decision]) -> list[str | None]:
    """``decision_diagram_svg`` for many records, with the dot processes run concurrently
    (``patterns.diagrams.render_svgs``); same order as ``decisions``."""
    graphs: list[graphviz.Digraph | None] = []
    for decision in decisions:
        try:
            graphs.append(_diagram_graph(decision))
        except DiagramError as exc:
            log.warning("No diagram for %s: %s", decision, exc)
            graphs.append(None)
    return _drawn(decisions, graphs)


def decision_diagrams_with_mermaid(
    *, decisions: list[Decision]
) -> list[tuple[str | None, str | None]]:
    """For each record, ``decision_diagram_svgs``' drawing and, when there is one, the same
    graph as Mermaid (``decision_diagram_mermaid``): each graph is built once for both."""
    built: list[tuple[graphviz.Digraph, DiagramModel] | None] = []
    for decision in decisions:
        found = _diagram_inputs(decision)
        try:
            built.append(
                None
                if found is None
                else pattern_drawing(found[0], decision.chosen_pattern, found[1])
            )
        except DiagramError as exc:
            log.warning("No diagram for %s: %s", decision, exc)
            built.append(None)
    svgs = _drawn(decisions, [pair[0] if pair else None for pair in built])
    return [
        (svg, mermaid_flowchart(pair[1]) if svg and pair else None)
        for svg, pair in zip(svgs, built, strict=True)
    ]


def _drawn(decisions: list[Decision], graphs: list[graphviz.Digraph | None]) -> list[str | None]:
    svgs: list[str | None] = []
    for decision, result in zip(decisions, render_svgs(graphs, store=diagram_store), strict=True):
        if isinstance(result, DiagramError):
            log.warning("No diagram for %s: %s", decision, result)
            result = None
        svgs.append(result)
    return svgs


@dataclass(frozen=True)
class Evidence:
    service: str
    p50_ms: float
    p99_ms: float
    source: str
    kind: str = "call"  # "broker": p50/p99 are the delivery latency of the async half


def decision_evidence(*, decision: Decision) -> list[Evidence]:
    """Probe measurements the recommendation used, if any (the PDF prints them)."""
    snapshot = decision.snapshot
    if snapshot is None or not snapshot.evidence:
        return []
    return [
        Evidence(
            service=name,
            p50_ms=float(found.get("p50_ms", 0)),
            p99_ms=float(found.get("p99_ms", 0)),
            source=str(found.get("source", "")),
            kind=str(found.get("kind") or "call"),
        )
        for name, found in sorted(snapshot.evidence.items())
    ]


def decision_latest_evidence(*, decision: Decision) -> list[Evidence]:
    """Per hop of the record's chain, the latest valid measurement (with its time in the
    source), else the one its recommendation used: a page never says "none yet" when
    a valid measurement exists."""
    snapshot = decision.snapshot
    if snapshot is None:
        return []
    used = {e.service: e for e in decision_evidence(decision=decision)}
    services = [
        str(hop.get("service")) for hop in snapshot.inputs.get("chain") or [] if hop.get("service")
    ]
    if snapshot.inputs.get("broker_service"):
        services.append(str(snapshot.inputs["broker_service"]))
    latest = evidence_for(decision.team_id, services)
    for name, found in latest.items():
        used[name] = Evidence(
            service=name,
            p50_ms=found.p50_ms,
            p99_ms=found.p99_ms,
            source=found.source,
            kind=found.kind,
        )
    return [used[name] for name in sorted(used)]


STATUS_COLOURS: dict[str, str] = {
    DecisionStatus.PROPOSED: "#fff7e6",
    DecisionStatus.ACCEPTED: "#e7f6ec",
    DecisionStatus.REJECTED: "#fdecec",
    DecisionStatus.DEPRECATED: "#eeeeee",
    DecisionStatus.SUPERSEDED: "#eeeeee",
}


def supersede_graph_svg(*, team: Team) -> str | None:
    """The team's records with 'superseded by' arrows, as SVG; None if no links exist."""
    decisions = list(
        Decision.objects.filter(team=team)
        .order_by("-number")
        .values("pk", "number", "title", "status", "superseded_by_id")[:GRAPH_LIMIT]
    )
    ids = {d["pk"] for d in decisions}
    linked = {d["pk"] for d in decisions if d["superseded_by_id"] in ids} | {
        d["superseded_by_id"] for d in decisions if d["superseded_by_id"] in ids
    }
    if not linked:
        return None
    graph = graphviz.Digraph(name="supersedes")
    graph.attr(rankdir="LR", bgcolor="transparent", fontname="DejaVu Sans")
    graph.attr("node", shape="box", style="rounded,filled", fontname="DejaVu Sans", fontsize="10")
    graph.attr("edge", fontname="DejaVu Sans", fontsize="9", color="#5b6472")
    for d in sorted(decisions, key=lambda d: d["number"]):
        if d["pk"] not in linked:
            continue
        graph.node(
            f"d{d['pk']}",
            safe_label(f"ADR-{d['number']:04d}", d["title"], d["status"]),
            fillcolor=STATUS_COLOURS.get(d["status"], "#ffffff"),
            URL=f"{d['number']}/",
        )
    for d in decisions:
        if d["superseded_by_id"] in ids:
            graph.edge(f"d{d['pk']}", f"d{d['superseded_by_id']}", label="superseded by")
    try:
        return render_svg(graph, store=diagram_store)
    except DiagramError as exc:
        log.warning("No supersede graph for %s: %s", team, exc)
        return None


def decision_log_problems(*, team: Team) -> list[str]:
    """``lint_adrs``' checks on the team's records (those the database cannot rule out).

    The checks read the whole log, so the answer is kept in the cache under what it
    depends on: the number of records and links, the last change to a record and the
    newest link (a link is never edited, only added or deleted). The rows are read as
    plain values, three queries whatever the log's size."""
    state = Decision.objects.filter(team=team).aggregate(
        records=Count("pk"), changed=Max("updated")
    )
    links = DecisionLink.objects.filter(source__team=team).aggregate(
        count=Count("pk"), newest=Max("pk")
    )
    changed = state["changed"].timestamp() if state["changed"] else 0
    key = "log-problems:{}:{}:{}:{}:{}".format(
        team.pk, state["records"], changed, links["count"], links["newest"]
    )
    found = cache.get(key)
    if found is None:
        found = _log_problems(team)
        cache.set(key, found, LOG_PROBLEMS_CACHE_S)
    return found


def _log_problems(team: Team) -> list[str]:
    rows = list(
        Decision.objects.filter(team=team).values(
            "pk", "number", "title", "date", "status", "superseded_by_id"
        )
    )
    labels = {row["pk"]: f"ADR-{row['number']:04d}" for row in rows}
    supersedes: dict[int, list[str]] = {}
    for row in rows:
        if row["superseded_by_id"] is not None:
            supersedes.setdefault(row["superseded_by_id"], []).append(labels[row["pk"]])
    links: dict[int, list[tuple[str, str, str]]] = {}
    for source, kind, target in DecisionLink.objects.filter(source__team=team).values_list(
        "source_id", "kind", "target_id"
    ):
        links.setdefault(source, []).append((kind, "out", labels.get(target, "")))
    records = [
        LintRecord(
            name=labels[row["pk"]],
            number=row["number"],
            title=row["title"],
            date=row["date"],
            status=row["status"],
            superseded_by=(
                [labels[row["superseded_by_id"]]] if row["superseded_by_id"] in labels else []
            ),
            supersedes=sorted(supersedes.get(row["pk"], [])),
            links=links.get(row["pk"], []),
        )
        for row in rows
    ]
    return lint_records(records)
