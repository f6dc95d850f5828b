from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from decisions.models import Membership, TeamActivity
from decisions.teams.access import team_membership


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    membership = Membership.objects.filter(user=request.user).select_related("team").first()
    if membership is None:
        return render(request, "decisions/teams/no_team.html")
    return redirect("usecase-list", team_slug=membership.team.slug)


@login_required
@require_GET
def team_activity(request: HttpRequest, team_slug: str) -> HttpResponse:
    """Deletes, archives and restores: the history of things that have no page any more."""
    membership = team_membership(request, team_slug)
    entries = TeamActivity.objects.filter(team=membership.team).select_related("by")[:200]
    return render(
        request,
        "decisions/teams/activity.html",
        {"team": membership.team, "membership": membership, "entries": entries},
    )
