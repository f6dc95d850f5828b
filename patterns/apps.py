from __future__ import annotations

from django.apps import AppConfig


class PatternsConfig(AppConfig):
    name = "patterns"
    verbose_name = "Communication patterns"
    default_auto_field = "django.db.models.BigAutoField"
