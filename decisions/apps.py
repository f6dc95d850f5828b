from __future__ import annotations

from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Decisions"

    def ready(self) -> None:
        from config.celery import add_to_beat
        from decisions import evidence
        from decisions.jobs import REAP_EVERY_S, register_reaper
        from decisions.living.tasks import CHECKS_EVERY_S, DAILY_EVERY_S, checks_after_probe
        from decisions.records.exports.jobs import reap_stale_exports
        from decisions.tasks import CLEAR_SESSIONS_EVERY_S

        register_reaper("exports", reap_stale_exports)
        evidence.on_probe_finished(checks_after_probe)
        add_to_beat("decisions-reap-stale-jobs", "decisions.reap_stale_jobs", REAP_EVERY_S)
        add_to_beat(
            "decisions-clear-expired-sessions",
            "decisions.clear_expired_sessions",
            CLEAR_SESSIONS_EVERY_S,
        )
        add_to_beat("decisions-run-due-checks", "decisions.run_due_checks", CHECKS_EVERY_S)
        add_to_beat(
            "decisions-daily-decision-review", "decisions.daily_decision_review", DAILY_EVERY_S
        )

    def seed_demo(self) -> list[str]:
        from decisions.demo import seed_demo

        return seed_demo()
