"""Team-scoped URLs, mounted under /t/<team_slug>/; each area brings its own."""

from django.urls import path

from decisions.living import urls as living
from decisions.records import urls as records
from decisions.reviews import urls as reviews
from decisions.teams import views as teams
from decisions.usecases import urls as usecases

urlpatterns = [
    *usecases.urlpatterns,
    *records.urlpatterns,
    *reviews.urlpatterns,
    *living.urlpatterns,
    path("activity/", teams.team_activity, name="team-activity"),
]
