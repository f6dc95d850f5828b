"""The whole-log PDF job: a real Celery worker, progress, download, failures, access."""

from __future__ import annotations

import io
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from config.celery import app
from decisions.jobs import JobStatus
from decisions.models import ExportJob
from decisions.records.exports.jobs import export_job_run, reap_stale_exports
from tests.decisions.adr_support import accepted_with_predecessor, drafted
from tests.factories import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.celery
def test_the_log_pdf_job_reaches_100_percent_with_a_download(
    transactional_db, celery_worker_process, acme, owner, viewer_client
):
    old, new = accepted_with_predecessor(acme, owner)
    response = viewer_client.post("/t/acme/decisions/export-pdf/")
    job = ExportJob.objects.get(team=acme)
    assert response["Location"] == f"/t/acme/decisions/exports/{job.pk}/"
    page = viewer_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        poll = viewer_client.get(response["Location"], HTTP_HX_REQUEST="true")
        job.refresh_from_db()
        if not job.is_active:
            break
        assert poll.status_code == 200
        time.sleep(0.3)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress, job.done, job.total) == (100, 2, 2)
    final = viewer_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert final.status_code == 286  # htmx: stop polling
    assert 'id="job-download"' in final.content.decode()

    download = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/")
    pdf = b"".join(download.streaming_content)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Decision log" in text and old.title in text and new.title in text


def test_a_job_is_claimed_once(acme, owner):
    job = ExportJob.objects.create(team=acme)
    assert export_job_run(job_id=job.pk, worker="w1 pid 1") is True
    # A redelivered message does nothing, to a finished job as to a running one.
    assert export_job_run(job_id=job.pk, worker="w2 pid 2") is False
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_a_failed_render_marks_the_job_failed_with_the_reason(acme, owner, monkeypatch):
    from decisions.pdf import PdfError, render_pdf_file
    from decisions.records.exports import log_pdf

    calls = []

    def fail_on_the_second_part(html: str, target: Path, *, timeout: float, **files) -> None:
        calls.append(html)
        if len(calls) == 2:
            raise PdfError("The PDF took longer than 1 s to render and was stopped.")
        render_pdf_file(html, target, timeout=timeout, **files)

    accepted_with_predecessor(acme, owner)
    monkeypatch.setattr(log_pdf, "CHUNK_SIZE", 1)
    monkeypatch.setattr(log_pdf, "render_pdf_file", fail_on_the_second_part)
    job = ExportJob.objects.create(team=acme)
    export_job_run(job_id=job.pk, worker="w1 pid 1")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "longer than 1 s" in job.error
    assert job.done == 1  # the part that was rendered is counted


def test_a_stopped_broker_gives_a_clear_message(transactional_db, viewer_client, acme, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response = viewer_client.post("/t/acme/decisions/export-pdf/", follow=True)
    assert response.status_code == 200
    assert "The job queue is unavailable" in response.content.decode()
    assert ExportJob.objects.get(team=acme).status == JobStatus.FAILED


def test_an_unfinished_job_has_no_download(viewer_client, acme):
    job = ExportJob.objects.create(team=acme)
    assert viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/").status_code == 404


def _export_files(job: ExportJob) -> list[Path]:
    """Files saved for this job (the storage never overwrites: an older run's file with
    the same job number is left alone, so only files written since the job began count)."""
    since = job.created.timestamp() - 1
    found = (Path(settings.MEDIA_ROOT) / "exports").glob(f"acme-log-pdf-{job.pk}*")
    return sorted(path for path in found if path.stat().st_mtime >= since)


def _a_log_of(team, owner, records: int) -> None:
    for n in range(records):
        drafted(team, owner, title=f"Decision {n + 1} about order events")


def _export_running(client, team) -> ExportJob:
    """Ask for the log PDF and wait until a worker has claimed the job."""
    client.post("/t/acme/decisions/export-pdf/")
    job = ExportJob.objects.get(team=team)
    wait_for(lambda: ExportJob.objects.get(pk=job.pk).status != JobStatus.QUEUED, timeout=60)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING, job.error
    return job


@pytest.mark.celery
def test_a_worker_killed_during_the_export_leaves_a_failed_job_nothing_written_and_a_retry(
    transactional_db, start_celery_worker, acme, owner, viewer_client
):
    _a_log_of(acme, owner, 12)
    doomed = start_celery_worker("doomed")
    job = _export_running(viewer_client, acme)
    doomed.kill()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.worker.startswith("doomed-0@")

    # Nobody beats for it any more: the reaper (here with a short limit) fails it.
    reaped = wait_for(lambda: reap_stale_exports(stale_after_s=1.0), timeout=30)
    assert reaped == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert "stopped reporting" in job.error and "doomed-0@" in job.error
    assert _export_files(job) == []  # nothing half-written
    assert viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/").status_code == 404
    page = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/").content.decode()
    assert 'id="job-retry"' in page and "stopped reporting" in page

    start_celery_worker("healthy")
    retry = viewer_client.post("/t/acme/decisions/export-pdf/")
    again = ExportJob.objects.exclude(pk=job.pk).get(team=acme)
    assert retry["Location"] == f"/t/acme/decisions/exports/{again.pk}/"
    wait_for(lambda: not ExportJob.objects.get(pk=again.pk).is_active, timeout=120)
    again.refresh_from_db()
    assert again.status == JobStatus.SUCCEEDED, again.error
    pdf = PdfReader(io.BytesIO(Path(settings.MEDIA_ROOT, again.file).read_bytes()))
    assert "Decision 12 about order events" in "\n".join(p.extract_text() for p in pdf.pages)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED  # the killed job's message never ran it again


@pytest.mark.celery
def test_a_warm_shutdown_finishes_the_running_export_before_the_worker_exits(
    transactional_db, start_celery_worker, acme, owner, viewer_client
):
    _a_log_of(acme, owner, 6)
    worker = start_celery_worker("stopping")
    job = _export_running(viewer_client, acme)
    os.kill(worker.process.pid, signal.SIGTERM)  # what systemd or Kubernetes sends first
    assert worker.process.wait(timeout=120) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [path.suffix for path in _export_files(job)] == [".pdf"]
