from django.urls import path

from decisions.living import views

urlpatterns = [
    path("health/", views.health, name="living-health"),
    path("health/run/", views.run_all, name="living-run-all"),
    path("settings/", views.team_settings, name="living-settings"),
    path("decisions/<int:number>/checks/run/", views.run_one, name="living-run-one"),
    path("decisions/<int:number>/assumptions/", views.assumption_add, name="assumption-add"),
    path("assumptions/<int:pk>/", views.assumption_edit, name="assumption-edit"),
    path("assumptions/<int:pk>/delete/", views.assumption_remove, name="assumption-delete"),
    path(
        "decisions/<int:number>/review-settings/",
        views.review_settings,
        name="living-review-settings",
    ),
    path(
        "decisions/<int:number>/supersede-with-evidence/",
        views.supersede_with_evidence,
        name="living-supersede",
    ),
    path("decisions/<int:number>/to-review/", views.to_next_review, name="living-to-review"),
]
