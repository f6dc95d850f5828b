from __future__ import annotations

from django.http import HttpRequest

from decisions.models import Membership


def teams(request: HttpRequest) -> dict[str, object]:
    """The user's teams for the switcher, and the team the URL is about."""
    if not request.user.is_authenticated:
        return {}
    memberships = getattr(request, "memberships", None)
    if memberships is None:
        memberships = list(Membership.objects.filter(user=request.user).select_related("team"))
    match = request.resolver_match
    slug = match.kwargs.get("team_slug") if match else None
    current = next((m for m in memberships if m.team.slug == slug), None)
    return {"my_memberships": memberships, "current_membership": current}
