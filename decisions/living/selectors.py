"""Reads for living decisions: each accepted ADR's health, assumption histories, the inbox."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.safestring import mark_safe

from decisions.living.derive import CHAIN
from decisions.living.plots import history_svg, sparkline_svg
from decisions.models import (
    Assumption,
    AssumptionCheck,
    CheckStatus,
    Decision,
    DecisionStatus,
    Notice,
    Team,
    Webhook,
    WebhookDelivery,
)

# Most serious first: the badge shows the first that applies.
HEALTH_ORDER = ("at_risk", "could_not_measure", "overdue", "recommendation_changed")
HEALTH_LABELS = {
    "at_risk": "At risk",
    "could_not_measure": "Could not measure",
    "overdue": "Overdue",
    "recommendation_changed": "Recommendation changed",
    "holding": "Holding",
}
HISTORY_POINTS = 30
BROKER_URLS = "a RabbitMQ, Redis Streams, NATS or MQTT URL"


def decision_health(decision: Decision, *, today: datetime.date | None = None) -> list[str]:
    """Every health problem of an accepted record, most serious first; [] when it holds."""
    if decision.status != DecisionStatus.ACCEPTED:
        return []
    today = today or timezone.localdate()
    found = set()
    if decision.at_risk_reason:
        found.add("at_risk")
    assumptions = getattr(decision, "living_assumptions", None)
    if assumptions is None:
        assumptions = list(decision.assumptions.all())
    if any(a.status == CheckStatus.INVALID for a in assumptions):
        found.add("could_not_measure")
    if decision.review_by and decision.review_by < today:
        found.add("overdue")
    if decision.recommendation_now:
        found.add("recommendation_changed")
    return [h for h in HEALTH_ORDER if h in found]


def health_badge(decision: Decision) -> dict[str, str] | None:
    """The most serious health of an accepted record, for the log and the ADR page."""
    if decision.status != DecisionStatus.ACCEPTED:
        return None
    healths = decision_health(decision)
    key = healths[0] if healths else "holding"
    return {"key": key, "label": HEALTH_LABELS[key]}


def _with_history(queryset: QuerySet[Decision]) -> QuerySet[Decision]:
    checks = AssumptionCheck.objects.exclude(status=CheckStatus.PENDING).order_by(
        "-measured_at", "-pk"
    )
    return queryset.prefetch_related(
        Prefetch(
            "assumptions",
            queryset=Assumption.objects.prefetch_related(
                Prefetch("checks", queryset=checks, to_attr="recent_checks")
            ),
            to_attr="living_assumptions",
        )
    )


@dataclass
class AssumptionRow:
    assumption: Assumption
    last: AssumptionCheck | None
    sparkline: str
    plot: str = ""
    pending: bool = False
    hint: str = ""


@dataclass
class HealthRow:
    decision: Decision
    healths: list[str]
    badge: str
    assumptions: list[AssumptionRow] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [HEALTH_LABELS[h] for h in self.healths] or [HEALTH_LABELS["holding"]]


def _measured(checks: list[AssumptionCheck]) -> list[AssumptionCheck]:
    return [c for c in checks if c.value is not None and c.status != CheckStatus.INVALID]


def assumption_hint(a: Assumption) -> str:
    """What makes an assumption that is not measurable yet measurable (staleness only)."""
    if a.status != CheckStatus.NOT_MEASURABLE:
        return ""
    if a.target == CHAIN:
        return (
            "No broker is named for this record, so nothing can be probed. Register the "
            f"broker its asynchronous half runs over as an endpoint ({BROKER_URLS}) under a "
            "service name and set this assumption's target to that name; name it as the use "
            "case's broker too, so the next record drafted from it is measured at once."
        )
    return (
        f"No broker endpoint is registered for “{a.target}”. Register one ({BROKER_URLS}) "
        f"with the service name “{a.target}” and have a facilitator confirm it; the next "
        "check measures its delivery latency against this budget."
    )


def assumption_rows(decision: Decision) -> list[AssumptionRow]:
    assumptions = getattr(decision, "living_assumptions", None)
    if assumptions is None:
        assumptions = list(
            # Prefetched with to_attr: an attribute, not a field.
            _with_history(Decision.objects.filter(pk=decision.pk))[0].living_assumptions  # type: ignore[attr-defined]
        )
    rows = []
    for a in assumptions:
        checks = list(a.recent_checks)
        measured = list(reversed(_measured(checks)[:HISTORY_POINTS]))
        rows.append(
            AssumptionRow(
                assumption=a,
                last=checks[0] if checks else None,
                sparkline=mark_safe(  # noqa: S308 - built from numbers, text escaped
                    sparkline_svg(
                        [c.value or 0.0 for c in measured],
                        [c.status == CheckStatus.FAILED for c in measured],
                        threshold=a.threshold,
                        title=f"{a.label}: last {len(measured)} measurements",
                    )
                ),
                hint=assumption_hint(a),
            )
        )
    return rows


def team_health(*, team: Team, health: str = "") -> list[HealthRow]:
    """Every accepted record of the team with its health; ``health`` filters by one."""
    rows = []
    decisions = _with_history(
        Decision.objects.filter(team=team, status=DecisionStatus.ACCEPTED).select_related(
            "team", "snapshot"
        )
    )
    for decision in decisions:
        healths = decision_health(decision)
        if health and (health not in healths and not (health == "holding" and not healths)):
            continue
        rows.append(
            HealthRow(
                decision=decision,
                healths=healths,
                badge=healths[0] if healths else "holding",
                assumptions=assumption_rows(decision),
            )
        )
    return rows


def decision_living(decision: Decision) -> dict[str, Any]:
    """What the ADR page shows of its living side: assumptions, plots, health."""
    decision = _with_history(Decision.objects.filter(pk=decision.pk).select_related("team"))[0]
    rows = assumption_rows(decision)
    for row in rows:
        a = row.assumption
        checks = list(getattr(a, "recent_checks", []))  # prefetched with to_attr
        measured = list(reversed(_measured(checks)[:HISTORY_POINTS]))
        row.plot = mark_safe(  # noqa: S308 - built from numbers, text escaped
            history_svg(
                [
                    (f"{c.measured_at:%m-%d %H:%M}", c.value or 0.0, c.status == CheckStatus.FAILED)
                    for c in measured
                ],
                threshold=a.threshold,
                unit=a.unit,
                title=f"History of {a.label}",
            )
        )
        row.pending = a.checks.filter(status=CheckStatus.PENDING).exists()
    healths = decision_health(decision)
    return {
        "assumptions": rows,
        "healths": healths,
        "health_labels": [HEALTH_LABELS[h] for h in healths] or [HEALTH_LABELS["holding"]],
        "badge": healths[0] if healths else "holding",
    }


def notices_for(*, user: Any) -> QuerySet[Notice]:
    return Notice.objects.filter(user=user).select_related("team", "decision__team")


def unread_count(*, user: Any) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def team_webhooks(*, team: Team) -> list[Webhook]:
    hooks = list(Webhook.objects.filter(team=team))
    for hook in hooks:
        hook.recent = list(WebhookDelivery.objects.filter(webhook=hook)[:20])  # type: ignore[attr-defined]
    return hooks
