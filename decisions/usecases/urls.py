from django.urls import path

from decisions.usecases import views

urlpatterns = [
    path("", views.team_home, name="team-home"),
    path("usecases/", views.usecase_list, name="usecase-list"),
    path("usecases/new/", views.usecase_create, name="usecase-create"),
    path("usecases/preview/", views.usecase_preview, name="usecase-preview"),
    path("usecases/validate/", views.usecase_validate, name="usecase-validate"),
    path("usecases/chain/", views.usecase_chain, name="usecase-chain"),
    path("usecases/<int:pk>/", views.usecase_detail, name="usecase-detail"),
    path("usecases/<int:pk>/edit/", views.usecase_edit, name="usecase-edit"),
    path("usecases/<int:pk>/reevaluate/", views.usecase_reevaluate, name="usecase-reevaluate"),
    path("usecases/<int:pk>/delete/", views.usecase_delete, name="usecase-delete"),
    path("usecases/<int:pk>/restore/", views.usecase_restore, name="usecase-restore"),
]
