"""The app's URLs plus views that stop after each step every logged-in team page takes,
so the benchmark can show what each step costs against a bare view."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from decisions.teams.access import team_membership


def bare(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do, through the same middleware as every page."""
    return HttpResponse("ok", content_type="text/plain")


def session_step(request: HttpRequest, team_slug: str) -> HttpResponse:
    """Reads the session from the database, and nothing more."""
    return HttpResponse(str(len(request.session.items())), content_type="text/plain")


@login_required
def user_step(request: HttpRequest, team_slug: str) -> HttpResponse:
    """The session, then the user it names (and the check of the session's hash)."""
    return HttpResponse(request.user.get_username(), content_type="text/plain")


@login_required
def team_step(request: HttpRequest, team_slug: str) -> HttpResponse:
    """The session and the user, then the user's membership of the team in the URL."""
    return HttpResponse(team_membership(request, team_slug).role, content_type="text/plain")


@login_required
def team_floor(request: HttpRequest, team_slug: str) -> HttpResponse:
    """What every team page does before its own work: load the session and the user,
    check the team membership, and hand out a CSRF token for its forms."""
    team_membership(request, team_slug)
    return HttpResponse(get_token(request), content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/session/<slug:team_slug>/", session_step),
    path("bench/user/<slug:team_slug>/", user_step),
    path("bench/team/<slug:team_slug>/", team_step),
    path("bench/floor/<slug:team_slug>/", team_floor),
    *app_urlpatterns,
]
