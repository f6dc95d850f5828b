from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from decisions.evidence import evidence_for
from decisions.models import ChainHop, RecommendationSnapshot, Team, UseCase
from patterns.engine import Hop, UseCaseInput, recommend


def use_case_recommend(*, team: Team, use_case_input: UseCaseInput) -> dict[str, Any]:
    """The engine's answer as a dict, with measured evidence for the chain where probes
    have some."""
    evidence = evidence_for(team.pk, (hop.service for hop in use_case_input.chain))
    return recommend(use_case_input, evidence).to_dict()


@transaction.atomic
def use_case_save(
    *,
    use_case: UseCase,
    hops: list[Hop],
    by: AbstractBaseUser | None,
) -> RecommendationSnapshot:
    """Save a use case with its chain and keep a snapshot of what the engine says now."""
    use_case.save()
    use_case.hops.all().delete()
    ChainHop.objects.bulk_create(
        ChainHop(use_case=use_case, position=i, **asdict(hop)) for i, hop in enumerate(hops)
    )
    if use_case.created_by_id is None and by is not None:
        use_case.created_by = by
    return use_case_snapshot(use_case=use_case, by=by)


@transaction.atomic
def use_case_snapshot(*, use_case: UseCase, by: AbstractBaseUser | None) -> RecommendationSnapshot:
    """Evaluate the saved use case again (new evidence, new rule pack) and keep the answer."""
    use_case_input = use_case.to_input()
    evidence = evidence_for(use_case.team_id, (hop.service for hop in use_case_input.chain))
    answer = recommend(use_case_input, evidence)
    output = answer.to_dict()
    snapshot = RecommendationSnapshot.objects.create(
        use_case=use_case,
        created_by=by,
        inputs=_input_to_dict(use_case_input),
        evidence={name: asdict(found) for name, found in evidence.items()},
        output=output,
        rule_pack_version=output["rule_pack"]["version"],
        top_pattern=output["options"][0]["pattern"],
        within_budget=output["chain_estimate"]["within_budget"],
    )
    use_case.latest_snapshot = snapshot
    use_case.save(update_fields=["latest_snapshot", "created_by", "updated"])
    return snapshot


def _input_to_dict(use_case_input: UseCaseInput) -> dict[str, object]:
    data = asdict(use_case_input)
    data["chain"] = [asdict(hop) for hop in use_case_input.chain]
    return data
