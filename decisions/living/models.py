from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

__all__ = ["Notice", "NoticeKind", "Webhook", "WebhookDelivery"]


class NoticeKind(models.TextChoices):
    AT_RISK = "at_risk", "ADR at risk"
    RECOVERED = "recovered", "ADR recovered"
    OVERDUE = "overdue", "ADR overdue for review"
    COULD_NOT_MEASURE = "could_not_measure", "Check could not measure"
    RECOMMENDATION_CHANGED = "recommendation_changed", "Recommendation changed"


class Notice(models.Model):
    """One entry in a person's inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="+")
    decision = models.ForeignKey(
        "decisions.Decision", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=NoticeKind.choices)
    text = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


def _new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(models.Model):
    """A team's outgoing webhook: events posted as JSON, signed with the secret."""

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField("URL", max_length=2000)
    secret = models.CharField(max_length=64, default=_new_secret)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being retried) to one webhook: the delivery log."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30)
    payload = models.JSONField()
    status = models.CharField(max_length=12, default="queued")  # queued, delivered, failed
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook} ({self.status})"
