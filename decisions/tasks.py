"""Celery tasks for decisions: thin wrappers that call a service with a row id."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from decisions import jobs
from decisions.records.exports.jobs import export_job_run
from decisions.records.exports.parts import export_part_run

# Expired sessions stay in the database until deleted; once an hour keeps the table small.
CLEAR_SESSIONS_EVERY_S = 3600.0


@shared_task(name="decisions.export_log_pdf", bind=True, acks_late=True)
def export_log_pdf(self, job_id: int) -> bool:  # noqa: ANN001 - Celery's bound task
    """Build a log export (PDF or zip; the name is older than the zip) in one task; a
    redelivered message finds the job claimed (or finished) and returns."""
    return export_job_run(job_id=job_id, worker=jobs.worker_label(self.request.hostname))


@shared_task(name="decisions.export_log_part", bind=True, acks_late=True)
def export_log_part(self, part_id: int) -> bool:  # noqa: ANN001 - Celery's bound task
    """Build one part of a big export; the last part to finish merges them all."""
    return export_part_run(part_id=part_id, worker=jobs.worker_label(self.request.hostname))


@shared_task(name="decisions.reap_stale_jobs")
def reap_stale_jobs() -> dict[str, list[int]]:
    """End every kind of job whose worker stopped sending heartbeats (Celery beat)."""
    return jobs.reap_stale_jobs()


@shared_task(name="decisions.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete expired sessions (Celery beat, hourly)."""
    call_command("clearsessions")


# The living-decision tasks live with their area; importing them here registers them.
from decisions.living import tasks as living_tasks  # noqa: E402, F401
