from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

__all__ = ["Decision", "DecisionChange", "DecisionStatus"]


class DecisionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    DEPRECATED = "deprecated", "Deprecated"
    SUPERSEDED = "superseded", "Superseded"


class Decision(models.Model):
    """An architecture decision record, with the fields of MADR 4.

    Text fields hold Markdown; it is sanitised when rendered, never trusted.
    """

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="decisions")
    number = models.PositiveIntegerField(help_text="Numbered per team: ADR-0001, ADR-0002, ...")
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.PROPOSED
    )
    date = models.DateField()
    decision_makers = models.TextField(blank=True, help_text="Who decided, one per line.")
    consulted = models.TextField(blank=True, help_text="Whose opinion was sought, one per line.")
    informed = models.TextField(blank=True, help_text="Who is kept up to date, one per line.")
    context = models.TextField(blank=True, help_text="Context and problem statement.")
    drivers = models.TextField(blank=True, help_text="Decision drivers, as a Markdown list.")
    considered_options = models.JSONField(
        default=list,
        blank=True,
        help_text="[{name, pattern, summary, pros: [...], cons: [...]}], in order.",
    )
    chosen_option = models.CharField(max_length=200, blank=True)
    justification = models.TextField(blank=True)
    consequences = models.TextField(blank=True, help_text="Good and bad consequences.")
    confirmation = models.TextField(blank=True, help_text="How compliance will be confirmed.")
    more_information = models.TextField(blank=True)

    use_case = models.ForeignKey(
        "decisions.UseCase",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
    )
    snapshot = models.ForeignKey(
        "decisions.RecommendationSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    chosen_pattern = models.CharField(max_length=40, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "number"]
        constraints = [
            models.UniqueConstraint(fields=["team", "number"], name="adr_number_unique_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("adr-detail", args=[self.team.slug, self.number])

    @property
    def label(self) -> str:
        return f"ADR-{self.number:04d}"


class DecisionChange(models.Model):
    """One entry in an ADR's history: who changed what, when."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)  # created, edited, accepted, superseded, ...
    diff = models.JSONField(default=dict, blank=True)  # field -> [old, new]
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.decision.label} {self.action} at {self.at:%Y-%m-%d %H:%M}"
