from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from decisions.teams import views as teams

urlpatterns = [
    path("", teams.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("patterns/", include("patterns.urls")),
    path("t/<slug:team_slug>/", include("decisions.urls")),
    path("t/<slug:team_slug>/probes/", include("probes.urls")),
]
