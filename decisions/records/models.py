from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

from decisions.jobs import Job

__all__ = [
    "Assumption",
    "AssumptionCheck",
    "AssumptionMetric",
    "AssumptionSource",
    "CheckStatus",
    "Decision",
    "DecisionAttachment",
    "DecisionChange",
    "DecisionLink",
    "DecisionLinkKind",
    "DecisionStatus",
    "ExportJob",
    "ExportPart",
    "LINK_INVERSE_LABELS",
]


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

    # Living decision: when to look again, and what the last checks found.
    review_by = models.DateField(
        null=True, blank=True, help_text="Look at the record again by this date."
    )
    check_schedule = models.CharField(
        max_length=10,
        blank=True,
        choices=[("nightly", "Nightly"), ("weekly", "Weekly"), ("never", "Never")],
        help_text="Empty: the team's schedule.",
    )
    next_check_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    at_risk_reason = models.TextField(blank=True)
    at_risk_since = models.DateTimeField(null=True, blank=True)
    recommendation_now = models.CharField(
        max_length=40, blank=True, help_text="The engine's top pattern now, when it differs."
    )
    recommendation_note = models.TextField(blank=True)
    overdue_told_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["team", "number"]
        constraints = [
            models.UniqueConstraint(fields=["team", "number"], name="adr_number_unique_per_team")
        ]
        # The log's filter by pattern and its last change, read without a scan of the rows.
        indexes = [
            models.Index(fields=["team", "chosen_pattern"], name="adr_team_pattern"),
            models.Index(fields=["team", "updated"], name="adr_team_updated"),
            models.Index(fields=["team", "status", "number"], name="adr_team_status_number"),
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


class DecisionLinkKind(models.TextChoices):
    """Links between records beyond supersede; each reads one way from either end."""

    AMENDS = "amends", "Amends"
    RELATES_TO = "relates-to", "Relates to"
    DEPENDS_ON = "depends-on", "Depends on"


# How a link reads from its target: ADR-0007 amends ADR-0005, so ADR-0005 is amended by 7.
LINK_INVERSE_LABELS = {
    DecisionLinkKind.AMENDS: "Amended by",
    DecisionLinkKind.RELATES_TO: "Relates to",
    DecisionLinkKind.DEPENDS_ON: "Needed by",
}


class DecisionLink(models.Model):
    """A typed link from one record to another of the same team."""

    source = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=20, choices=DecisionLinkKind.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "kind", "target"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="decision_link_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="decision_link_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.label} {self.get_kind_display().lower()} {self.target.label}"

    @property
    def inverse_label(self) -> str:
        return LINK_INVERSE_LABELS[DecisionLinkKind(self.kind)]


def attachment_path(instance: DecisionAttachment, filename: str) -> str:
    """Under MEDIA_ROOT, one folder per record; the name is the storage's, never the user's
    path (that is kept in ``name``)."""
    suffix = PurePosixPath(instance.name).suffix.lower()
    return (
        f"adr-files/{instance.decision.team_id}/{instance.decision_id}/{uuid.uuid4().hex}{suffix}"
    )


class DecisionAttachment(models.Model):
    """A file a record shows (an image), stored with it and exported beside it.

    ``name`` is the path the record's Markdown uses, relative to the record's own folder
    (``images/flow.png``); the bytes live in Django's storage under MEDIA_ROOT.
    """

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decision", "name"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "name"], name="attachment_name_per_record")
        ]

    def __str__(self) -> str:
        return f"{self.decision.label}: {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("adr-file", args=[self.decision.team.slug, self.decision.number, self.name])


class ExportJob(Job):
    """A whole-log export built by a Celery worker; the row holds its state and progress."""

    team = models.ForeignKey("decisions.Team", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=20, default="log-pdf")
    total = models.PositiveIntegerField(default=0, help_text="Records to render.")
    done = models.PositiveIntegerField(default=0, help_text="Records rendered so far.")
    file = models.CharField(max_length=300, blank=True, help_text="Path under MEDIA_ROOT.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.team} ({self.status}, {self.progress:.0f}%)"


class ExportPart(Job):
    """One Celery task's share of a big export: a run of records in number order, built
    into a file of its own; the last part to finish merges them all in order
    (``decisions.records.exports.parts``, ADR-0013).

    While its parts run, the job's ``worker`` stays empty; the part that merges claims the
    job by writing its own name there, so exactly one merge runs.
    """

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    first_number = models.PositiveIntegerField(help_text="Its first record's number.")
    last_number = models.PositiveIntegerField(help_text="Its last record's number.")
    total = models.PositiveIntegerField(default=0, help_text="Records to build.")
    done = models.PositiveIntegerField(default=0, help_text="Records built so far.")
    pages = models.PositiveIntegerField(default=0, help_text="The PDF part's page count.")
    records = models.JSONField(
        default=list,
        blank=True,
        help_text="What the file holds, in order: [number, first page] (PDF), "
        "[number, 1 if it has a diagram] (zip).",
    )
    file = models.CharField(max_length=300, blank=True, help_text="Its file in the storage.")

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="one_export_part_per_index")
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"Part {self.index + 1} of export {self.job_id} ({self.status})"

    @property
    def label(self) -> str:
        """How an error names the part: its place and its records."""
        return f"Part {self.index + 1} (ADR-{self.first_number:04d} to ADR-{self.last_number:04d})"


