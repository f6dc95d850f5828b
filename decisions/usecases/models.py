from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from patterns.engine import (
    CHOICES,
    FIELD_HELP,
    HOP_ROLES,
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_SERVICE_CHARS,
    Hop,
    UseCaseInput,
)

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
    name = models.CharField(max_length=MAX_NAME_CHARS)
    description = models.TextField(
        blank=True, max_length=MAX_DESCRIPTION_CHARS, help_text="What the operation does, for whom."
    )
    operation = models.CharField(
        max_length=20,
        choices=_choices("operation"),
        default=DEFAULTS.operation,
        help_text=FIELD_HELP["operation"],
    )
    long_running = models.BooleanField(
        default=DEFAULTS.long_running, help_text=FIELD_HELP["long_running"]
    )

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

    broker_service = models.CharField(
        max_length=80,
        blank=True,
        help_text=(
            "The broker the asynchronous half runs over, by the service name its endpoint "
            "has (a RabbitMQ, Redis, NATS or MQTT endpoint of your team); its probes measure "
            "delivery latency and losses."
        ),
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
        "operation",
        "long_running",
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
        # A page of the list in name order reads the index instead of sorting every row.
        indexes = [models.Index(fields=["team", "name"], name="usecase_team_name")]

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
            broker_service=self.broker_service,
            **{field: getattr(self, field) for field in self.REQUIREMENT_FIELDS},
        )


class ChainHop(models.Model):
    """One service the use case calls, in order."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="hops")
    position = models.PositiveIntegerField()
    service = models.CharField(max_length=MAX_SERVICE_CHARS)
    p50_ms = models.FloatField()
    p99_ms = models.FloatField()
    role = models.CharField(
        max_length=20,
        choices=[(role, role.replace("-", " ").capitalize()) for role in HOP_ROLES],
        default="needed",
        help_text=FIELD_HELP["role"],
    )
    # Kept equal to role != "side-effect" (see save); older code and data read it.
    critical = models.BooleanField(
        default=True, help_text="Must finish before the caller gets an answer."
    )
    availability = models.FloatField(
        null=True, blank=True, help_text=FIELD_HELP["hop_availability"]
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "position"], name="one_hop_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.service}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.critical = self.role != "side-effect"
        super().save(*args, **kwargs)

    def to_hop(self) -> Hop:
        return Hop(
            service=self.service,
            p50_ms=self.p50_ms,
            p99_ms=self.p99_ms,
            role=self.role,
            availability=self.availability,
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
