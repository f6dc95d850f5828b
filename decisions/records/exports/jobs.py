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

A log above its kind's part size is not one task but several, one per part, merged by
the last to finish: ``decisions.records.exports.parts``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import IO, BinaryIO

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.jobs import (
    ACTIVE,
    STALE_AFTER_S,
    Heartbeat,
    JobStatus,
    job_enqueue,
    lost_in_queue_message,
    queued_too_long_s,
    stopped_reporting_message,
)
from decisions.models import Decision, ExportJob, ExportPart, Team
from decisions.records.exports.kinds import (
    EXPORT_KINDS,
    LOG_PDF,
    LOG_ZIP,
    RECORDS_SHARE,
    export_part_time_limit,
    export_time_limit,
)
from decisions.records.exports.log_pdf import log_pdf
from decisions.records.exports.parts import export_parts_plan, reap_stale_parts
from decisions.records.exports.storage import (
    export_delete,
    export_name,
    export_open,
    export_save,
)
from decisions.records.exports.zip import log_zip_records, write_log_zip

log = logging.getLogger(__name__)


class EnqueueError(Exception):
    """The job was saved but could not be handed to a worker; the message says why."""


def export_job_start(*, team: Team, by: User | None, kind: str = LOG_PDF) -> ExportJob:
    """Save the job and hand it to the workers once saved: one task, or one per part when
    the log is above the kind's part size (``parts.export_parts_plan``)."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export kind {kind!r}.")
    with transaction.atomic():
        numbers = list(
            Decision.objects.filter(team=team).order_by("number").values_list("number", flat=True)
        )
        job = ExportJob.objects.create(team=team, requested_by=by, total=len(numbers), kind=kind)
        export_parts_plan(job, numbers)
        transaction.on_commit(partial(export_job_enqueue, job_id=job.pk))
    job.refresh_from_db()
    if job.status == JobStatus.FAILED:
        raise EnqueueError(job.error[0].upper() + job.error[1:])
    return job


def export_job_enqueue(*, job_id: int) -> bool:
    from decisions.tasks import export_log_part, export_log_pdf

    def fail(reason: str) -> None:
        now = timezone.now()
        ExportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, error=f"{reason}; try the export again later.", finished_at=now
        )
        ExportPart.objects.filter(job_id=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, error=reason, finished_at=now
        )

    job = ExportJob.objects.only("kind", "total").get(pk=job_id)
    parts = list(ExportPart.objects.filter(job_id=job_id).values_list("pk", "total"))
    if parts:
        limit = export_part_time_limit(job.kind, max(total for _, total in parts), job.total)
        options = {"time_limit": limit, "soft_time_limit": limit - 60}
        calls = [(pk,) for pk, _ in parts]
        return job_enqueue(export_log_part, calls, on_unavailable=fail, options=options)
    limit = export_time_limit(job.kind, job.total)
    options = {"time_limit": limit, "soft_time_limit": limit - 60}
    return job_enqueue(export_log_pdf, [(job_id,)], on_unavailable=fail, options=options)


def _build(job: ExportJob, target: BinaryIO, progress: Callable[[int, int], None]) -> None:
    decisions = Decision.objects.filter(team=job.team)
    if job.kind == LOG_ZIP:
        write_log_zip(target, job.team, log_zip_records(decisions), progress=progress)
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

    A job in parts is failed through its parts (``parts.reap_stale_parts``): while any
    of them is queued or running, they, not the job, say whether work goes on. The job
    keeps the progress it made (its file is saved only at the very end, so there is
    nothing half-written to remove), and the export page offers to start it again.
    """
    reaped = set(reap_stale_parts(stale_after_s=stale_after_s))
    now = timezone.now()
    stale = ExportJob.objects.filter(ExportJob.stale_filter(stale_after_s)).exclude(
        parts__status__in=ACTIVE
    )
    for job in stale:
        reason = stopped_reporting_message(job.worker, job.heartbeat_at or job.started_at)
        gave_up = ExportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker)
        if gave_up.update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=f"{reason}; nothing was written. Start the export again.",
        ):
            reaped.add(job.pk)
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    lost = ExportJob.objects.filter(status=JobStatus.QUEUED, created__lt=lost_cutoff)
    reaped.update(lost.values_list("pk", flat=True))
    lost.update(status=JobStatus.FAILED, finished_at=now, error=f"{lost_in_queue_message()}.")
    return sorted(reaped)
