"""Celery tasks for probes: thin wrappers that hand a row id to a service."""

from __future__ import annotations

from celery import shared_task

from decisions.jobs import worker_label
from probes.services.execution import shard_execute


@shared_task(name="probes.run_probe_shard", bind=True, acks_late=True)
def run_probe_shard(self, shard_id: int) -> bool:  # noqa: ANN001 - Celery's bound task
    """Run one shard of a probe; a redelivered message finds it claimed and does nothing."""
    return shard_execute(shard_id=shard_id, worker=worker_label(self.request.hostname))
