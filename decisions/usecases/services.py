from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from decisions.editing import EditConflict
from decisions.evidence import evidence_for_input
from decisions.models import ChainHop, Decision, RecommendationSnapshot, Team, UseCase
from decisions.teams.services import activity_record
from patterns.engine import Hop, UseCaseInput, recommend


def use_case_recommend(*, team: Team, use_case_input: UseCaseInput) -> dict[str, Any]:
    """The engine's answer as a dict, with measured evidence for the chain where probes
    have some, and what would change it (the panel shows both)."""
    evidence = evidence_for_input(team.pk, use_case_input)
    return recommend(use_case_input, evidence, sensitivity=True).to_dict()


@transaction.atomic
def use_case_save(
    *,
    use_case: UseCase,
    hops: list[Hop],
    by: User | None,
    expected_version: int | None = None,
) -> RecommendationSnapshot:
    """Save a use case with its chain and keep a snapshot of what the engine says now.

    ``expected_version``: the ``edit_version`` the editor started from; if someone saved
    since, ``EditConflict`` is raised and nothing changes."""
    if use_case.pk is not None:
        saved = UseCase.objects.select_for_update().only("edit_version").get(pk=use_case.pk)
        if expected_version is not None and expected_version != saved.edit_version:
            raise EditConflict(saved.edit_version)
        use_case.edit_version = saved.edit_version + 1
    use_case.save()
    use_case.hops.all().delete()
    ChainHop.objects.bulk_create(
        ChainHop(
            use_case=use_case,
            position=i,
            service=hop.service,
            p50_ms=hop.p50_ms,
            p99_ms=hop.p99_ms,
            critical=hop.critical,
            role=hop.role,
            availability=hop.availability,
        )
        for i, hop in enumerate(hops)
    )
    if use_case.created_by_id is None and by is not None:
        use_case.created_by = by
    return use_case_snapshot(use_case=use_case, by=by)


@transaction.atomic
def use_case_snapshot(*, use_case: UseCase, by: User | None) -> RecommendationSnapshot:
    """Evaluate the saved use case again (new evidence, new rule pack) and keep the answer."""
    use_case_input = use_case.to_input()
    evidence = evidence_for_input(use_case.team_id, use_case_input)
    answer = recommend(use_case_input, evidence, sensitivity=True)
    output = answer.to_dict()
    snapshot = RecommendationSnapshot.objects.create(
        use_case=use_case,
        created_by=by,
        inputs=input_to_dict(use_case_input),
        evidence={name: asdict(found) for name, found in evidence.items()},
        output=output,
        rule_pack_version=output["rule_pack"]["version"],
        top_pattern=output["options"][0]["pattern"],
        within_budget=output["chain_estimate"]["within_budget"],
    )
    use_case.latest_snapshot = snapshot
    use_case.save(update_fields=["latest_snapshot", "created_by", "updated"])
    return snapshot


def input_to_dict(use_case_input: UseCaseInput) -> dict[str, object]:
    data = asdict(use_case_input)
    data["chain"] = [asdict(hop) for hop in use_case_input.chain]
    return data


@transaction.atomic
def use_case_delete_or_archive(*, use_case: UseCase, by: User | None) -> str:
    """Delete the use case, or archive it when an ADR was drafted from it.

    An archived use case keeps its snapshots (the ADR's evidence) and leaves the list until
    restored. Returns what was done: "deleted" or "archived".
    """
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    cited_by = list(
        Decision.objects.filter(use_case=use_case)
        .order_by("number")
        .values_list("number", flat=True)
    )
    subject = f"use case “{use_case.name}”"
    if cited_by:
        if use_case.archived_at is None:
            use_case.archived_at = timezone.now()
            use_case.save(update_fields=["archived_at", "updated"])
            labels = ", ".join(f"ADR-{n:04d}" for n in cited_by)
            activity_record(
                team=use_case.team, by=by, action="archived", subject=subject,
                note=f"Kept for {labels}.",
            )  # fmt: skip
        return "archived"
    team = use_case.team
    use_case.delete()
    activity_record(team=team, by=by, action="deleted", subject=subject)
    return "deleted"


@transaction.atomic
def use_case_restore(*, use_case: UseCase, by: User | None) -> UseCase:
    """Bring an archived use case back into the list."""
    if use_case.archived_at is not None:
        use_case.archived_at = None
        use_case.save(update_fields=["archived_at", "updated"])
        activity_record(
            team=use_case.team, by=by, action="restored", subject=f"use case “{use_case.name}”"
        )
    return use_case
