"""The whole-log PDF as a background job: start it, run it (in a Celery worker), find its file.

The row (`ExportJob`) is the job's state. The task claims it with a conditional update
(queued -> running), so a redelivered message never renders twice; a failure marks it
failed with the reason and keeps whatever progress was made.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.models import Decision, ExportJob, ExportJobStatus, Team
from decisions.records.exports.log_pdf import log_pdf

log = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "The task queue (Redis) cannot be reached"
EXPORT_DIR = "exports"
# Share of the progress bar for the records' parts; the contents and joining get the rest.
PARTS_SHARE = 95


class EnqueueError(Exception):
    """The job was saved but could not be handed to a worker; the message says why."""


def export_job_start(*, team: Team, by: AbstractBaseUser | None) -> ExportJob:
    total = Decision.objects.filter(team=team).count()
    with transaction.atomic():
        job = ExportJob.objects.create(team=team, requested_by=by, total=total)
        transaction.on_commit(partial(export_job_enqueue, job_id=job.pk))
    job.refresh_from_db()
    if job.status == ExportJobStatus.FAILED:
        raise EnqueueError(job.error)
    return job


def export_job_enqueue(*, job_id: int) -> bool:
    """Publish the task on a fresh, checked connection: a stopped Redis is one quick error."""
    from kombu.exceptions import OperationalError

    from config.celery import app
    from decisions.tasks import export_log_pdf

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
            export_log_pdf.apply_async((job_id,), connection=conn, retry=False)
    except (OperationalError, OSError) as exc:
        log.warning("Export job %s not enqueued: %s", job_id, exc)
        ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.QUEUED).update(
            status=ExportJobStatus.FAILED,
            error=f"{QUEUE_UNAVAILABLE} ({exc}); try the export again later.",
            finished=timezone.now(),
        )
        return False
    return True


def export_job_run(*, job_id: int) -> bool:
    """Claim the job and build the PDF; False if another worker already has it."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.QUEUED).update(
        status=ExportJobStatus.RUNNING, started=timezone.now()
    )
    if claimed != 1:
        return False
    job = ExportJob.objects.select_related("team").get(pk=job_id)
    try:
        decisions = Decision.objects.filter(team=job.team).only("pk", "number", "title", "status")
        ExportJob.objects.filter(pk=job_id).update(total=decisions.count())

        def progress(done: int, total: int) -> None:
            ExportJob.objects.filter(pk=job_id).update(
                done=done, progress=int(PARTS_SHARE * done / max(total, 1))
            )

        pdf = log_pdf(job.team, decisions, progress=progress)
        relative = f"{EXPORT_DIR}/{job.team.slug}-log-{job.pk}.pdf"
        target = Path(settings.MEDIA_ROOT) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial_file = target.with_suffix(".part")
        partial_file.write_bytes(pdf)
        partial_file.replace(target)  # never serve a half-written file
    except Exception as exc:  # noqa: BLE001 - any failure (PdfError, disk, ...) ends the job
        log.exception("Export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJobStatus.FAILED, error=str(exc)[:2000], finished=timezone.now()
        )
        return True
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJobStatus.DONE,
        progress=100,
        done=F("total"),
        file=relative,
        finished=timezone.now(),
    )
    return True


def export_job_path(job: ExportJob) -> Path | None:
    """The finished file on disk, only under MEDIA_ROOT/exports/."""
    if job.status != ExportJobStatus.DONE or not job.file:
        return None
    root = (Path(settings.MEDIA_ROOT) / EXPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / job.file).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
