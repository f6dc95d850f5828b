"""Big whole-log exports in parts: several workers build a run of records each, the last
to finish merges the parts in order (ADR-0013; the probe runs' shards are the model).

* **Plan** (``export_parts_plan``, when the job is asked for): a log above its kind's
  part size (``kinds.export_part_size``) is cut into contiguous runs of records in
  number order, one ``ExportPart`` row each; one Celery message per part.
* **A part** (``export_part_run``): claimed with a conditional update like every job;
  the first part claimed moves the job to running. It builds its records into a file of
  its own, saved through the storage API: for the PDF its records rendered in chunks in
  forked children and joined, without front matter or page numbers, with its page count
  and each record's first page in the row (``log_pdf_piece``); for the zip the records'
  files without the index (``write_log_zip_part``). Its progress is summed into the job.
* **The merge** (``export_parts_merge``): the part that finds every part succeeded
  claims the job for itself with a conditional update (its name goes into the job's
  empty ``worker``), so of two parts finishing at once exactly one merges. It reads the
  parts back from the storage in order and writes the final file: for the PDF the
  front matter, whose page numbers are sums of the parts' page counts, then the parts,
  with page numbers stamped across the whole document (``log_pdf_assemble``); for the
  zip the parts' files, then the index (``merge_log_zips``). The parts' files are then
  deleted.
* **Failures**: a part that fails fails the job with its reason; the reaper fails a
  part whose worker stopped sending heartbeats, or whose message never reached a
  worker, and its job with it. A failed job keeps what it did (its parts' rows with
  their status and counts, its progress); the parts' files are deleted, since no
  download may offer half a log; queued parts are cancelled, and running ones stop at
  their next progress step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import IO, Any, BinaryIO

from django.db.models import Sum
from django.utils import timezone

from decisions.jobs import (
    ACTIVE,
    FINISHED,
    STALE_AFTER_S,
    Heartbeat,
    JobStatus,
    lost_in_queue_message,
    queued_too_long_s,
    stopped_reporting_message,
)
from decisions.models import Decision, ExportJob, ExportPart
from decisions.records.exports.kinds import (
    EXPORT_KINDS,
    LOG_ZIP,
    RECORDS_SHARE,
    export_part_size,
)
from decisions.records.exports.log_pdf import Piece, log_pdf_assemble, log_pdf_piece
from decisions.records.exports.storage import (
    export_delete,
    export_name,
    export_open,
    export_part_name,
    export_save,
)
from decisions.records.exports.zip import log_zip_records, merge_log_zips, write_log_zip_part

log = logging.getLogger(__name__)

# What a part that stops because its job ended says (a queued part, or a running one).
JOB_ENDED = "the export ended before this part finished"


class _JobEnded(Exception):
    """The part's job failed (or the part was taken over) while the part was running."""


def export_parts_plan(job: ExportJob, numbers: Sequence[int]) -> list[ExportPart]:
    """The job's parts over ``numbers`` (its records' numbers, ascending); none when one
    task builds the export. Call it in the transaction that creates the job."""
    size = export_part_size(job.kind, len(numbers))
    if size is None:
        return []
    return ExportPart.objects.bulk_create(
        ExportPart(
            job=job,
            index=index,
            first_number=numbers[start],
            last_number=numbers[min(start + size, len(numbers)) - 1],
            total=len(numbers[start : start + size]),
        )
        for index, start in enumerate(range(0, len(numbers), size))
    )


def _records(part: ExportPart) -> Any:
    decisions = Decision.objects.filter(
        team_id=part.job.team_id,
        number__gte=part.first_number,
        number__lte=part.last_number,
    ).order_by("number")
    if part.job.kind == LOG_ZIP:
        return log_zip_records(decisions)
    return decisions.values_list("pk", flat=True)


