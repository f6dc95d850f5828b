"""One ADR as MADR 4 Markdown with YAML front matter.

The layout is fixed and every section is written in the same way each time, so that the
importer (``decisions.records.imports.parse``) reads back exactly what was written and exporting
an imported log gives byte-identical files. Empty optional sections are left out.
A supersede link is written twice, as MADR suggests: ``status: superseded by ADR-0007``
on the old record and a "Supersedes" line at the top of "More Information" on the new.
Typed links are written at both ends in the same place ("Amends [ADR-0005](...)." on one,
"Amended by [ADR-0007](...)." on the other). The pattern diagram, when the record has
one, goes last under "Diagram": the SVG beside the record and a Mermaid block drawn from
the same graph; the importer skips that section, since it is drawn again from the data.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.db.models import Prefetch

from decisions.models import (
    LINK_INVERSE_LABELS,
    Assumption,
    AssumptionCheck,
    CheckStatus,
    Decision,
    DecisionLinkKind,
    DecisionStatus,
)
from decisions.records.imports.parse import BLOCK_START, tidy_markdown


def clean_text(text: str) -> str:
    return tidy_markdown(text)


def link_lines(decision: Decision) -> list[tuple[str, Decision]]:
    """(phrase, other record) for every typed link, from this record's end, in a fixed order."""
    lines = [(DecisionLinkKind(link.kind).label, link.target) for link in decision.links_out.all()]
    lines += [
        (LINK_INVERSE_LABELS[DecisionLinkKind(link.kind)], link.source)
        for link in decision.links_in.all()
    ]
    return sorted(lines, key=lambda pair: (pair[0], pair[1].number))


def diagram_markdown(svg_path: str | None, mermaid: str | None) -> str:
    parts = []
    if svg_path:
        parts.append(f"![Pattern diagram]({svg_path})")
    if mermaid:
        parts.append(f"```mermaid\n{mermaid.rstrip()}\n```")
    return "\n\n".join(parts)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def status_text(decision: Decision) -> str:
    if decision.status == DecisionStatus.SUPERSEDED and decision.superseded_by:
        return f"superseded by {decision.superseded_by.label}"
    return str(DecisionStatus(decision.status).value)


def front_matter(decision: Decision) -> str:
    data: dict[str, Any] = {
        "status": status_text(decision),
        "date": decision.date,
        "decision-makers": decision.people("decision_makers"),
        "consulted": decision.people("consulted"),
        "informed": decision.people("informed"),
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def supersedes_lines(decision: Decision) -> list[str]:
    lines = [
        f"Supersedes [{old.label}]({old.filename})."
        for old in sorted(decision.supersedes.all(), key=lambda d: d.number)
    ]
    return lines + [
        f"{phrase} [{other.label}]({other.filename})." for phrase, other in link_lines(decision)
    ]


def outcome_sentence(chosen: str, justification: str) -> str:
    """MADR's "Chosen option: "X", because Y." with Y's own full stop not doubled."""
    justification = clean_text(justification)
    if not chosen:
        return justification
    sentence = f'Chosen option: "{one_line(chosen)}"'
    if justification and BLOCK_START.match(justification):
        # A list or table after "because" starts on its own line, or it would be glued on.
        return f"{sentence}, because\n\n{justification}"
    if justification:
        sentence += f", because {justification}"
    if not sentence.endswith((".", "!", "?")):
        sentence += "."
    return sentence


def to_madr(decision: Decision, *, svg_path: str | None = None, mermaid: str | None = None) -> str:
    parts = [
        "---",
        front_matter(decision).rstrip("\n"),
        "---",
        "",
        f"# {one_line(decision.title)}",
    ]

    def section(heading: str, body: str, *, always: bool = False) -> None:
        body = clean_text(body)
        if body or always:
            parts.extend(["", heading, ""])
            if body:
                parts.append(body)

    section("## Context and Problem Statement", decision.context, always=True)
    section("## Decision Drivers", decision.drivers)
    options = [o for o in decision.considered_options if one_line(o.get("name", ""))]
    section("## Considered Options", "\n".join(f"* {one_line(o['name'])}" for o in options))
    section(
        "## Decision Outcome",
        outcome_sentence(decision.chosen_option, decision.justification),
        always=True,
    )
    section("### Consequences", decision.consequences)
    section("### Confirmation", decision.confirmation)
    pros_cons = [pros_and_cons_markdown(o) for o in options]
    if any(pros_cons):
        parts.extend(["", "## Pros and Cons of the Options"])
        for option, body in zip(options, pros_cons, strict=True):
            if body:
                parts.extend(["", f"### {one_line(option['name'])}", "", body])
    more = "\n".join(supersedes_lines(decision))
    if clean_text(decision.more_information):
        more = (
            f"{more}\n\n{clean_text(decision.more_information)}"
            if more
            else decision.more_information
        )
    section("## More Information", more)
    section("## Assumptions", assumptions_markdown(decision))
    section("## Diagram", diagram_markdown(svg_path, mermaid))
    return "\n".join(parts) + "\n"


def pros_and_cons_markdown(option: dict[str, Any]) -> str:
    lines = [f"* Good, because {one_line(p)}" for p in option.get("pros", []) if one_line(p)]
    lines += [f"* Neutral, because {one_line(p)}" for p in option.get("neutral", []) if one_line(p)]
    lines += [f"* Bad, because {one_line(c)}" for c in option.get("cons", []) if one_line(c)]
    summary = clean_text(option.get("summary", ""))
    if summary and lines:
        return summary + "\n\n" + "\n".join(lines)
    return summary or "\n".join(lines)


def assumptions_with_last_check() -> Prefetch:
    """For ``prefetch_related`` on records exported together: each record's assumptions
    with only its last measurement (``Assumption.last_check``), in two queries for all
    of them rather than a few per record; a long history of checks is not loaded."""
    last = AssumptionCheck.objects.exclude(status=CheckStatus.PENDING).order_by(
        "-measured_at", "-pk"
    )
    return Prefetch(
        "assumptions",
        queryset=Assumption.objects.prefetch_related(
            Prefetch("checks", queryset=last[:1], to_attr="recent_checks")
        ),
    )


def assumption_rows(decision: Decision) -> list[dict[str, str]]:
    """Each assumption with its last measurement and status, as text (Markdown and PDF)."""
    rows = []
    for a in decision.assumptions.all():
        last = a.last_check
        if last is None or last.value is None:
            measured = "not measured"
        else:
            measured = f"{last.value_label} on {last.measured_at:%Y-%m-%d %H:%M} UTC"
        status = a.get_status_display()
        if last is not None and last.reason and a.status in ("failed", "invalid"):
            status += f": {one_line(last.reason)}"
        rows.append(
            {
                "assumption": a.label,
                "source": a.get_source_display().lower(),
                "measured": measured,
                "status": status,
            }
        )
    return rows


def assumptions_markdown(decision: Decision) -> str:
    rows = assumption_rows(decision)
    if not rows:
        return ""

    def cell(text: str) -> str:
        return one_line(text).replace("|", "\\|")

    lines = []
    if decision.at_risk_reason:
        lines += [f"**At risk:** {one_line(decision.at_risk_reason)}.", ""]
    lines += [
        "| Assumption | Source | Last measured | Status |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {cell(r['assumption'])} | {r['source']} | {cell(r['measured'])} | {cell(r['status'])} |"
        for r in rows
    ]
    return "\n".join(lines)
