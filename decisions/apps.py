from __future__ import annotations

from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Decisions"

    def seed_demo(self) -> list[str]:
        from decisions.demo import seed_demo

        return seed_demo()
