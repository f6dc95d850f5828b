from __future__ import annotations

from django.http import HttpRequest

from decisions.living.selectors import unread_count
from decisions.teams.access import user_memberships


def teams(request: HttpRequest) -> dict[str, object]:
    """The user's teams for the switcher, and the team the URL is about."""
    if not request.user.is_authenticated:
        return {}
    memberships = getattr(request, "memberships", None)
    if memberships is None:
        memberships = user_memberships(request.user)
    match = request.resolver_match
    slug = match.kwargs.get("team_slug") if match else None
    current = next((m for m in memberships if m.team.slug == slug), None)
    return {
        "my_memberships": memberships,
        "current_membership": current,
        "inbox_unread": unread_count(user=request.user),
    }
