"""Celery tasks for decisions: thin wrappers that call a service with a row id."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from decisions.records.exports.jobs import export_job_run

# Expired sessions stay in the database until deleted; once an hour keeps the table small.
CLEAR_SESSIONS_EVERY_S = 3600.0


@shared_task(name="decisions.export_log_pdf", acks_late=True)
def export_log_pdf(job_id: int) -> bool:
    return export_job_run(job_id=job_id)


@shared_task(name="decisions.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete expired sessions (Celery beat, hourly)."""
    call_command("clearsessions")