def _build_part(
    part: ExportPart, target: BinaryIO, progress: Callable[[int], None]
) -> dict[str, Any]:
    """Build the part's file into ``target``; what its row records about it."""
    job = part.job
    if job.kind == LOG_ZIP:
        held = write_log_zip_part(
            target, _records(part), progress=lambda done, total: progress(done)
        )
        return {"records": [[n, int(diagram)] for n, diagram in held], "done": len(held)}
    pks = list(_records(part))
    piece = log_pdf_piece(job.team, pks, target, generated=job.created, progress=progress)
    return {"records": [list(s) for s in piece.starts], "pages": piece.pages, "done": len(pks)}


def _job_totals(job_id: int, total: int) -> bool:
    """Sum the parts' progress into the job; False once the job is no longer in its
    parts' hands (failed, or being merged)."""
    done = ExportPart.objects.filter(job_id=job_id).aggregate(done=Sum("done"))["done"] or 0
    return (
        ExportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker="").update(
            done=done, progress=RECORDS_SHARE * done / max(total, 1), heartbeat_at=timezone.now()
        )
        == 1
    )


def export_part_run(*, part_id: int, worker: str) -> bool:
    """Claim the part, build its file, and merge the job if it was the last to finish;
    False if the part is finished or another worker has it."""
    if not ExportPart.claim(part_id, worker=worker):
        return False
    part = ExportPart.objects.select_related("job__team").get(pk=part_id)
    job = part.job
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    saved = ""
    try:
        if not _job_totals(job.pk, job.total):
            raise _JobEnded

        def progress(done: int) -> None:
            fields = {"done": done, "progress": 100 * done / max(part.total, 1)}
            if not ExportPart.beat(part_id, worker=worker, **fields):
                raise _JobEnded  # the reaper gave the part up
            if not _job_totals(job.pk, job.total):
                raise _JobEnded  # another part failed the job

        kind = EXPORT_KINDS[job.kind]
        name = export_part_name(
            team_slug=job.team.slug,
            kind=job.kind,
            job_id=job.pk,
            index=part.index,
            ext=kind.extension,
        )
        built: dict[str, Any] = {}
        with Heartbeat(ExportPart, part_id, worker=worker):
            saved = export_save(
                name, lambda target: built.update(_build_part(part, target, progress))
            )
        if not ExportPart.finish(
            part_id,
            worker=worker,
            status=JobStatus.SUCCEEDED,
            progress=100,
            file=saved,
            **built,
        ):
            raise _JobEnded
    except _JobEnded:
        if saved:
            export_delete(saved)
        ExportPart.finish(part_id, worker=worker, status=JobStatus.CANCELLED, error=JOB_ENDED)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure (PdfError, storage, ...) ends the job
        log.exception("Export part %s failed", part_id)
        if saved:
            export_delete(saved)
        error = str(exc)[:2000]
        ExportPart.finish(part_id, worker=worker, status=JobStatus.FAILED, error=error)
        export_job_fail(job_id=job.pk, error=f"{part.label} failed: {error}")
        return True
    _job_totals(job.pk, job.total)
    if ExportJob.objects.filter(pk=job.pk, status__in=FINISHED).exists():
        # The job failed while this part was saving its file: nothing will merge it.
        export_delete(saved)
        ExportPart.objects.filter(pk=part_id).update(file="")
        return True
    export_parts_merge(job_id=job.pk, worker=worker)
    return True


def _merge(job: ExportJob, parts: list[ExportPart], target: BinaryIO) -> None:
    openers = [partial(_open_part, part) for part in parts]
    if job.kind == LOG_ZIP:
        numbers = [n for part in parts for n, _ in part.records]
        diagrams = {n for part in parts for n, drawn in part.records if drawn}
        decisions = list(
            Decision.objects.filter(team_id=job.team_id, number__in=numbers)
            .only("number", "title", "status", "date")
            .order_by("number")
        )
        merge_log_zips(target, job.team, (o() for o in openers), decisions, diagrams)
        return
    pieces = [
        (opener, Piece(part.pages, tuple((n, page) for n, page in part.records)))
        for opener, part in zip(openers, parts, strict=True)
    ]
    log_pdf_assemble(job.team, pieces, target, generated=job.created)


