"""Big log exports in parts: planned over contiguous runs of records, each part a task of
its own with its own file in the storage, merged in order by the last part to finish;
a failed or silent part fails the job. Read back with zipfile and pypdf."""

from __future__ import annotations

import datetime
import io
import re
import socket
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from config.celery import app
from decisions.jobs import JobStatus
from decisions.models import Decision, DecisionAttachment, DecisionStatus, ExportJob, ExportPart
from decisions.records.exports import parts as parts_module
from decisions.records.exports.jobs import export_job_start, reap_stale_exports
from decisions.records.exports.kinds import LOG_PDF, LOG_ZIP, export_part_size
from decisions.records.exports.parts import export_part_run
from decisions.records.exports.zip import log_zip, log_zip_records
from tests.decisions.adr_support import drafted
from tests.factories import wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def small_parts(settings):
    """Parts of two records, so that a handful of records makes several parts."""
    settings.EXPORT_PART_RECORDS_PDF = 2
    settings.EXPORT_PART_RECORDS_ZIP = 2
    settings.EXPORT_MAX_PARTS = 8


@pytest.fixture
def media(settings, tmp_path):
    """Files of the tests that run parts in this process go to a folder of their own."""
    settings.MEDIA_ROOT = tmp_path


def a_log(team, by, count: int) -> list[Decision]:
    """A drafted record (with a diagram), then plain ones; records 1 and ``count`` show
    the same image, so the zip must write it once although two parts carry it."""
    first = drafted(team, by)
    Decision.objects.bulk_create(
        Decision(
            team=team,
            number=number,
            title=f"Record {number:03d}: publish order events",
            date=datetime.date(2026, 1, 1),
            status=DecisionStatus.ACCEPTED if number % 2 else DecisionStatus.PROPOSED,
            context=f"Context of record {number}.",
        )
        for number in range(2, count + 1)
    )
    records = list(Decision.objects.filter(team=team).order_by("number"))
    for decision in (records[0], records[-1]):
        DecisionAttachment.objects.create(
            decision=decision,
            name="images/flow.png",
            file=ContentFile(PNG, name="flow.png"),
            content_type="image/png",
            size=len(PNG),
        )
    assert records[0].pk == first.pk
    return records


def run_parts(job: ExportJob, order: list[int]) -> None:
    """Run the job's parts in this process, in the given order of their indexes."""
    rows = {part.index: part for part in job.parts.all()}
    for index in order:
        assert export_part_run(part_id=rows[index].pk, worker=f"w{index} pid 1") is True


def saved_parts() -> list[str]:
    return default_storage.listdir("exports/parts")[1] if default_storage.exists("exports") else []


def test_a_log_above_the_part_size_is_planned_in_contiguous_runs(acme, owner, settings):
    a_log(acme, owner, 7)
    settings.EXPORT_PART_RECORDS_ZIP = 3
    settings.EXPORT_MAX_PARTS = 8
    job = export_job_start(team=acme, by=owner, kind=LOG_ZIP)
    assert [(p.index, p.first_number, p.last_number, p.total) for p in job.parts.all()] == [
        (0, 1, 3, 3),
        (1, 4, 6, 3),
        (2, 7, 7, 1),
    ]
    assert job.total == 7 and job.status == JobStatus.QUEUED
    # Never more parts than the limit: they grow instead.
    settings.EXPORT_MAX_PARTS = 2
    assert export_part_size(LOG_ZIP, 7) == 4
    # Up to the part size, one task builds it all.
    assert export_part_size(LOG_ZIP, 3) is None
    assert export_part_size(LOG_PDF, 3) is None


def test_a_zip_in_parts_is_the_zip_one_worker_makes_whoever_finishes_last(
    acme, owner, small_parts, media, viewer_client
):
    records = a_log(acme, owner, 5)
    job = export_job_start(team=acme, by=owner, kind=LOG_ZIP)
    assert job.parts.count() == 3
    run_parts(job, [2, 0])  # two of three parts done: nothing merged yet
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.file == "" and job.worker == ""
    assert (job.done, round(job.progress)) == (3, 57)  # the parts' records, summed
    assert len(saved_parts()) == 2
    page = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/").content.decode()
    assert "Part 2 (ADR-0003 to ADR-0004): queued" in page

    run_parts(job, [1])  # the last part to finish merges
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress, job.done, job.total, job.worker) == (100, 5, 5, "w1 pid 1")
    with default_storage.open(job.file) as merged:
        data = merged.read()
    whole = log_zip(acme, log_zip_records(Decision.objects.filter(team=acme)))
    assert data == whole  # the same bytes as one worker's zip, in order
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names.count("docs/decisions/images/flow.png") == 1
    assert [n for n in names if n.endswith(".md")] == [
        *(f"docs/decisions/{d.filename}" for d in records),
        "docs/decisions/index.md",
    ]
    assert saved_parts() == []  # the parts' files are gone once merged
    assert [p.status for p in job.parts.all()] == [JobStatus.SUCCEEDED] * 3


