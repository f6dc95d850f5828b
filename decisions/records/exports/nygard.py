"""One ADR in Michael Nygard's format, as adr-tools writes it: Status, Context, Decision,
Consequences. It holds less than MADR, so drivers and options go into Context."""

from __future__ import annotations

from decisions.models import Decision, DecisionStatus
from decisions.records.exports.madr import clean_text, diagram_markdown, link_lines, one_line
from decisions.records.imports.parse import BLOCK_START


def _link(decision: Decision) -> str:
    return f"[{decision.number}. {one_line(decision.title)}]({decision.filename})"


def to_nygard(
    decision: Decision, *, svg_path: str | None = None, mermaid: str | None = None
) -> str:
    status = [decision.get_status_display()]
    if decision.status == DecisionStatus.SUPERSEDED and decision.superseded_by:
        status = [f"Superseded by {_link(decision.superseded_by)}"]
    status += [
        f"Supersedes {_link(old)}"
        for old in sorted(decision.supersedes.all(), key=lambda d: d.number)
    ]
    status += [f"{phrase} {_link(other)}" for phrase, other in link_lines(decision)]
    context = [clean_text(decision.context)]
    if clean_text(decision.drivers):
        context += ["Decision drivers:", clean_text(decision.drivers)]
    names = [one_line(o.get("name", "")) for o in decision.considered_options]
    if any(names):
        context += ["Options considered:", "\n".join(f"* {n}" for n in names if n)]
    decision_text = clean_text(decision.justification)
    if decision.chosen_option and BLOCK_START.match(decision_text):
        decision_text = (
            f"We will use {one_line(decision.chosen_option)}, because\n\n{decision_text}"
        )
    elif decision.chosen_option:
        decision_text = f"We will use {one_line(decision.chosen_option)}" + (
            f", because {decision_text}" if decision_text else "."
        )
        if not decision_text.endswith((".", "!", "?")):
            decision_text += "."
    consequences = [clean_text(decision.consequences), clean_text(decision.confirmation)]
    parts = [
        f"# {decision.number}. {one_line(decision.title)}",
        f"Date: {decision.date.isoformat()}",
        "## Status",
        "\n\n".join(status),
        "## Context",
        "\n\n".join(p for p in context if p),
        "## Decision",
        decision_text,
        "## Consequences",
        "\n\n".join(p for p in consequences if p),
    ]
    diagram = diagram_markdown(svg_path, mermaid)
    if diagram:
        parts += ["## Diagram", diagram]
    return "\n\n".join(parts).rstrip() + "\n"
