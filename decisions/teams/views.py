from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from decisions.models import Membership
from decisions.teams.access import TeamRequest


@login_required
@require_GET
def home(request: TeamRequest) -> HttpResponse:
    membership = Membership.objects.filter(user=request.user).select_related("team").first()
    if membership is None:
        return render(request, "decisions/teams/no_team.html")
    return redirect("usecase-list", team_slug=membership.team.slug)
