"""The whole-log PDF job: a real Celery worker, progress, download, failures, access."""

from __future__ import annotations

import io
import socket
import time

import pytest
from pypdf import PdfReader

from config.celery import app
from decisions.models import ExportJob, ExportJobStatus
from decisions.records.exports.jobs import export_job_run
from tests.decisions.adr_support import accepted_with_predecessor


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
        if job.is_finished:
            break
        assert poll.status_code == 200
        time.sleep(0.3)
    assert job.status == ExportJobStatus.DONE, job.error
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
    assert export_job_run(job_id=job.pk) is True
    assert export_job_run(job_id=job.pk) is False  # a redelivered message does nothing
    job.refresh_from_db()
    assert job.status == ExportJobStatus.DONE


def test_a_failed_render_marks_the_job_failed_with_the_reason(acme, owner, monkeypatch):
    from decisions.pdf import PdfError, render_pdf
    from decisions.records.exports import log_pdf

    calls = []

    def fail_on_the_second_part(html: str, *, timeout: float) -> bytes:
        calls.append(html)
        if len(calls) == 3:  # the contents' measure, the first part, the second part
            raise PdfError("The PDF took longer than 1 s to render and was stopped.")
        return render_pdf(html, timeout=timeout)

    accepted_with_predecessor(acme, owner)
    monkeypatch.setattr(log_pdf, "CHUNK_SIZE", 1)
    monkeypatch.setattr(log_pdf, "render_pdf", fail_on_the_second_part)
    job = ExportJob.objects.create(team=acme)
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportJobStatus.FAILED
    assert "longer than 1 s" in job.error
    assert job.done == 1  # the part that was rendered is counted


def test_a_stopped_broker_gives_a_clear_message(transactional_db, viewer_client, acme, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response = viewer_client.post("/t/acme/decisions/export-pdf/", follow=True)
    assert response.status_code == 200
    assert "The task queue (Redis) cannot be reached" in response.content.decode()
    assert ExportJob.objects.get(team=acme).status == ExportJobStatus.FAILED


def test_an_unfinished_job_has_no_download(viewer_client, acme):
    job = ExportJob.objects.create(team=acme)
    assert viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/").status_code == 404
