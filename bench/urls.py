from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from decisions.access import team_membership


def bare(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do, through the same middleware as every page."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
def team_floor(request: HttpRequest, team_slug: str) -> HttpResponse:
    """What every team page does before its own work: load the session and the user,
    check the team membership, and hand out a CSRF token for its forms."""
    team_membership(request, team_slug)
    return HttpResponse(get_token(request), content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/floor/<slug:team_slug>/", team_floor),
    *app_urlpatterns,
]
