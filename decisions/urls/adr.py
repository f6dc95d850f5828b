from django.urls import path

from decisions.views import adr

urlpatterns = [
    path("decisions/", adr.adr_list, name="adr-list"),
    path("decisions/new/", adr.adr_create, name="adr-create"),
    path("decisions/import/", adr.adr_import, name="adr-import"),
    path("decisions/export.zip", adr.adr_log_zip, name="adr-log-zip"),
    path("decisions/export-pdf/", adr.adr_log_pdf_start, name="adr-log-pdf"),
    path("decisions/exports/<int:pk>/", adr.adr_export_job, name="adr-export-job"),
    path(
        "decisions/exports/<int:pk>/download/",
        adr.adr_export_job_download,
        name="adr-export-job-download",
    ),
    path("decisions/<int:number>/", adr.adr_detail, name="adr-detail"),
    path("decisions/<int:number>/edit/", adr.adr_edit, name="adr-edit"),
    path("decisions/<int:number>/history/", adr.adr_history, name="adr-history"),
    path("decisions/<int:number>/transition/", adr.adr_transition, name="adr-transition"),
    path("decisions/<int:number>/supersede/", adr.adr_supersede, name="adr-supersede"),
    path("decisions/<int:number>/export.md", adr.adr_export_md, name="adr-export-md"),
    path("decisions/<int:number>/export.pdf", adr.adr_export_pdf, name="adr-export-pdf"),
    path("decisions/<int:number>/diagram.svg", adr.adr_diagram, name="adr-diagram"),
    path("usecases/<int:pk>/draft-adr/", adr.adr_draft, name="adr-draft"),
]
