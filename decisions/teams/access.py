"""The one place that decides who may see and change a team's objects.

Outside the team: 404 (we do not confirm the object exists). Inside the team
without the needed role: 403.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from decisions.models import Membership, Role

M = TypeVar("M", bound=models.Model)


class TeamRequest(HttpRequest):
    """A logged-in request to a team's pages, for type checking only: the attributes
    `login_required`, `HtmxMiddleware` and `team_membership` set on it."""

    user: User
    htmx: HtmxDetails
    membership: Membership
    memberships: list[Membership]


def user_memberships(user: User) -> list[Membership]:
    """The user's memberships with their teams, by team name: one query."""
    return list(Membership.objects.filter(user=user).select_related("team").order_by("team__name"))


def team_membership(request: TeamRequest, team_slug: str, *, need: str = Role.VIEWER) -> Membership:
    """The user's membership of the team, or 404 if none; 403 if the role is too low."""
    if not request.user.is_authenticated:
        raise Http404("No such team.")
    # All of the user's memberships in one query: the team switcher needs them too.
    memberships = user_memberships(request.user)
    request.memberships = memberships
    membership = next((m for m in memberships if m.team.slug == team_slug), None)
    if membership is None:
        raise Http404("No such team.")
    if not membership.can(need):
        raise PermissionDenied(
            f"This needs the {Role(need).label.lower()} role in {membership.team}."
        )
    request.membership = membership
    return membership


def get_team_object_or_404(
    request: TeamRequest,
    queryset: models.QuerySet[M] | type[M],
    *,
    team_slug: str,
    need: str = Role.VIEWER,
    **lookup: object,
) -> M:
    """A team-owned object reached through the team in the URL, never by id alone."""
    membership = team_membership(request, team_slug, need=need)
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        return queryset.get(team=membership.team, **lookup)
    except ObjectDoesNotExist:
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None
