from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

__all__ = ["Decision", "DecisionChange", "DecisionStatus", "ExportJob", "ExportJobStatus"]


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
    edit_version = models.PositiveIntegerField(
        default=0, help_text="Counts saved edits; an edit made on an older version is refused."
    )

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

    @property
    def slug(self) -> str:
        """The file-name part after the number: ``0007-use-a-saga-for-orders.md``."""
        return slugify(self.title)[:60].strip("-") or "decision"

    @property
    def filename(self) -> str:
        return f"{self.number:04d}-{self.slug}.md"

    @property
    def is_editable(self) -> bool:
        """Only a proposal changes in place; a settled record is superseded instead."""
        return self.status == DecisionStatus.PROPOSED

    def people(self, field: str) -> list[str]:
        """decision_makers / consulted / informed as a list (stored one per line)."""
        return [line.strip() for line in getattr(self, field).splitlines() if line.strip()]


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


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A whole-log PDF built by a Celery worker; the row holds its state and progress."""

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=20, default="log-pdf")
    status = models.CharField(
        max_length=20, choices=ExportJobStatus.choices, default=ExportJobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    total = models.PositiveIntegerField(default=0, help_text="Records to render.")
    done = models.PositiveIntegerField(default=0, help_text="Records rendered so far.")
    error = models.TextField(blank=True)
    file = models.CharField(max_length=300, blank=True, help_text="Path under MEDIA_ROOT.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.team} ({self.status}, {self.progress}%)"

    @property
    def is_finished(self) -> bool:
        return self.status in {ExportJobStatus.DONE, ExportJobStatus.FAILED}
