from __future__ import annotations

import hashlib

from django.http import HttpRequest

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
    # The navigation is the same until the user's teams, roles or current team change.
    shape = repr((request.user.pk, slug, [(m.team.slug, m.team.name, m.role) for m in memberships]))
    nav_key = hashlib.blake2b(shape.encode(), digest_size=16).hexdigest()
    return {"my_memberships": memberships, "current_membership": current, "nav_key": nav_key}
