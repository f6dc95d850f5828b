from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from decisions.living import views as living
from decisions.teams import views as teams

urlpatterns = [
    path("", teams.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("inbox/", living.inbox, name="inbox"),
    path("inbox/read/", living.inbox_read, name="inbox-read"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("patterns/", include("patterns.urls")),
    path("t/<slug:team_slug>/", include("decisions.urls")),
    path("t/<slug:team_slug>/probes/", include("probes.urls")),
]
