"""The Celery app. Settings live in config/settings.py under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("archway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def add_to_beat(entry: str, task: str, every_s: float) -> None:
    """Run ``task`` every ``every_s`` seconds under Celery beat; apps call this from ready()."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        entry: {"task": task, "schedule": every_s},
    }