def _open_part(part: ExportPart) -> IO[bytes]:
    found = export_open(part.file)
    if found is None:
        raise FileNotFoundError(f"The file of {part.label} is missing from the storage.")
    return found


def export_parts_merge(*, job_id: int, worker: str) -> bool:
    """Merge the job's parts into its file if every part has succeeded and no other
    worker merges them (the job's empty ``worker`` is claimed); whether this call did."""
    if ExportPart.objects.filter(job_id=job_id).exclude(status=JobStatus.SUCCEEDED).exists():
        return False
    claimed = ExportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker="").update(
        worker=worker[:200], heartbeat_at=timezone.now()
    )
    if not claimed:
        return False
    job = ExportJob.objects.select_related("team").get(pk=job_id)
    parts = list(ExportPart.objects.filter(job_id=job_id).order_by("index"))
    done = sum(part.done for part in parts)
    kind = EXPORT_KINDS[job.kind]
    name = export_name(team_slug=job.team.slug, kind=job.kind, job_id=job.pk, ext=kind.extension)
    saved = ""
    try:
        with Heartbeat(ExportJob, job_id, worker=worker):
            saved = export_save(name, lambda target: _merge(job, parts, target))
    except Exception as exc:  # noqa: BLE001 - any failure (PdfError, storage, ...) ends the job
        log.exception("Export job %s: the parts were not merged", job_id)
        if saved:
            export_delete(saved)
        ExportJob.finish(
            job_id,
            worker=worker,
            status=JobStatus.FAILED,
            error=f"The parts could not be merged: {exc}"[:2000],
        )
        _delete_part_files(job_id)
        return True
    if not ExportJob.finish(
        job_id,
        worker=worker,
        status=JobStatus.SUCCEEDED,
        progress=100,
        done=done,
        total=done,
        file=saved,
    ):
        export_delete(saved)  # the reaper gave the job up meanwhile: its verdict stands
    _delete_part_files(job_id)
    return True


def _delete_part_files(job_id: int) -> None:
    for part in ExportPart.objects.filter(job_id=job_id).exclude(file=""):
        export_delete(part.file)
        ExportPart.objects.filter(pk=part.pk).update(file="")


def export_job_fail(*, job_id: int, error: str) -> bool:
    """Fail a job in parts (unless it has ended already): its queued parts are cancelled,
    its running parts stop at their next step, the finished parts' files are deleted;
    the rows keep what was done. Whether this call failed it."""
    now = timezone.now()
    failed = ExportJob.objects.filter(pk=job_id, status__in=ACTIVE).update(
        status=JobStatus.FAILED, finished_at=now, error=f"{error}; start the export again."
    )
    if not failed:
        return False
    ExportPart.objects.filter(job_id=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=now, error=JOB_ENDED
    )
    _delete_part_files(job_id)
    return True


def reap_stale_parts(*, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Fail parts whose worker went quiet, or whose message never reached a worker, and
    their jobs; the ids of the jobs failed."""
    now = timezone.now()
    reaped: list[int] = []
    for part in ExportPart.objects.filter(ExportPart.stale_filter(stale_after_s)):
        reason = stopped_reporting_message(part.worker, part.heartbeat_at or part.started_at)
        gave_up = ExportPart.objects.filter(
            pk=part.pk, status=JobStatus.RUNNING, worker=part.worker
        ).update(status=JobStatus.FAILED, finished_at=now, error=reason)
        if gave_up and export_job_fail(job_id=part.job_id, error=f"{part.label}: {reason}"):
            reaped.append(part.job_id)
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    for part in ExportPart.objects.filter(status=JobStatus.QUEUED, job__created__lt=lost_cutoff):
        reason = lost_in_queue_message()
        gave_up = ExportPart.objects.filter(pk=part.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, finished_at=now, error=reason
        )
        if gave_up and export_job_fail(job_id=part.job_id, error=f"{part.label}: {reason}"):
            reaped.append(part.job_id)
    return sorted(reaped)
