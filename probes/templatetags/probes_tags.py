"""Template helpers for probe evidence on pages the probes app does not own."""

from __future__ import annotations

from django import template

from decisions.models import ChainHop, Team
from probes.selectors import HopEvidenceRow, usecase_evidence

register = template.Library()


@register.simple_tag
def probe_evidence(team: Team, hops: list[ChainHop]) -> list[HopEvidenceRow]:
    """Per hop of a use case's chain: its linked endpoint and the latest valid probe."""
    return usecase_evidence(team=team, hops=list(hops))
