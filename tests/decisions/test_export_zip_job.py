"""The whole-log zip as a job, like the PDF: a real Celery worker, progress, a download;
files through Django's storage API; a time limit that grows with the log."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from decisions.jobs import JobStatus
from decisions.models import DiagramRender, ExportJob
from decisions.records.exports.jobs import export_job_run
from decisions.records.exports.kinds import LOG_PDF, LOG_ZIP, export_time_limit
from tests.decisions.adr_support import accepted_with_predecessor
from tests.factories import wait_for

IN_MEMORY = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@pytest.mark.celery
def test_the_log_zip_job_reaches_100_percent_with_a_download(
    transactional_db, celery_worker_process, acme, owner, viewer_client
):
    old, new = accepted_with_predecessor(acme, owner)
    page = viewer_client.get("/t/acme/decisions/").content.decode()
    assert 'action="/t/acme/decisions/export-zip/"' in page
    response = viewer_client.post("/t/acme/decisions/export-zip/")
    job = ExportJob.objects.get(team=acme)
    assert job.kind == LOG_ZIP
    assert response["Location"] == f"/t/acme/decisions/exports/{job.pk}/"
    assert "Decision log zip" in viewer_client.get(response["Location"]).content.decode()

    wait_for(lambda: (job.refresh_from_db(), not job.is_active)[1], timeout=90, what="zip job")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress, job.done, job.total) == (100, 2, 2)
    download = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    assert "acme-decision-log.zip" in download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = archive.namelist()
    assert f"docs/decisions/{old.filename}" in names and f"docs/decisions/{new.filename}" in names
    assert "docs/decisions/index.md" in names
    assert any(name.startswith("docs/decisions/diagrams/") for name in names)
    assert DiagramRender.objects.exists()  # drawn by the worker, kept for the next export


@pytest.mark.parametrize("kind", [LOG_ZIP, LOG_PDF])
def test_export_files_go_through_the_storage_api(
    acme, owner, viewer_client, settings, tmp_path, kind
):
    settings.STORAGES = IN_MEMORY
    settings.MEDIA_ROOT = tmp_path
    accepted_with_predecessor(acme, owner)
    job = ExportJob.objects.create(team=acme, kind=kind)
    assert export_job_run(job_id=job.pk, worker="w1@box pid 1") is True
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert default_storage.exists(job.file)
    assert not any(tmp_path.rglob("*"))  # nothing on the local disk
    download = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/")
    body = b"".join(download.streaming_content)
    assert body.startswith(b"PK" if kind == LOG_ZIP else b"%PDF")


def test_a_worker_that_lost_its_job_keeps_no_file(acme, owner, settings, monkeypatch):
    settings.STORAGES = IN_MEMORY
    accepted_with_predecessor(acme, owner)
    job = ExportJob.objects.create(team=acme, kind=LOG_ZIP)
    from decisions.records.exports import jobs as exports

    real = exports.write_log_zip

    def taken_over_meanwhile(*args, **kwargs) -> None:
        real(*args, **kwargs)
        ExportJob.objects.filter(pk=job.pk).update(worker="w2@box pid 2")

    monkeypatch.setattr(exports, "write_log_zip", taken_over_meanwhile)
    export_job_run(job_id=job.pk, worker="w1@box pid 1")
    job.refresh_from_db()
    assert job.file == "" and job.status == JobStatus.RUNNING  # the new holder's to finish
    assert default_storage.listdir("exports")[1] == []


def test_an_unknown_kind_fails_with_the_reason(acme):
    job = ExportJob.objects.create(team=acme, kind="log-epub")
    export_job_run(job_id=job.pk, worker="w1@box pid 1")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "log-epub" in job.error


@pytest.mark.parametrize("kind", [LOG_ZIP, LOG_PDF])
def test_the_time_limit_grows_with_the_log_and_never_goes_below_the_default(kind):
    default = float(settings.CELERY_TASK_TIME_LIMIT)
    assert export_time_limit(kind, 0) >= default
    assert export_time_limit(kind, 5000) > export_time_limit(kind, 1000) > default