class AssumptionMetric(models.TextChoices):
    HOP_P50 = "hop_p50_ms", "p50 latency"
    HOP_P99 = "hop_p99_ms", "p99 latency"
    CHAIN_P95 = "chain_p95_ms", "chain p95 latency"
    CHAIN_P99 = "chain_p99_ms", "chain p99 latency"
    AVAILABILITY = "availability_pct", "availability"
    PEAK_RATE = "peak_rps", "peak rate"
    STALENESS = "staleness_s", "staleness"


class AssumptionSource(models.TextChoices):
    STATED = "stated", "Stated"
    MEASURED = "measured", "Measured"


class CheckStatus(models.TextChoices):
    OK = "ok", "Holds"
    FAILED = "failed", "Fails"
    INVALID = "invalid", "Could not measure"
    NOT_MEASURABLE = "not_measurable", "Not measurable yet"
    STATED = "stated", "Stated, not measured"
    PENDING = "pending", "Measuring"


class Assumption(models.Model):
    """One thing an accepted ADR relies on, re-measured by scheduled checks.

    ``target`` is a service name (a hop of the chain) or "chain". The load profile
    (``rate``, ``duration_s``) is what a check probes the endpoint with.
    """

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="assumptions")
    position = models.PositiveIntegerField(default=0)
    metric = models.CharField(max_length=20, choices=AssumptionMetric.choices)
    target = models.CharField(max_length=80, help_text="A service of the chain, or “chain”.")
    comparator = models.CharField(max_length=2, choices=[("<=", "≤"), (">=", "≥")], default="<=")
    threshold = models.FloatField()
    rate = models.FloatField(default=10, help_text="Requests per second the check probes at.")
    duration_s = models.FloatField(default=10, help_text="How long the check probes.")
    tolerance_pct = models.FloatField(
        default=10, help_text="How far past the threshold a measurement may be and still hold."
    )
    source = models.CharField(
        max_length=10, choices=AssumptionSource.choices, default=AssumptionSource.STATED
    )
    status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.STATED
    )
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["decision", "position", "pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def unit(self) -> str:
        return {"availability_pct": "%", "peak_rps": "/s", "staleness_s": "s"}.get(
            self.metric, "ms"
        )

    @property
    def label(self) -> str:
        comparator = "≤" if self.comparator == "<=" else "≥"
        metric = self.get_metric_display().removeprefix(f"{self.target} ")
        return f"{self.target} {metric} {comparator} {self.threshold:g} {self.unit}"

    @property
    def last_check(self) -> AssumptionCheck | None:
        checks = getattr(self, "recent_checks", None)
        if checks is not None:
            return checks[0] if checks else None
        return self.checks.exclude(status=CheckStatus.PENDING).first()


class AssumptionCheck(models.Model):
    """One measurement of an assumption: the value, whether it held, and why not."""

    assumption = models.ForeignKey(Assumption, on_delete=models.CASCADE, related_name="checks")
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    value = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    measured_at = models.DateTimeField()
    probe_run_id = models.PositiveIntegerField(null=True, blank=True)
    probe_link = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-measured_at", "-pk"]
        indexes = [models.Index(fields=["assumption", "status"])]

    def __str__(self) -> str:
        return f"{self.assumption}: {self.status} at {self.measured_at:%Y-%m-%d %H:%M}"

    @property
    def value_label(self) -> str:
        """The value in the threshold's unit ("910 ms"); staleness, kept in seconds like its
        budget, also shows the delivery p99 in milliseconds it was measured as."""
        if self.value is None:
            return ""
        if self.assumption.metric == AssumptionMetric.STALENESS:
            return f"{_short(self.value)} s (delivery p99 {_short(self.value * 1000)} ms)"
        return f"{_short(self.value)} {self.assumption.unit}"


def _short(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
