"""Whole-log exports as background jobs (the PDF and the Markdown zip): start one, run it
(in a Celery worker), find its file, reap it.

The row (``ExportJob``, a ``decisions.jobs.Job``) is the job's state; ``kind`` says which
export it builds (``EXPORT_KINDS``). The task claims it with a conditional update, so a
redelivered message never builds twice at once; while it runs the job writes a heartbeat
(on each progress step, and from a small thread in between), so the reaper can tell a job
whose worker died and fail it, and a redelivered message can take such a job over once
its heartbeat is stale. The message carries a time limit that grows with the number of
records (``export_time_limit``), so a big log is never cut off by the worker's default.

The file is built in a temporary file and saved through Django's storage API
(``decisions.records.exports.storage``), so web and workers need no shared disk. The row
names the file only once it is saved, by a worker that still holds the job; a worker that
lost the job deletes what it saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import IO, BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.jobs import (
    STALE_AFTER_S,
    Heartbeat,
    JobStatus,
    job_enqueue,
    lost_in_queue_message,
    queued_too_long_s,
    stopped_reporting_message,
)
from decisions.models import Decision, ExportJob, Team
from decisions.records.exports.log_pdf import log_pdf, log_pdf_time_limit
from decisions.records.exports.storage import (
    export_delete,
    export_name,
    export_open,
    export_save,
)
from decisions.records.exports.zip import write_log_zip

log = logging.getLogger(__name__)

LOG_PDF = "log-pdf"
LOG_ZIP = "log-zip"
# Share of the progress bar for the records; the contents, joining and saving get the rest.
RECORDS_SHARE = 95
# The zip: a dot run per new diagram (each with its own limit) and the Markdown.
ZIP_TIME_BASE_S = 120.0
ZIP_TIME_PER_RECORD_S = 1.0


@dataclass(frozen=True)
class ExportKind:
    label: str
    extension: str
    content_type: str
    time_limit: Callable[[int], float]


EXPORT_KINDS = {
    LOG_PDF: ExportKind("Decision log PDF", "pdf", "application/pdf", log_pdf_time_limit),
    LOG_ZIP: ExportKind(
        "Decision log zip (Markdown)",
        "zip",
        "application/zip",
        lambda count: ZIP_TIME_BASE_S + ZIP_TIME_PER_RECORD_S * count,
    ),
}


class EnqueueError(Exception):
    """The job was saved but could not be handed to a worker; the message says why."""


def export_time_limit(kind: str, count: int) -> float:
    """The job's hard time limit in seconds: never below the worker's default."""
    return max(float(settings.CELERY_TASK_TIME_LIMIT), EXPORT_KINDS[kind].time_limit(count))


def export_job_start(*, team: Team, by: User | None, kind: str = LOG_PDF) -> ExportJob:
    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export kind {kind!r}.")
    total = Decision.objects.filter(team=team).count()
    with transaction.atomic():
        job = ExportJob.objects.create(team=team, requested_by=by, total=total, kind=kind)
        transaction.on_commit(partial(export_job_enqueue, job_id=job.pk))
    job.refresh_from_db()
    if job.status == JobStatus.FAILED:
        raise EnqueueError(job.error[0].upper() + job.error[1:])
    return job


def export_job_enqueue(*, job_id: int) -> bool:
    from decisions.tasks import export_log_pdf

    def fail(reason: str) -> None:
        ExportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED,
            error=f"{reason}; try the export again later.",
            finished_at=timezone.now(),
        )

    job = ExportJob.objects.only("kind", "total").get(pk=job_id)
    limit = export_time_limit(job.kind, job.total)
    return job_enqueue(
        export_log_pdf,
        [(job_id,)],
        on_unavailable=fail,
        options={"time_limit": limit, "soft_time_limit": limit - 60},
    )


def _build(job: ExportJob, target: BinaryIO, progress: Callable[[int, int], None]) -> None:
    decisions = Decision.objects.filter(team=job.team)
    if job.kind == LOG_ZIP:
        records = (
            decisions.select_related("team", "superseded_by", "use_case", "snapshot")
            .prefetch_related("supersedes", "attachments", "links_out__target", "links_in__source")
            .order_by("number")
        )
        write_log_zip(target, job.team, records, progress=progress)
    else:
        records = decisions.only("pk", "number", "title", "status")
        log_pdf(job.team, records, progress=progress, target=target)


def export_job_run(*, job_id: int, worker: str) -> bool:
    """Claim the job and build its file; False if it is finished or another worker has it."""
    if not ExportJob.claim(job_id, worker=worker):
        return False
    job = ExportJob.objects.select_related("team").get(pk=job_id)
    kind = EXPORT_KINDS.get(job.kind)
    saved = ""
    try:
        if kind is None:
            raise ValueError(f"Unknown export kind {job.kind!r}.")
        total = Decision.objects.filter(team=job.team).count()
        ExportJob.beat(job_id, worker=worker, total=total)

        def progress(done: int, total: int) -> None:
            ExportJob.beat(
                job_id, worker=worker, done=done, progress=RECORDS_SHARE * done / max(total, 1)
            )

        name = export_name(
            team_slug=job.team.slug, kind=job.kind, job_id=job.pk, ext=kind.extension
        )
        with Heartbeat(ExportJob, job_id, worker=worker):
            saved = export_save(name, lambda target: _build(job, target, progress))
        if not ExportJob.beat(job_id, worker=worker):
            # The reaper gave the job up or another worker took it over: theirs stands.
            export_delete(saved)
            return True
    except Exception as exc:  # noqa: BLE001 - any failure (PdfError, storage, ...) ends the job
        log.exception("Export job %s failed", job_id)
        if saved:
            export_delete(saved)
        ExportJob.finish(job_id, worker=worker, status=JobStatus.FAILED, error=str(exc)[:2000])
        return True
    if not ExportJob.finish(
        job_id,
        worker=worker,
        status=JobStatus.SUCCEEDED,
        progress=100,
        done=F("total"),
        file=saved,
    ):
        export_delete(saved)
    return True


def export_job_file(job: ExportJob) -> IO[bytes] | None:
    """The finished file, opened for reading through the storage API; None if none."""
    if job.status != JobStatus.SUCCEEDED or not job.file:
        return None
    return export_open(job.file)


def reap_stale_exports(*, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Fail export jobs whose worker went quiet, or whose message never reached one.

    The job keeps the progress it made (its file is saved only at the very end, so there
    is nothing half-written to remove), and the export page offers to start it again.
    """
    now = timezone.now()
    reaped: list[int] = []
    for job in ExportJob.objects.filter(ExportJob.stale_filter(stale_after_s)):
        reason = stopped_reporting_message(job.worker, job.heartbeat_at or job.started_at)
        gave_up = ExportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker)
        if gave_up.update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=f"{reason}; nothing was written. Start the export again.",
        ):
            reaped.append(job.pk)
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    lost = ExportJob.objects.filter(status=JobStatus.QUEUED, created__lt=lost_cutoff)
    reaped.extend(lost.values_list("pk", flat=True))
    lost.update(status=JobStatus.FAILED, finished_at=now, error=f"{lost_in_queue_message()}.")
    return sorted(reaped)
