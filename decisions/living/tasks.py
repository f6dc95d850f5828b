"""Celery tasks for living decisions: thin, each calls a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from decisions.living.notify import delivery_attempt
from decisions.models import AssumptionCheck, CheckStatus, Decision, DecisionStatus, Team

log = logging.getLogger(__name__)

CHECKS_EVERY_S = 60.0
DAILY_EVERY_S = 24 * 3600.0


@shared_task(name="decisions.advance_checks")
def advance_checks(team_id: int) -> bool:
    """One step of a team's checks. The next step comes when a probe of the team ends
    (``checks_after_probe``) or at the next beat, so no step waits for a probe."""
    from decisions.living.services import checks_advance

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return False
    return checks_advance(team=team).pending


def enqueue_checks(team: Team) -> bool:
    """Move the team's checks on in a worker (after "Run now")."""
    from decisions.jobs import job_enqueue

    return job_enqueue(advance_checks, [(team.pk,)], on_unavailable=lambda reason: None)


def checks_after_probe(team_id: int) -> None:
    """Registered with ``decisions.evidence.on_probe_finished``: a check waiting for the
    team's probe slot, or for this probe's result, moves on now."""
    if AssumptionCheck.objects.filter(
        status=CheckStatus.PENDING, assumption__decision__team_id=team_id
    ).exists():
        advance_checks.delay(team_id)


@shared_task(name="decisions.run_due_checks")
def run_due_checks() -> list[int]:
    """Celery beat, every minute: every team with a check due or under way moves on."""
    now = timezone.now()
    due = Decision.objects.filter(status=DecisionStatus.ACCEPTED, next_check_at__lte=now).values(
        "team"
    )
    busy = AssumptionCheck.objects.filter(status=CheckStatus.PENDING).values(
        "assumption__decision__team"
    )
    teams = list(Team.objects.filter(Q(pk__in=due) | Q(pk__in=busy)).values_list("pk", flat=True))
    for team_id in teams:
        advance_checks.delay(team_id)
    return teams


@shared_task(name="decisions.daily_decision_review")
def daily_decision_review() -> dict[str, list[int]]:
    """Celery beat, daily: overdue records, and records a newer rule pack would decide anew."""
    from decisions.living.staleness import overdue_notify, rule_pack_recheck

    return {
        "overdue": overdue_notify(),
        "recommendation_changed": [d.pk for d, _ in rule_pack_recheck()],
    }


@shared_task(name="decisions.deliver_webhook")
def deliver_webhook(delivery_id: int, attempt: int = 0) -> bool:
    """Send one webhook delivery; on a transient failure again after 1, 2, 4, ... x the base."""
    delivered, retry = delivery_attempt(delivery_id=delivery_id)
    if retry:
        deliver_webhook.apply_async(
            (delivery_id, attempt + 1), countdown=settings.WEBHOOK_RETRY_BASE_S * 2**attempt
        )
    return delivered
