"""Stages one and two of ``recommend()`` without the texts: which option comes first.

Kept apart from the texts so that relaxations and the sensitivity search can rank
changed inputs cheaply (see recommend.py for the steps). Given the ranking of a nearby
input (``base``), a rule is evaluated again only when a value it reads has changed;
the others keep their verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from patterns.engine.context import Situation, situation_for
from patterns.engine.inputs import UseCaseInput
from patterns.engine.latency import HopEvidence
from patterns.engine.meta import PATTERN_ORDER
from patterns.engine.requirements import Assessment, assess
from patterns.engine.rules import Rule, RulePack


def evaluate(rule: Rule, values: Mapping[str, Any], pack: RulePack) -> bool:
    try:
        return bool(rule.test(values))
    except (TypeError, ZeroDivisionError) as exc:
        raise ValueError(
            f"rule {rule.id!r} in pack {pack.name} {pack.version} failed: {exc}"
        ) from None


@dataclass(frozen=True)
class Ranking:
    """Stages one and two without the texts: enough to know which option comes first."""

    situation: Situation
    fired: tuple[Rule, ...]
    verdicts: Mapping[str, bool]  # early rule id -> fired
    scores: Mapping[str, float]
    assessments: Mapping[str, Assessment]
    order: tuple[str, ...]

    @property
    def top(self) -> str:
        return self.order[0]

    @property
    def meets_all(self) -> bool:
        return self.assessments[self.order[0]].meets_all


def _cost(pattern: str, pack: RulePack) -> float:
    found = pack.complexity.get(pattern)
    return found.cost if found else 0.0


def _simplest_clear_winner(feasible: list[str], scores: Mapping[str, float], pack: RulePack) -> str:
    """The first option: the best-scored one, unless a simpler one is not clearly beaten.

    Going from the simplest option up, an option wins when no more complex option
    outscores it by at least ``simplicity_margin``. ``feasible`` is sorted by score.
    """
    costs = {p: _cost(p, pack) for p in feasible}
    order = {p: i for i, p in enumerate(feasible)}
    for candidate in sorted(feasible, key=lambda p: (costs[p], order[p])):
        rivals = [p for p in feasible if costs[p] > costs[candidate]]
        if all(scores[p] - scores[candidate] < pack.simplicity_margin - 1e-9 for p in rivals):
            return candidate
    return feasible[0]


def rank(
    inp: UseCaseInput,
    evidence: Mapping[str, HopEvidence] | None,
    pack: RulePack,
    base: Ranking | None = None,
) -> Ranking:
    """Judge and order the options; see recommend.py, steps 1 to 4.

    ``base`` must have been ranked with the same evidence and pack.
    """
    situation = situation_for(inp, evidence)
    values = situation.values
    if base is None:
        changed = None
    else:
        before = base.situation.values
        changed = {name for name, value in values.items() if before.get(name) != value}
    verdicts: dict[str, bool] = {}
    for rule in pack.early_rules:
        if changed is not None and base is not None and changed.isdisjoint(rule.reads):
            verdicts[rule.id] = base.verdicts[rule.id]
        else:
            verdicts[rule.id] = evaluate(rule, values, pack)
    fired = tuple(rule for rule in pack.early_rules if verdicts[rule.id])
    scores = {pattern: pack.base_scores.get(pattern, 0.0) for pattern in PATTERN_ORDER}
    for rule in fired:
        for pattern, delta in rule.effects.items():
            scores[pattern] += delta
    for pattern, complexity in pack.complexity.items():
        scores[pattern] -= complexity.cost
    assessments = assess(
        inp, situation.estimate.hops, values, pack.active_requirements, situation.broker
    )

    position = {pattern: i for i, pattern in enumerate(PATTERN_ORDER)}
    feasible = sorted(
        (p for p in PATTERN_ORDER if assessments[p].meets_all),
        key=lambda p: (-round(scores[p], 9), position[p]),
    )
    if feasible:
        feasible.insert(
            0, feasible.pop(feasible.index(_simplest_clear_winner(feasible, scores, pack)))
        )
    ruled_out = sorted(
        (p for p in PATTERN_ORDER if not assessments[p].meets_all),
        key=lambda p: (
            len(assessments[p].misses),
            round(assessments[p].margin, 9),
            -round(scores[p], 9),
            position[p],
        ),
    )
    return Ranking(
        situation=situation,
        fired=fired,
        verdicts=verdicts,
        scores=scores,
        assessments=assessments,
        order=tuple(feasible + ruled_out),
    )
