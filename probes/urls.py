"""Probe pages, mounted under /t/<team_slug>/probes/."""

from django.urls import path

from probes import views

app_name = "probes"

urlpatterns = [
    path("", views.endpoint_list, name="endpoint-list"),
    path("endpoints/new/", views.endpoint_create, name="endpoint-create"),
    path("endpoints/<int:pk>/", views.endpoint_detail, name="endpoint-detail"),
    path("endpoints/<int:pk>/edit/", views.endpoint_edit, name="endpoint-edit"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path("endpoints/<int:pk>/restore/", views.endpoint_restore, name="endpoint-restore"),
    path("endpoints/<int:pk>/probe/", views.run_create, name="run-create"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
]
