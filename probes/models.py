"""Endpoints a team probes, and the probe runs (with their shards) measuring them.

A run is split into one or more shards; each shard is one Celery task on
whichever worker takes it. Every shard writes its own progress and outcome;
the run row holds the live totals for the progress page and, once the last
shard has finished, the exact merge of the shard outcomes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.urls import reverse

from decisions.jobs import ACTIVE, FINISHED, Job, JobStatus
from probes.egress import SCHEME_KINDS

__all__ = [
    "ACTIVE",
    "BROKER_KINDS",
    "CALL_KINDS",
    "FINISHED",
    "Endpoint",
    "JobStatus",
    "Kind",
    "LoadModel",
    "ProbeRun",
    "ProbeShard",
]


class LoadModel(models.TextChoices):
    OPEN = "open", "Open: a fixed arrival rate (checks a latency budget)"
    CLOSED = "closed", "Closed: N connections as fast as they go (finds capacity)"


class Method(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"
    PATCH = "PATCH", "PATCH"
    DELETE = "DELETE", "DELETE"
    HEAD = "HEAD", "HEAD"


class Kind(models.TextChoices):
    HTTP = "http", "HTTP"
    GRPC = "grpc", "gRPC"
    AMQP = "amqp", "RabbitMQ (AMQP)"
    REDIS = "redis", "Redis Streams"
    NATS = "nats", "NATS"
    MQTT = "mqtt", "MQTT"


BROKER_KINDS = (Kind.AMQP, Kind.REDIS, Kind.NATS, Kind.MQTT)
CALL_KINDS = (Kind.HTTP, Kind.GRPC)


def kind_of(url: str) -> str:
    """The endpoint kind a URL's scheme names (http when the scheme is unknown)."""
    return SCHEME_KINDS.get(urlsplit(url).scheme.lower(), Kind.HTTP)


class Endpoint(models.Model):
    """One call or broker a team's use cases depend on, probed through the egress guard.

    A broker URL is stored without its login: the login is sealed apart in
    ``credentials_sealed`` (``probes.credentials``), never shown or exported.
    Broker and gRPC endpoints run only once a facilitator has confirmed that
    the team operates them (``confirmed_by``/``confirmed_at``).
    """

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="endpoints")
    name = models.CharField(max_length=120)
    service = models.CharField(
        max_length=80,
        blank=True,
        help_text=(
            "The service name used in use-case chains. A hop with this name uses the "
            "latest valid probe of this endpoint instead of the stated latency."
        ),
    )
    url = models.CharField(
        "URL",
        max_length=2000,
        help_text=(
            "http(s), grpc(s), amqp(s), redis(s), nats (tls), mqtt(s). Checked by the egress "
            "guard when saved and before every run."
        ),
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HTTP, editable=False)
    credentials_sealed = models.TextField(blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.GET)
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra request headers, name to value."
    )
    body = models.TextField(blank=True, help_text="Request body, sent as is (UTF-8).")
    expected_status = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=200,
        help_text="Any other status counts as an error. Empty: any status below 400 is fine.",
    )
    timeout_s = models.FloatField(
        "timeout (s)", default=2.0, help_text="Per request; a slower answer counts as a timeout."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when archived: hidden from the list, its probes kept as evidence.",
    )
    # Not a column: probes.selectors.endpoint_list attaches each endpoint's latest run.
    latest_run: ProbeRun | None

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_endpoint_name_per_team")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.kind = kind_of(self.url)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("probes:endpoint-detail", args=[self.team.slug, self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_broker(self) -> bool:
        return self.kind in BROKER_KINDS

    @property
    def needs_confirmation(self) -> bool:
        return self.kind != Kind.HTTP and self.confirmed_at is None


class ProbeRun(Job):
    """One probe of one endpoint: what was asked, how it is going, what it measured.

    Its shards are the claimed jobs; the run's status, progress and heartbeat
    follow them (``worker`` names the worker that started the first shard).
    """

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="probe_runs")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="runs")
    use_case = models.ForeignKey(
        "decisions.UseCase",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="probe_runs",
        help_text="Optional: the results page gives a verdict against its latency budget.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    # What was asked.
    model = models.CharField(max_length=10, choices=LoadModel.choices, default=LoadModel.OPEN)
    rate = models.FloatField(null=True, blank=True, help_text="Requests per second (open model).")
    concurrency = models.PositiveIntegerField(default=8)
    duration_s = models.FloatField(default=10)
    warmup_s = models.FloatField(default=1)
    shards = models.PositiveIntegerField(default=1)
    url = models.CharField(max_length=2000, help_text="The endpoint URL when the run started.")

    # How it is going (live totals over the shards, written by the workers;
    # progress is the percent of the planned time elapsed).
    cancel_requested = models.BooleanField(default=False)
    sent = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)

    # What it measured: the exact merge of the shard outcomes.
    outcome = models.JSONField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True)
    valid = models.BooleanField(null=True)
    invalid_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["team", "status"]),
            models.Index(fields=["status"]),
            # The team's run list, newest first (ordering above), and an endpoint's runs and
            # its latest run: read in index order, so a page costs the same however many
            # runs there are. The id breaks ties as the ordering does.
            models.Index(fields=["team", "created", "id"], name="probe_run_team_created"),
            models.Index(fields=["endpoint", "created", "id"], name="probe_run_endpoint_created"),
        ]

    def __str__(self) -> str:
        return f"Probe {self.pk} of {self.endpoint} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("probes:run-detail", args=[self.team.slug, self.pk])

    @property
    def load_label(self) -> str:
        if self.model == LoadModel.OPEN:
            return f"{self.rate:g} requests/s for {self.duration_s:g} s"
        return f"{self.concurrency} connections for {self.duration_s:g} s"


class ProbeShard(Job):
    """One Celery task's slice of a run: rate / shards, on whichever worker claims it.

    A shard whose worker died is never claimed again: the target must not get
    more load than was asked, so the reaper ends it interrupted with what it
    measured until then.
    """

    reclaimable = False

    run = models.ForeignKey(ProbeRun, on_delete=models.CASCADE, related_name="shard_rows")
    index = models.PositiveIntegerField()
    sent = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)
    outcome = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_shard_per_index")]

    def __str__(self) -> str:
        return f"Shard {self.index} of probe {self.run_id} ({self.status})"