def pdf_pages(data: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() for page in reader.pages]


def test_a_pdf_in_three_parts_has_one_contents_and_page_numbers_across_the_parts(
    acme, owner, small_parts, media
):
    records = a_log(acme, owner, 6)
    job = export_job_start(team=acme, by=owner, kind=LOG_PDF)
    run_parts(job, [1, 2, 0])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    part_pages = [p.pages for p in job.parts.all()]
    assert len(part_pages) == 3 and all(part_pages)

    with default_storage.open(job.file) as merged:
        reader, texts = pdf_pages(merged.read())
    numbers = [int(re.findall(r"Page (\d+)", text)[-1]) for text in texts]
    assert numbers == list(range(1, len(texts) + 1))
    assert len(texts) == sum(part_pages) + 1  # the parts and a one-page front matter
    assert sum("Contents" in text for text in texts) == 1

    top = [b for b in reader.outline if not isinstance(b, list)]
    assert [b.title for b in top] == ["Contents", *(d.title for d in records)]
    destinations = reader.named_destinations
    for decision, bookmark in zip(records, top[1:], strict=True):
        listed = re.search(rf"{decision.label} .*?\.{{3,}}\s*(\d+)", texts[0], re.S)
        assert listed, decision.label
        page = int(listed.group(1)) - 1
        assert reader.get_destination_page_number(bookmark) == page
        assert reader.get_destination_page_number(destinations[f"adr-{decision.number}"]) == page
        assert decision.label in texts[page]


def test_a_failed_part_fails_the_job_cancels_the_queued_ones_and_keeps_no_file(
    acme, owner, small_parts, media, monkeypatch
):
    a_log(acme, owner, 6)
    job = export_job_start(team=acme, by=owner, kind=LOG_ZIP)
    real = parts_module.write_log_zip_part

    def fail_the_second(target, decisions, **options):
        decisions = list(decisions)
        if decisions[0].number == 3:
            raise OSError("disk full")
        return real(target, decisions, **options)

    monkeypatch.setattr(parts_module, "write_log_zip_part", fail_the_second)
    run_parts(job, [0, 1])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == ("Part 2 (ADR-0003 to ADR-0004) failed: disk full; start the export again.")
    assert job.done == 2  # what the first part did is kept
    statuses = [p.status for p in job.parts.order_by("index")]
    assert statuses == [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]
    assert saved_parts() == [] and not job.parts.exclude(file="").exists()
    # The third part's message, delivered later, finds nothing to do.
    third = job.parts.get(index=2)
    assert export_part_run(part_id=third.pk, worker="w2 pid 1") is False


def test_the_reaper_fails_a_job_whose_part_went_silent_and_the_others_stop(
    acme, owner, small_parts, media
):
    a_log(acme, owner, 6)
    job = export_job_start(team=acme, by=owner, kind=LOG_ZIP)
    run_parts(job, [0])
    silent = job.parts.get(index=1)
    old = timezone.now() - datetime.timedelta(minutes=5)
    ExportPart.objects.filter(pk=silent.pk).update(
        status=JobStatus.RUNNING, worker="gone@box pid 9", started_at=old, heartbeat_at=old
    )
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
    assert reap_stale_exports(stale_after_s=30) == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Part 2 (ADR-0003 to ADR-0004): the worker gone@box pid 9")
    assert "stopped reporting" in job.error
    assert job.done == 2 and saved_parts() == []
    statuses = [p.status for p in job.parts.order_by("index")]
    assert statuses == [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]
    assert reap_stale_exports(stale_after_s=30) == []  # once


