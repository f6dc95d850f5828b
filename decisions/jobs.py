"""One shape for background jobs: the row is the job, a Celery task only carries its id.

Export jobs (decisions) and probe runs and shards (probes) share it:

- ``Job``, an abstract model: status, progress, error, the worker that claimed it,
  and its times (created, started, finished, last heartbeat).
- ``JobStatus``: queued -> running -> succeeded | failed | cancelled | interrupted.
- ``Job.claim``: a conditional update (queued, or running with a stale heartbeat)
  that records the worker and a first heartbeat. A redelivered message therefore
  never runs a job twice at once, and a job whose worker died can be claimed
  again once its heartbeat is stale.
- ``Heartbeat``: a small thread that keeps ``heartbeat_at`` fresh while a long
  step (a PDF render) runs; a job that reports progress beats on each report.
- ``job_enqueue``: publish on a fresh, checked broker connection, so a stopped
  Redis fails the job at once with ``QUEUE_UNAVAILABLE`` instead of a retry loop.
- ``reap_stale_jobs``: the one reaper Celery beat runs; every app registers the
  reaper for its own kinds of job (``register_reaper`` from AppConfig.ready()).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "the job queue is unavailable"
# A running job writes a heartbeat at least this often...
HEARTBEAT_EVERY_S = 2.0
# ...so one older than this means its worker was killed or lost.
STALE_AFTER_S = float(getattr(settings, "JOB_STALE_AFTER_S", 30))
REAP_EVERY_S = 30.0


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    INTERRUPTED = "interrupted", "Interrupted"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED)


def worker_label(hostname: str | None = None) -> str:
    """Who claims a job: the Celery node name and the process, as the error messages show it."""
    return f"{hostname or socket.gethostname()} pid {os.getpid()}"


class Job(models.Model):
    """A unit of background work whose state lives in its row."""

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0, help_text="Percent done, 0-100.")
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Who claimed it.")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # Whether a running job whose heartbeat went stale may be claimed again.
    # A probe shard may not: its target must never get more load than was asked.
    reclaimable: ClassVar[bool] = True

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def stale_filter(cls, stale_after_s: float = STALE_AFTER_S) -> Q:
        """Running, with no heartbeat for ``stale_after_s``: its worker is gone."""
        cutoff = timezone.now() - timedelta(seconds=stale_after_s)
        return Q(status=JobStatus.RUNNING) & (
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
        )

    @classmethod
    def claim(cls, pk: int, *, worker: str, stale_after_s: float = STALE_AFTER_S) -> bool:
        """Take the job for ``worker``; False when it is finished or another worker has it.

        One conditional UPDATE, so of two deliveries racing for the same row exactly
        one wins, on every database.
        """
        claimable = Q(status=JobStatus.QUEUED)
        if cls.reclaimable:
            claimable |= cls.stale_filter(stale_after_s)
        now = timezone.now()
        updated = cls._default_manager.filter(claimable, pk=pk).update(
            status=JobStatus.RUNNING, worker=worker[:200], started_at=now, heartbeat_at=now
        )
        return updated == 1

    @classmethod
    def beat(cls, pk: int, *, worker: str, **fields: Any) -> bool:
        """Write a heartbeat (and ``fields``) while ``worker`` still holds the job."""
        held = cls._default_manager.filter(pk=pk, status=JobStatus.RUNNING, worker=worker[:200])
        return held.update(heartbeat_at=timezone.now(), **fields) == 1

    @classmethod
    def finish(cls, pk: int, *, worker: str, status: str, **fields: Any) -> bool:
        """End the job, unless the reaper or another worker took it over meanwhile."""
        held = cls._default_manager.filter(pk=pk, status=JobStatus.RUNNING, worker=worker[:200])
        return held.update(status=status, finished_at=timezone.now(), **fields) == 1


class Heartbeat(threading.Thread):
    """Keeps a claimed job's heartbeat fresh while one long step runs.

    Use it as a context manager around the step. Its own database connection
    is closed when it stops.
    """

    def __init__(
        self, model: type[Job], pk: int, *, worker: str, every_s: float = HEARTBEAT_EVERY_S
    ) -> None:
        super().__init__(name=f"{model.__name__}-{pk}-heartbeat", daemon=True)
        self.model, self.pk, self.worker, self.every_s = model, pk, worker, every_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.every_s):
                try:
                    self.model.beat(self.pk, worker=self.worker)
                except Exception:  # a locked database must not end the job
                    log.exception("%s %s: heartbeat not written", self.model.__name__, self.pk)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def job_enqueue(
    task: Any,
    calls: Iterable[Sequence[Any]],
    *,
    on_unavailable: Callable[[str], None],
    options: dict[str, Any] | None = None,
) -> bool:
    """Publish one ``task`` message per argument tuple in ``calls``.

    A fresh broker connection, checked before publishing, turns a stopped Redis
    into one quick error; ``on_unavailable`` gets ``QUEUE_UNAVAILABLE`` with the
    cause and fails the job(s) so the page can say so. Returns whether all were sent.
    ``options`` go to ``apply_async`` (a job's own ``time_limit``, for one).
    """
    from kombu.exceptions import OperationalError

    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            # kombu takes interval_step in seconds as a float; celery-types says int.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)  # type: ignore[arg-type]
            for args in calls:
                task.apply_async(tuple(args), connection=conn, retry=False, **(options or {}))
    except (OperationalError, OSError) as exc:
        log.warning("%s not enqueued: %s", task.name, exc)
        on_unavailable(f"{QUEUE_UNAVAILABLE} ({exc})")
        return False
    return True


def queued_too_long_s() -> float:
    """How long a job may wait in the queue before its message counts as lost.

    Redis hands an unacknowledged message to another worker only after the
    visibility timeout; a job still queued well after that will never start.
    """
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + STALE_AFTER_S


def lost_in_queue_message() -> str:
    return (
        f"no worker started it within {queued_too_long_s() / 60:.0f} minutes: the queue "
        "message was lost or no worker reads the queue"
    )


def stopped_reporting_message(worker: str, last: datetime | None) -> str:
    when = f"{last:%H:%M:%S} UTC" if last else "its start"
    return f"the worker {worker or '(unknown)'} stopped reporting at {when} (killed or lost)"


# --- the reaper -------------------------------------------------------------------

Reaper = Callable[..., list[int]]
_reapers: dict[str, Reaper] = {}


def register_reaper(kind: str, reaper: Reaper) -> None:
    """``reaper(stale_after_s=...)`` ends ``kind`` jobs whose worker is gone; returns their ids."""
    _reapers[kind] = reaper


def reap_stale_jobs(*, stale_after_s: float = STALE_AFTER_S) -> dict[str, list[int]]:
    """Run every registered reaper; one failing reaper does not stop the others."""
    reaped: dict[str, list[int]] = {}
    for kind, reaper in _reapers.items():
        try:
            reaped[kind] = reaper(stale_after_s=stale_after_s)
        except Exception:
            log.exception("Reaper for %s failed", kind)
    return reaped
