from __future__ import annotations

from django.db.models import Q, QuerySet

from decisions.models import Team, UseCase


def use_case_list(*, team: Team, query: str = "") -> QuerySet[UseCase]:
    use_cases = UseCase.objects.filter(team=team).select_related("latest_snapshot")
    if query:
        use_cases = use_cases.filter(Q(name__icontains=query) | Q(description__icontains=query))
    return use_cases
