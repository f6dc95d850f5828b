from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from decisions.models import ChainHop, Team, UseCase


def use_case_list(*, team: Team, query: str = "", archived: bool = False) -> QuerySet[UseCase]:
    """The team's use cases in use, or (``archived``) the archived ones."""
    # The list shows the verdict, not the whole answer: leave the JSON behind.
    use_cases = (
        UseCase.objects.filter(team=team, archived_at__isnull=not archived)
        .select_related("team", "latest_snapshot")
        .defer("latest_snapshot__inputs", "latest_snapshot__output", "latest_snapshot__evidence")
    )
    if query:
        use_cases = use_cases.filter(use_case_search_q(query))
    return use_cases


def use_case_search_q(query: str) -> Q:
    """Use cases whose name, description or chain (service names) contains `query`."""
    in_chain = ChainHop.objects.filter(use_case=OuterRef("pk"), service__icontains=query)
    return Q(name__icontains=query) | Q(description__icontains=query) | Q(Exists(in_chain))
