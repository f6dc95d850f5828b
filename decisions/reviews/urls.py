from django.urls import path

from decisions.reviews import views

urlpatterns = [
    path("reviews/", views.review_list, name="review-list"),
    path("reviews/new/", views.review_create, name="review-create"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/poll/", views.review_poll, name="review-poll"),
    path("reviews/<int:pk>/start/", views.review_start, name="review-start"),
    path("reviews/<int:pk>/delete/", views.review_delete, name="review-delete"),
    path("reviews/<int:pk>/advance/", views.review_advance, name="review-advance"),
    path("reviews/<int:pk>/vote/", views.review_vote, name="review-vote"),
    path("reviews/<int:pk>/comment/", views.review_comment, name="review-comment"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="review-decide"),
    path("reviews/<int:pk>/close/", views.review_close, name="review-close"),
    path(
        "reviews/<int:pk>/minutes.md",
        views.review_minutes,
        {"fmt": "md"},
        name="review-minutes-md",
    ),
    path(
        "reviews/<int:pk>/minutes.pdf",
        views.review_minutes,
        {"fmt": "pdf"},
        name="review-minutes-pdf",
    ),
]