def test_a_job_whose_parts_wait_for_a_worker_is_not_reaped(acme, owner, small_parts, media):
    a_log(acme, owner, 6)
    job = export_job_start(team=acme, by=owner, kind=LOG_ZIP)
    run_parts(job, [0])
    # Its heartbeat went quiet, but two parts still wait in the queue for a free worker.
    old = timezone.now() - datetime.timedelta(minutes=5)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
    assert reap_stale_exports(stale_after_s=30) == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_a_stopped_broker_fails_the_job_and_its_parts_at_once(
    transactional_db, viewer_client, acme, owner, small_parts, monkeypatch
):
    a_log(acme, owner, 5)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = sock.getsockname()[1]
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{nobody}/0")
    response = viewer_client.post("/t/acme/decisions/export-zip/", follow=True)
    assert "The job queue is unavailable" in response.content.decode()
    job = ExportJob.objects.get(team=acme)
    assert job.status == JobStatus.FAILED and job.parts.count() == 3
    assert set(job.parts.values_list("status", flat=True)) == {JobStatus.FAILED}


def worker_log_tasks(worker) -> list[str]:
    """The ids of the export part tasks a worker's log says it received."""
    text = Path(worker.log_path).read_text()
    return re.findall(r"Task decisions\.export_log_part\[([0-9a-f-]+)\] received", text)


@pytest.mark.celery
@pytest.mark.parametrize("kind", [LOG_ZIP, LOG_PDF])
def test_parts_run_as_separate_tasks_on_real_workers_and_merge_in_order(
    transactional_db, start_celery_worker, acme, owner, small_parts, viewer_client, kind
):
    records = a_log(acme, owner, 6)
    workers = [start_celery_worker("one"), start_celery_worker("two")]
    viewer_client.post(f"/t/acme/decisions/export-{kind.removeprefix('log-')}/")
    job = ExportJob.objects.get(team=acme)
    assert job.parts.count() == 3
    wait_for(lambda: not ExportJob.objects.get(pk=job.pk).is_active, timeout=180, what="parts")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress, job.done, job.total) == (100, 6, 6)

    received = [task for worker in workers for task in worker_log_tasks(worker)]
    assert len(received) == len(set(received)) == 3  # one task per part
    names = {f"{w.name}@" for w in workers}
    for part in job.parts.all():
        assert part.status == JobStatus.SUCCEEDED and part.file == ""
        assert any(part.worker.startswith(name) for name in names), part.worker
    assert any(job.worker.startswith(name) for name in names)  # the last part merged

    download = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/download/")
    body = b"".join(download.streaming_content)
    if kind == LOG_ZIP:
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert [n for n in names if n.endswith(".md")] == [
            *(f"docs/decisions/{d.filename}" for d in records),
            "docs/decisions/index.md",
        ]
    else:
        reader, texts = pdf_pages(body)
        assert [int(re.findall(r"Page (\d+)", t)[-1]) for t in texts] == list(
            range(1, len(texts) + 1)
        )
        top = [b.title for b in reader.outline if not isinstance(b, list)]
        assert top == ["Contents", *(d.title for d in records)]
    # The parts' files, saved by the workers since the job began, are gone.
    since = job.created.timestamp() - 1
    found = Path(django_settings.MEDIA_ROOT, "exports", "parts").glob(f"acme-{kind}-{job.pk}-*")
    assert [path for path in found if path.stat().st_mtime >= since] == []


@pytest.mark.celery
def test_a_part_whose_worker_is_killed_fails_the_job_through_the_reaper(
    transactional_db, start_celery_worker, acme, owner, small_parts, viewer_client
):
    a_log(acme, owner, 6)
    doomed = start_celery_worker("doomed")
    viewer_client.post("/t/acme/decisions/export-pdf/")
    job = ExportJob.objects.get(team=acme)
    wait_for(lambda: job.parts.filter(status=JobStatus.RUNNING).exists(), timeout=60, what="a part")
    doomed.kill()
    running = job.parts.get(status=JobStatus.RUNNING)

    reaped = wait_for(lambda: reap_stale_exports(stale_after_s=1.0), timeout=30)
    assert reaped == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(f"{running.label}: the worker doomed-0@")
    assert not job.parts.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
    assert not job.parts.exclude(file="").exists()
    page = viewer_client.get(f"/t/acme/decisions/exports/{job.pk}/").content.decode()
    assert 'id="job-retry"' in page and "stopped reporting" in page

    # A healthy worker takes the cancelled parts' messages and does nothing with them.
    healthy = start_celery_worker("healthy")
    wait_for(lambda: len(worker_log_tasks(healthy)) >= 1, timeout=60, what="the messages")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.file == ""
