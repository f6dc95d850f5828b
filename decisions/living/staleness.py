"""Records that go stale: past their review-by date, or decided under an older rule pack."""

from __future__ import annotations

import datetime

from django.utils import timezone

from decisions.living.notify import notify
from decisions.living.services import decision_reevaluate
from decisions.models import Decision, DecisionStatus, NoticeKind, Team
from patterns.engine import PATTERN_NAMES, RULE_PACK_VERSION


def overdue_notify(*, today: datetime.date | None = None) -> list[int]:
    """Tell each team once about every accepted record past its review-by date."""
    today = today or timezone.localdate()
    told = []
    overdue = Decision.objects.filter(
        status=DecisionStatus.ACCEPTED, review_by__lt=today, overdue_told_on__isnull=True
    ).select_related("team")
    for decision in overdue:
        notify(decision=decision, kind=NoticeKind.OVERDUE)
        Decision.objects.filter(pk=decision.pk).update(overdue_told_on=today)
        told.append(decision.pk)
    return told


def rule_pack_recheck(*, team: Team | None = None) -> list[tuple[Decision, str]]:
    """Accepted records whose snapshot came from another rule pack version: run the engine
    again; returns those whose recommendation would change, with the new top pattern."""
    decisions = Decision.objects.filter(
        status=DecisionStatus.ACCEPTED, snapshot__isnull=False
    ).exclude(snapshot__rule_pack_version=RULE_PACK_VERSION)
    if team is not None:
        decisions = decisions.filter(team=team)
    changed = []
    for decision in decisions.select_related("team", "snapshot"):
        assert decision.snapshot is not None  # the query keeps only records with one
        top = decision_reevaluate(decision=decision)["top"]
        chosen = decision.chosen_pattern or decision.snapshot.top_pattern
        new = top if top != chosen else ""
        note = (
            f"The recommendation would now be {PATTERN_NAMES.get(top, top)} under rule pack "
            f"{RULE_PACK_VERSION} (it was made under {decision.snapshot.rule_pack_version})."
            if new
            else ""
        )
        if new != decision.recommendation_now:
            Decision.objects.filter(pk=decision.pk).update(
                recommendation_now=new, recommendation_note=note
            )
            decision.recommendation_now, decision.recommendation_note = new, note
            if new:
                notify(decision=decision, kind=NoticeKind.RECOMMENDATION_CHANGED)
        if new:
            changed.append((decision, top))
    return changed
