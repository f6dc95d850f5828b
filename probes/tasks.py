"""Celery tasks for probes: thin wrappers that hand a row id to a service."""

from __future__ import annotations

from celery import shared_task

from probes import services

REAP_EVERY_S = 30.0


@shared_task(name="probes.run_probe_shard", bind=True, acks_late=True)
def run_probe_shard(self, shard_id: int) -> bool:  # noqa: ANN001 - Celery's bound task
    """Run one shard of a probe; a redelivered message finds it claimed and does nothing."""
    return services.shard_execute(shard_id=shard_id, worker=self.request.hostname or "")


@shared_task(name="probes.reap_stale_runs")
def reap_stale_runs() -> list[int]:
    """Interrupt runs whose worker stopped sending heartbeats (Celery beat, every 30 s)."""
    return services.reap_stale_runs()
