"""The probe runs' part of the reaper (``decisions.jobs.reap_stale_jobs``, Celery beat)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from decisions.jobs import (
    STALE_AFTER_S,
    lost_in_queue_message,
    queued_too_long_s,
    stopped_reporting_message,
)
from probes.engine import cleanup_leftovers_sync
from probes.models import ACTIVE, BROKER_KINDS, JobStatus, ProbeRun, ProbeShard
from probes.services.execution import broker_run_id, broker_target, run_finalize

logger = logging.getLogger(__name__)


def broker_leftovers_delete(run: ProbeRun) -> list[str]:
    """Delete the temporary queues or streams a killed broker run left; their names.

    The URL is guarded again (the broker is contacted); a failure is logged
    and the resources still expire on their own after ten minutes.
    """
    try:
        target = broker_target(run.endpoint, run.url)
        return cleanup_leftovers_sync(target, broker_run_id(run), shards=run.shards)
    except Exception:
        logger.exception("Probe %s: temporary broker resources not deleted", run.pk)
        return []


def reap_stale_runs(*, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Interrupt shards whose worker went quiet; finalize their runs. Returns the run ids.

    A running shard writes a heartbeat several times a second, so a heartbeat
    older than ``stale_after_s`` means its worker was killed or lost. What it
    measured so far (sent, errors, live p50/p99) stays on the rows.
    """
    now = timezone.now()
    stale = list(ProbeShard.objects.filter(ProbeShard.stale_filter(stale_after_s)))
    for shard in stale:
        reason = stopped_reporting_message(shard.worker, shard.heartbeat_at or shard.started_at)
        ProbeShard.objects.filter(pk=shard.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.INTERRUPTED,
            finished_at=now,
            error=f"{reason}; kept what it measured until then",
        )
    # A shard still queued after Redis would have redelivered its message was
    # lost (Redis emptied, no worker for the queue): fail it so the run ends
    # and the team's probe slot comes free.
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    lost = ProbeShard.objects.filter(status=JobStatus.QUEUED, run__created__lt=lost_cutoff)
    lost_run_ids = set(lost.values_list("run_id", flat=True))
    lost.update(status=JobStatus.FAILED, finished_at=now, error=lost_in_queue_message())
    # A worker lost between finishing its shard and closing the run leaves an
    # active run whose shards have all ended: close it too.
    orphans = (
        ProbeRun.objects.filter(status__in=ACTIVE, shard_rows__isnull=False)
        .exclude(shard_rows__status__in=ACTIVE)
        .values_list("pk", flat=True)
        .distinct()
    )
    interrupted = ProbeRun.objects.filter(
        pk__in={shard.run_id for shard in stale}, endpoint__kind__in=BROKER_KINDS
    ).select_related("endpoint__team")
    for run in interrupted:
        broker_leftovers_delete(run)
    candidates = {shard.run_id for shard in stale} | lost_run_ids | set(orphans)
    return [run_id for run_id in sorted(candidates) if run_finalize(run_id=run_id)]
