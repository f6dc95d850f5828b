"""The whole-log PDF as a background job: start it, run it (in a Celery worker), reap it.

The row (``ExportJob``, a ``decisions.jobs.Job``) is the job's state. The task claims it
with a conditional update, so a redelivered message never renders twice at once; while
it runs the job writes a heartbeat (on each progress step, and from a small thread
during the render), so the reaper can tell a job whose worker died and fail it, and a
redelivered message can take such a job over once its heartbeat is stale. The file is
written under a temporary name and renamed into place: a job that dies leaves no
half-written file behind.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from functools import partial
from pathlib import Path

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
from decisions.pdf import render_pdf
from decisions.records.exports.pdf import log_html, log_timeout

log = logging.getLogger(__name__)

EXPORT_DIR = "exports"
# Share of the progress bar for preparing records (diagrams, Markdown); the render
# itself is one WeasyPrint call (the table of contents needs every page) and gets the rest.
PREPARE_SHARE = 70


class EnqueueError(Exception):
    """The job was saved but could not be handed to a worker; the message says why."""


def export_job_start(*, team: Team, by: User | None) -> ExportJob:
    total = Decision.objects.filter(team=team).count()
    with transaction.atomic():
        job = ExportJob.objects.create(team=team, requested_by=by, total=total)
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

    return job_enqueue(export_log_pdf, [(job_id,)], on_unavailable=fail)


def _file_path(job: ExportJob) -> tuple[str, Path]:
    relative = f"{EXPORT_DIR}/{job.team.slug}-log-{job.pk}.pdf"
    return relative, Path(settings.MEDIA_ROOT) / relative


def export_job_run(*, job_id: int, worker: str) -> bool:
    """Claim the job and build the PDF; False if it is finished or another worker has it."""
    if not ExportJob.claim(job_id, worker=worker):
        return False
    job = ExportJob.objects.select_related("team").get(pk=job_id)
    relative, target = _file_path(job)
    # Named per process: a slow worker that lost the job never writes over its successor's.
    partial_file = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        decisions = list(
            Decision.objects.filter(team=job.team)
            .select_related("team", "superseded_by", "use_case", "snapshot")
            .prefetch_related("supersedes")
            .order_by("number")
        )
        ExportJob.beat(job_id, worker=worker, total=len(decisions))

        def progress(done: int, total: int) -> None:
            ExportJob.beat(
                job_id, worker=worker, done=done, progress=PREPARE_SHARE * done / max(total, 1)
            )

        html = log_html(job.team, decisions, progress=progress)
        with Heartbeat(ExportJob, job_id, worker=worker):
            pdf = render_pdf(html, timeout=log_timeout(len(decisions)))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial_file.write_bytes(pdf)
        if not ExportJob.beat(job_id, worker=worker):
            # The reaper gave the job up or another worker took it over: theirs stands.
            partial_file.unlink(missing_ok=True)
            return True
        partial_file.replace(target)  # never serve a half-written file
    except Exception as exc:  # noqa: BLE001 - any failure (PdfError, disk, ...) ends the job
        log.exception("Export job %s failed", job_id)
        partial_file.unlink(missing_ok=True)
        ExportJob.finish(job_id, worker=worker, status=JobStatus.FAILED, error=str(exc)[:2000])
        return True
    ExportJob.finish(
        job_id,
        worker=worker,
        status=JobStatus.SUCCEEDED,
        progress=100,
        done=F("total"),
        file=relative,
    )
    return True


def export_job_path(job: ExportJob) -> Path | None:
    """The finished file on disk, only under MEDIA_ROOT/exports/."""
    if job.status != JobStatus.SUCCEEDED or not job.file:
        return None
    root = (Path(settings.MEDIA_ROOT) / EXPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / job.file).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def reap_stale_exports(*, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Fail export jobs whose worker went quiet, or whose message never reached one.

    The job keeps the progress it made; any temporary file it left is removed,
    and the export page offers to start it again.
    """
    now = timezone.now()
    reaped: list[int] = []
    for job in ExportJob.objects.filter(ExportJob.stale_filter(stale_after_s)).select_related(
        "team"
    ):
        reason = stopped_reporting_message(job.worker, job.heartbeat_at or job.started_at)
        gave_up = ExportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker)
        if gave_up.update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=f"{reason}; nothing was written. Start the export again.",
        ):
            _, target = _file_path(job)
            for leftover in target.parent.glob(f"{target.name}.*.part"):
                leftover.unlink(missing_ok=True)
            reaped.append(job.pk)
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    lost = ExportJob.objects.filter(status=JobStatus.QUEUED, created__lt=lost_cutoff)
    reaped.extend(lost.values_list("pk", flat=True))
    lost.update(status=JobStatus.FAILED, finished_at=now, error=f"{lost_in_queue_message()}.")
    return sorted(reaped)
