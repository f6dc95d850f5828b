from __future__ import annotations

from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "Probes"

    def ready(self) -> None:
        # Measured evidence reaches the recommendation through this registry,
        # so `decisions` never imports `probes`.
        from config.celery import app
        from decisions.evidence import register
        from probes.selectors import measured_evidence
        from probes.tasks import register_beat_schedule

        register(measured_evidence)
        register_beat_schedule(app)

    def seed_demo(self) -> list[str]:
        from probes.demo import seed_demo

        return seed_demo()
