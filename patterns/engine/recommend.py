"""``recommend()``: rank the patterns for one use case and say why.

1. Derive the context: inputs plus figures such as the chain estimate (see context.py).
2. Evaluate every active rule that does not read ``top``/``top_family``; each one that
   fires adds its effects to the patterns' scores (starting from the pack's base scores).
3. Rank by score, ties broken by ``PATTERN_ORDER``, so the output is deterministic.
4. Evaluate the late rules (those reading ``top``/``top_family``); they only add
   supporting decisions and risks.
5. Build the options (reasons, tailored strengths/weaknesses, hybrid steps), the
   supporting decisions (builders in supporting.py) and the risks (deduplicated by id,
   most severe first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from patterns.engine.context import situation_for
from patterns.engine.inputs import UseCaseInput
from patterns.engine.latency import ChainEstimate, HopEvidence
from patterns.engine.meta import (
    BASE_STRENGTHS,
    BASE_WEAKNESSES,
    PATTERN_FAMILY,
    PATTERN_NAMES,
    PATTERN_ORDER,
    SEVERITIES,
    SUPPORTING_ORDER,
)
from patterns.engine.rules import Rule, RulePack, default_rule_pack, render
from patterns.engine.supporting import BUILDERS, Facts, Supporting


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    return value


@dataclass(frozen=True)
class Reason:
    """A rule that fired and what it did to one option's score."""

    rule: str
    explanation: str
    inputs: Mapping[str, Any]
    effect: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "explanation": self.explanation,
            "inputs": {key: _jsonable(value) for key, value in self.inputs.items()},
            "effect": round(self.effect, 3),
        }


@dataclass(frozen=True)
class Option:
    pattern: str
    family: str
    name: str
    score: float
    because: tuple[Reason, ...] = ()
    strengths: tuple[str, ...] = ()
    weaknesses: tuple[str, ...] = ()
    sync_steps: tuple[str, ...] = ()
    async_steps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pattern": self.pattern,
            "family": self.family,
            "name": self.name,
            "score": round(self.score, 3),
            "because": [reason.to_dict() for reason in self.because],
            "strengths": list(self.strengths),
            "weaknesses": list(self.weaknesses),
        }
        if self.family == "hybrid":
            data["sync_steps"] = list(self.sync_steps)
            data["async_steps"] = list(self.async_steps)
        return data


@dataclass(frozen=True)
class Risk:
    id: str
    severity: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "text": self.text}


@dataclass(frozen=True)
class Recommendation:
    rule_pack_name: str
    rule_pack_version: str
    options: tuple[Option, ...]
    supporting: tuple[Supporting, ...]
    risks: tuple[Risk, ...]
    chain_estimate: ChainEstimate
    fired_rules: tuple[str, ...] = ()
    derived: Mapping[str, Any] = field(default_factory=dict)

    @property
    def top(self) -> Option:
        return self.options[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_pack": {"name": self.rule_pack_name, "version": self.rule_pack_version},
            "options": [option.to_dict() for option in self.options],
            "supporting": [item.to_dict() for item in self.supporting],
            "risks": [risk.to_dict() for risk in self.risks],
            "chain_estimate": self.chain_estimate.to_dict(),
            "fired_rules": list(self.fired_rules),
            "derived": {key: _jsonable(value) for key, value in self.derived.items()},
        }


