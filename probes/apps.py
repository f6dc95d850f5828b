from __future__ import annotations

from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "Probes"

    def ready(self) -> None:
        # Measured evidence reaches the recommendation through this registry,
        # so `decisions` never imports `probes`.
        from config.celery import add_to_beat
        from decisions.evidence import register
        from probes.selectors import measured_evidence
        from probes.tasks import REAP_EVERY_S

        register(measured_evidence)
        add_to_beat("probes-reap-stale-runs", "probes.reap_stale_runs", REAP_EVERY_S)

    def seed_demo(self) -> list[str]:
        from probes.demo import seed_demo

        return seed_demo()
