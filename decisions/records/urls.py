from django.urls import path

from decisions.records import views

urlpatterns = [
    path("decisions/", views.adr_list, name="adr-list"),
    path("decisions/new/", views.adr_create, name="adr-create"),
    path("decisions/import/", views.adr_import, name="adr-import"),
    path("decisions/export.zip", views.adr_log_zip, name="adr-log-zip"),
    path("decisions/export-pdf/", views.adr_log_pdf_start, name="adr-log-pdf"),
    path("decisions/exports/<int:pk>/", views.adr_export_job, name="adr-export-job"),
    path(
        "decisions/exports/<int:pk>/download/",
        views.adr_export_job_download,
        name="adr-export-job-download",
    ),
    path("decisions/<int:number>/", views.adr_detail, name="adr-detail"),
    path("decisions/<int:number>/edit/", views.adr_edit, name="adr-edit"),
    path("decisions/<int:number>/history/", views.adr_history, name="adr-history"),
    path("decisions/<int:number>/transition/", views.adr_transition, name="adr-transition"),
    path("decisions/<int:number>/supersede/", views.adr_supersede, name="adr-supersede"),
    path("decisions/<int:number>/delete/", views.adr_delete, name="adr-delete"),
    path("decisions/<int:number>/export.md", views.adr_export_md, name="adr-export-md"),
    path("decisions/<int:number>/export.pdf", views.adr_export_pdf, name="adr-export-pdf"),
    path("decisions/<int:number>/diagram.svg", views.adr_diagram, name="adr-diagram"),
    path("decisions/<int:number>/files/<path:name>", views.adr_file, name="adr-file"),
    path("usecases/<int:pk>/draft-adr/", views.adr_draft, name="adr-draft"),
]
