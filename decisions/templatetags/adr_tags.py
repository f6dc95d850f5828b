"""Template tags for the ADR panel on the use-case page, whose view belongs to use cases."""

from __future__ import annotations

import logging

from django import template

from decisions.models import Decision, RecommendationSnapshot, UseCase
from decisions.records.diagrams import diagram_store
from decisions.records.selectors import decisions_for_use_case
from patterns.diagrams import DiagramError, diagram_svg

register = template.Library()
log = logging.getLogger(__name__)


@register.simple_tag
def usecase_diagram(snapshot: RecommendationSnapshot | None) -> str:
    """SVG of the snapshot's top pattern for its use case; "" if it cannot be drawn.

    The SVG comes from graphviz with every user label escaped (patterns.diagrams).
    """
    if snapshot is None:
        return ""
    try:
        return diagram_svg(
            snapshot.inputs, snapshot.top_pattern, snapshot.output, store=diagram_store
        )
    except DiagramError as exc:
        log.warning("No diagram for snapshot %s: %s", snapshot.pk, exc)
        return ""


@register.simple_tag
def usecase_decisions(use_case: UseCase) -> list[Decision]:
    return list(decisions_for_use_case(use_case=use_case))
