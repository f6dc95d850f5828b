"""Reads for ADRs: the team's log with filters, one record, its diagram and the supersede graph."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import graphviz
from django.db.models import Q, QuerySet

from decisions.evidence import evidence_for
from decisions.models import Decision, DecisionChange, DecisionStatus, Team, UseCase
from decisions.records.imports.lint import LintRecord, lint_records
from patterns.diagrams import (
    DiagramError,
    pattern_diagram,
    pattern_mermaid,
    render_svg,
    render_svgs,
    safe_label,
)
from patterns.engine import PATTERN_NAMES

log = logging.getLogger(__name__)

# The supersede graph draws at most this many records (the newest), to stay readable.
GRAPH_LIMIT = 80


def decision_list(
    *, team: Team, status: str = "", pattern: str = "", query: str = ""
) -> QuerySet[Decision]:
    decisions = Decision.objects.filter(team=team).select_related("superseded_by", "use_case")
    if status in DecisionStatus.values:
        decisions = decisions.filter(status=status)
    if pattern:
        decisions = decisions.filter(chosen_pattern=pattern)
    if query:
        decisions = decisions.filter(decision_search_q(query))
    return decisions.order_by("number")


# Every text a person writes or reads on an ADR, the considered options (names, summaries,
# pros and cons, stored as JSON) included.
DECISION_SEARCH_FIELDS = (
    "title",
    "decision_makers",
    "consulted",
    "informed",
    "context",
    "drivers",
    "considered_options",
    "chosen_option",
    "justification",
    "consequences",
    "confirmation",
    "more_information",
)


def decision_search_q(query: str) -> Q:
    """Records whose text contains `query` anywhere, case-insensitively."""
    condition = Q()
    for name in DECISION_SEARCH_FIELDS:
        condition |= Q(**{f"{name}__icontains": query})
    return condition


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
        .values_list("chosen_pattern", flat=True)
    )
    return [(p, PATTERN_NAMES.get(p, p)) for p in sorted(used)]


def _diagram_inputs(decision: Decision) -> tuple[dict, dict | None] | None:
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
    Drawings are cached by their content (``patterns.diagrams.render_svg``)."""
    try:
        graph = _diagram_graph(decision)
        return None if graph is None else render_svg(graph)
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
    svgs: list[str | None] = []
    for decision, result in zip(decisions, render_svgs(graphs), strict=True):
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
    latest = evidence_for(decision.team_id, services)
    for name, found in latest.items():
        used[name] = Evidence(
            service=name, p50_ms=found.p50_ms, p99_ms=found.p99_ms, source=found.source
        )
    return [used[name] for name in sorted(used)]


STATUS_COLOURS = {
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
        return render_svg(graph)
    except DiagramError as exc:
        log.warning("No supersede graph for %s: %s", team, exc)
        return None


def decision_log_problems(*, team: Team) -> list[str]:
    """``lint_adrs``' checks on the team's records (those the database cannot rule out)."""
    decisions = list(
        Decision.objects.filter(team=team)
        .select_related("superseded_by")
        .prefetch_related("supersedes", "links_out__target")
    )
    records = [
        LintRecord(
            name=d.label,
            number=d.number,
            title=d.title,
            date=d.date,
            status=d.status,
            superseded_by=[d.superseded_by.label] if d.superseded_by else [],
            supersedes=[old.label for old in d.supersedes.all()],
            links=[(link.kind, "out", link.target.label) for link in d.links_out.all()],
        )
        for d in decisions
    ]
    return lint_records(records)
