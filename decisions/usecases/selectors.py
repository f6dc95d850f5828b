from __future__ import annotations

from django.db.models import QuerySet

from decisions.models import Team, UseCase
from decisions.search import use_cases_matching


def use_case_list(*, team: Team, query: str = "", archived: bool = False) -> QuerySet[UseCase]:
    """The team's use cases in use, or (``archived``) the archived ones."""
    # The list shows the verdict, not the whole answer: leave the JSON behind.
    use_cases = (
        UseCase.objects.filter(team=team, archived_at__isnull=not archived)
        .select_related("team", "latest_snapshot")
        .defer("latest_snapshot__inputs", "latest_snapshot__output", "latest_snapshot__evidence")
    )
    if query:
        use_cases = use_cases_matching(use_cases, query)
    return use_cases.order_by("name", "pk")
