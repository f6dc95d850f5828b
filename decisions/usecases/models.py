from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from patterns.engine import CHOICES, FIELD_HELP, Hop, UseCaseInput

__all__ = ["ChainHop", "RecommendationSnapshot", "UseCase"]

DEFAULTS = UseCaseInput()


def _choices(field: str) -> list[tuple[str, str]]:
    return [(value, value.replace("-", " ").capitalize()) for value in CHOICES[field]]


class UseCase(models.Model):
    """One operation whose communication the team decides, with its stated requirements.

    The requirement fields mirror `patterns.engine.UseCaseInput` one to one, so
    `to_input()` is a plain copy and the engine never sees a model.
    """

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="use_cases")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text="What the operation does, for whom.")

    caller = models.CharField(
        max_length=20,
        choices=_choices("caller"),
        default=DEFAULTS.caller,
        help_text=FIELD_HELP["caller"],
    )
    caller_waits = models.BooleanField(
        default=DEFAULTS.caller_waits, help_text=FIELD_HELP["caller_waits"]
    )
    latency_p95_ms = models.FloatField(
        default=DEFAULTS.latency_p95_ms, help_text=FIELD_HELP["latency_p95_ms"]
    )
    latency_p99_ms = models.FloatField(
        default=DEFAULTS.latency_p99_ms, help_text=FIELD_HELP["latency_p99_ms"]
    )
    consistency = models.CharField(
        max_length=20,
        choices=_choices("consistency"),
        default=DEFAULTS.consistency,
        help_text=FIELD_HELP["consistency"],
    )
    staleness_s = models.FloatField(
        default=DEFAULTS.staleness_s, help_text=FIELD_HELP["staleness_s"]
    )
    availability = models.FloatField(
        default=DEFAULTS.availability, help_text=FIELD_HELP["availability"]
    )
    when_dependency_down = models.CharField(
        max_length=20,
        choices=_choices("when_dependency_down"),
        default=DEFAULTS.when_dependency_down,
        help_text=FIELD_HELP["when_dependency_down"],
    )
    message_loss_ok = models.BooleanField(
        default=DEFAULTS.message_loss_ok, help_text=FIELD_HELP["message_loss_ok"]
    )
    peak_rps = models.FloatField(default=DEFAULTS.peak_rps, help_text=FIELD_HELP["peak_rps"])
    avg_rps = models.FloatField(default=DEFAULTS.avg_rps, help_text=FIELD_HELP["avg_rps"])
    consumers = models.PositiveIntegerField(
        default=DEFAULTS.consumers, help_text=FIELD_HELP["consumers"]
    )
    distributed_transaction = models.BooleanField(
        default=DEFAULTS.distributed_transaction, help_text=FIELD_HELP["distributed_transaction"]
    )
    ordering = models.CharField(
        max_length=20,
        choices=_choices("ordering"),
        default=DEFAULTS.ordering,
        help_text=FIELD_HELP["ordering"],
    )
    delivery = models.CharField(
        max_length=20,
        choices=_choices("delivery"),
        default=DEFAULTS.delivery,
        help_text=FIELD_HELP["delivery"],
    )
    streaming = models.CharField(
        max_length=20,
        choices=_choices("streaming"),
        default=DEFAULTS.streaming,
        help_text=FIELD_HELP["streaming"],
    )

    latest_snapshot = models.ForeignKey(
        "decisions.RecommendationSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    edit_version = models.PositiveIntegerField(
        default=0, help_text="Counts saved edits; an edit made on an older version is refused."
    )
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when archived: hidden from the list, kept for the ADRs that cite it.",
    )

    REQUIREMENT_FIELDS = (
        "caller",
        "caller_waits",
        "latency_p95_ms",
        "latency_p99_ms",
        "consistency",
        "staleness_s",
        "availability",
        "when_dependency_down",
        "message_loss_ok",
        "peak_rps",
        "avg_rps",
        "consumers",
        "distributed_transaction",
        "ordering",
        "delivery",
        "streaming",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("usecase-detail", args=[self.team.slug, self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def to_input(self, hops: list[ChainHop] | None = None) -> UseCaseInput:
        hops = list(self.hops.all()) if hops is None else hops
        return UseCaseInput(
            name=self.name,
            chain=tuple(hop.to_hop() for hop in hops),
            **{field: getattr(self, field) for field in self.REQUIREMENT_FIELDS},
        )


class ChainHop(models.Model):
    """One service the use case calls, in order."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="hops")
    position = models.PositiveIntegerField()
    service = models.CharField(max_length=80)
    p50_ms = models.FloatField()
    p99_ms = models.FloatField()
    critical = models.BooleanField(
        default=True, help_text="Must finish before the caller gets an answer."
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "position"], name="one_hop_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.service}"

    def to_hop(self) -> Hop:
        return Hop(
            service=self.service, p50_ms=self.p50_ms, p99_ms=self.p99_ms, critical=self.critical
        )


class RecommendationSnapshot(models.Model):
    """What the engine answered for a use case at one moment: inputs, output, rule pack."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="snapshots")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    inputs = models.JSONField()
    evidence = models.JSONField(default=dict, blank=True)
    output = models.JSONField()
    rule_pack_version = models.CharField(max_length=40)
    top_pattern = models.CharField(max_length=40)
    within_budget = models.BooleanField(null=True)

    class Meta:
        ordering = ["-created", "-pk"]
        get_latest_by = "created"

    def __str__(self) -> str:
        return f"{self.use_case} @ {self.created:%Y-%m-%d %H:%M}: {self.top_pattern}"
