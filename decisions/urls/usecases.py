from django.urls import path

from decisions.views import usecases

urlpatterns = [
    path("", usecases.team_home, name="team-home"),
    path("usecases/", usecases.usecase_list, name="usecase-list"),
    path("usecases/new/", usecases.usecase_create, name="usecase-create"),
    path("usecases/preview/", usecases.usecase_preview, name="usecase-preview"),
    path("usecases/validate/", usecases.usecase_validate, name="usecase-validate"),
    path("usecases/chain/", usecases.usecase_chain, name="usecase-chain"),
    path("usecases/<int:pk>/", usecases.usecase_detail, name="usecase-detail"),
    path("usecases/<int:pk>/edit/", usecases.usecase_edit, name="usecase-edit"),
    path("usecases/<int:pk>/reevaluate/", usecases.usecase_reevaluate, name="usecase-reevaluate"),
]
