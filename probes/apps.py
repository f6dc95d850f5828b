from __future__ import annotations

from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "Probes"

    def ready(self) -> None:
        # Measured evidence and the reaper reach decisions through its
        # registries, so `decisions` never imports `probes`.
        from decisions import evidence
        from decisions.jobs import register_reaper
        from probes.living import ProbeRemeasurer, guard_webhook_url
        from probes.selectors import measured_evidence, usecase_evidence_rows
        from probes.services.reaper import reap_stale_runs

        evidence.register(measured_evidence)
        evidence.register_remeasurer(ProbeRemeasurer())
        evidence.register_url_guard(guard_webhook_url)
        evidence.register_rows(usecase_evidence_rows)
        register_reaper("probes", reap_stale_runs)

    def seed_demo(self) -> list[str]:
        from probes.demo import seed_demo

        return seed_demo()
