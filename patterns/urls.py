from __future__ import annotations

from django.urls import path

from patterns import views

app_name = "patterns"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("<slug:pattern_id>/", views.detail, name="detail"),
]
