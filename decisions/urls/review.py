from django.urls import path

from decisions.views import review

urlpatterns = [
    path("reviews/", review.review_list, name="review-list"),
    path("reviews/new/", review.review_create, name="review-create"),
    path("reviews/<int:pk>/", review.review_detail, name="review-detail"),
    path("reviews/<int:pk>/poll/", review.review_poll, name="review-poll"),
    path("reviews/<int:pk>/start/", review.review_start, name="review-start"),
    path("reviews/<int:pk>/advance/", review.review_advance, name="review-advance"),
    path("reviews/<int:pk>/vote/", review.review_vote, name="review-vote"),
    path("reviews/<int:pk>/comment/", review.review_comment, name="review-comment"),
    path("reviews/<int:pk>/decide/", review.review_decide, name="review-decide"),
    path("reviews/<int:pk>/close/", review.review_close, name="review-close"),
    path(
        "reviews/<int:pk>/minutes.md",
        review.review_minutes,
        {"fmt": "md"},
        name="review-minutes-md",
    ),
    path(
        "reviews/<int:pk>/minutes.pdf",
        review.review_minutes,
        {"fmt": "pdf"},
        name="review-minutes-pdf",
    ),
]
