from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Load the demo teams, people and data (safe to run again). "
        "Each app with a `demo` module contributes through its seed_demo() function."
    )

    def handle(self, *args: object, **options: object) -> None:
        created: list[str] = []
        for config in apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if seed is not None:
                created.extend(seed())
        if created:
            self.stdout.write("Demo data: created " + ", ".join(created) + ".")
        else:
            self.stdout.write("Demo data already in place.")
