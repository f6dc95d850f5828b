"""Celery tasks for decisions: thin wrappers that call a service with a row id."""

from __future__ import annotations

from celery import shared_task

from decisions.services.exports import export_job_run


@shared_task(name="decisions.export_log_pdf", acks_late=True)
def export_log_pdf(job_id: int) -> bool:
    return export_job_run(job_id=job_id)
