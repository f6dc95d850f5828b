"""Team-scoped URLs, mounted under /t/<team_slug>/; one module per area."""

from decisions.urls import adr, review, usecases

urlpatterns = [*usecases.urlpatterns, *adr.urlpatterns, *review.urlpatterns]