def _steps(pattern: str, inp: UseCaseInput) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which steps run before the answer (sync) and which after (async), for hybrids."""
    critical = tuple(hop.service for hop in inp.chain if hop.critical)
    deferred = tuple(hop.service for hop in inp.chain if not hop.critical)
    if pattern == "request-event":
        sync = ("validate request", *critical, "respond to caller")
        if deferred:
            after = ("publish event", *deferred)
        elif inp.consumers > 1:
            after = ("publish event", f"{inp.consumers} consumers react")
        else:
            after = ("publish event", "consumers react")
        return sync, after
    if pattern == "saga-orchestration":
        sync = ("validate request", "record saga state", "respond with saga id")
        after = tuple(hop.service for hop in inp.chain) or ("run steps", "compensate on failure")
        return sync, after
    return (), ()


def _evaluate(rule: Rule, values: Mapping[str, Any], pack: RulePack) -> bool:
    try:
        return bool(rule.test(values))
    except (TypeError, ZeroDivisionError) as exc:
        raise ValueError(
            f"rule {rule.id!r} in pack {pack.name} {pack.version} failed: {exc}"
        ) from None


def recommend(
    inp: UseCaseInput,
    evidence: Mapping[str, HopEvidence] | None = None,
    rule_pack: RulePack | None = None,
) -> Recommendation:
    """Rank the communication patterns for ``inp``; see the module docstring."""
    pack = rule_pack or default_rule_pack()
    situation = situation_for(inp, evidence)
    values: dict[str, Any] = dict(situation.values)

    early = [rule for rule in pack.active_rules if not rule.late]
    late = [rule for rule in pack.active_rules if rule.late]
    fired = [rule for rule in early if _evaluate(rule, values, pack)]

    scores = {pattern: pack.base_scores.get(pattern, 0.0) for pattern in PATTERN_ORDER}
    for rule in fired:
        for pattern, delta in rule.effects.items():
            scores[pattern] += delta
    rank = {pattern: i for i, pattern in enumerate(PATTERN_ORDER)}
    ranked = sorted(PATTERN_ORDER, key=lambda p: (-round(scores[p], 9), rank[p]))
    top = ranked[0]
    values["top"] = top
    values["top_family"] = PATTERN_FAMILY[top]
    fired += [rule for rule in late if _evaluate(rule, values, pack)]

    explanations = {rule.id: render(rule.explanation, values) for rule in fired}
    options = []
    for pattern in ranked:
        because: list[Reason] = []
        strengths: list[str] = []
        weaknesses: list[str] = []
        for rule in fired:
            delta = rule.effects.get(pattern, 0.0)
            if not delta:
                continue
            because.append(
                Reason(
                    rule=rule.id,
                    explanation=explanations[rule.id],
                    inputs={name: values[name] for name in rule.reads},
                    effect=delta,
                )
            )
            note = rule.notes.get(pattern)
            if note:
                (strengths if delta > 0 else weaknesses).append(render(note, values))
        sync_steps, async_steps = _steps(pattern, inp)
        options.append(
            Option(
                pattern=pattern,
                family=PATTERN_FAMILY[pattern],
                name=PATTERN_NAMES[pattern],
                score=scores[pattern],
                because=tuple(because),
                strengths=tuple(dict.fromkeys([*strengths, *BASE_STRENGTHS[pattern]])),
                weaknesses=tuple(dict.fromkeys([*weaknesses, *BASE_WEAKNESSES[pattern]])),
                sync_steps=sync_steps,
                async_steps=async_steps,
            )
        )

    wanted = {item for rule in fired for item in rule.supporting}
    facts = Facts(
        values=values, estimate=situation.estimate, top=top, top_family=PATTERN_FAMILY[top]
    )
    supporting = tuple(BUILDERS[item](facts) for item in SUPPORTING_ORDER if item in wanted)

    risks: dict[str, Risk] = {}
    for rule in fired:
        spec = rule.risk
        if spec is None:
            continue
        current = risks.get(spec.id)
        if current is None or SEVERITIES.index(spec.severity) < SEVERITIES.index(current.severity):
            risks[spec.id] = Risk(spec.id, spec.severity, render(spec.text, values))
    order = {risk_id: i for i, risk_id in enumerate(risks)}
    sorted_risks = sorted(risks.values(), key=lambda r: (SEVERITIES.index(r.severity), order[r.id]))

    derived = {
        name: values[name]
        for name in (
            "chain_length",
            "critical_hops",
            "deferred_hops",
            "chain_over_budget",
            "all_hops_p95_ms",
            "all_hops_p99_ms",
            "all_hops_over_budget",
            "budget_used",
            "peak_to_avg",
            "composite_availability",
            "measured_hops",
        )
    }
    return Recommendation(
        rule_pack_name=pack.name,
        rule_pack_version=pack.version,
        options=tuple(options),
        supporting=supporting,
        risks=tuple(sorted_risks),
        chain_estimate=situation.estimate,
        fired_rules=tuple(rule.id for rule in fired),
        derived=derived,
    )
