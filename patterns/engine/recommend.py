"""``recommend()``: hard requirements first, then the simplest option that meets them.

1. Derive the context: inputs plus figures such as the chain estimate (see context.py).
2. Stage one, constraints (requirements.py): give every option a design (what runs
   before the answer, what after) and check it against the pack's hard requirements.
   An option that fails one is ruled out, with the requirement and the numbers.
3. Stage two, fit: evaluate every active rule that does not read ``top``/``top_family``;
   each one that fires moves the patterns' scores (from the pack's base scores), and
   each pattern pays its complexity cost. The options that meet every requirement are
   ranked by score; the simplest of those within ``simplicity_margin`` of the best goes
   first, so a broker, a saga or an orchestrator has to earn its place clearly. Ties
   are broken by ``PATTERN_ORDER``, so the output is deterministic.
4. Ruled-out options follow, fewest misses by the smallest margin first. When none meets
   every requirement, the first of them leads (``meets_all`` is false) and
   ``relaxations`` say which requirement to relax, to what, for which option.
5. Evaluate the late rules (those reading ``top``/``top_family``); they only add
   supporting decisions and risks.
6. Build the options (reasons, tailored strengths/weaknesses, hybrid steps), the
   supporting decisions (builders in supporting.py), the risks (deduplicated by id,
   most severe first) and, on request, the sensitivity of the answer (sensitivity.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from patterns.engine.context import Situation
from patterns.engine.inputs import UseCaseInput
from patterns.engine.latency import ChainEstimate, HopEvidence
from patterns.engine.meta import (
    BASE_STRENGTHS,
    BASE_WEAKNESSES,
    PATTERN_FAMILY,
    PATTERN_NAMES,
    SEVERITIES,
    SUPPORTING_ORDER,
    jsonable,
    ms_text,
)
from patterns.engine.ranking import Ranking, evaluate, rank
from patterns.engine.relaxations import Relaxation, relaxations_for
from patterns.engine.requirements import Assessment, Miss
from patterns.engine.rules import Rule, RulePack, default_rule_pack, render
from patterns.engine.sensitivity import Sensitivity, sensitivity_for
from patterns.engine.supporting import BUILDERS, Facts, Supporting


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
            "inputs": {key: jsonable(value) for key, value in self.inputs.items()},
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
    meets_all: bool = True
    misses: tuple[Miss, ...] = ()
    waits_for: tuple[str, ...] = ()
    waited_p95_ms: float = 0.0
    waited_p99_ms: float = 0.0
    availability: Mapping[str, Any] = field(default_factory=dict)
    # The broker's measured publish confirmation p99, when the waited part includes it.
    confirm_p99_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pattern": self.pattern,
            "family": self.family,
            "name": self.name,
            "score": round(self.score, 3),
            "because": [reason.to_dict() for reason in self.because],
            "strengths": list(self.strengths),
            "weaknesses": list(self.weaknesses),
            "meets_all": self.meets_all,
            "misses": [miss.requirement for miss in self.misses],
            "waits_for": list(self.waits_for),
            "waited_p95_ms": round(self.waited_p95_ms, 3),
            "waited_p99_ms": round(self.waited_p99_ms, 3),
            "availability": dict(self.availability),
        }
        if self.confirm_p99_ms is not None:
            data["confirm_p99_ms"] = round(self.confirm_p99_ms, 3)
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
    ruled_out: tuple[Miss, ...] = ()
    meets_all: bool = True
    relaxations: tuple[Relaxation, ...] = ()
    sensitivity: tuple[Sensitivity, ...] = ()
    # The asynchronous half's broker, stated and measured (None when none is named).
    broker: Mapping[str, Any] | None = None

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
            "derived": {key: jsonable(value) for key, value in self.derived.items()},
            "ruled_out": [miss.to_dict() for miss in self.ruled_out],
            "meets_all": self.meets_all,
            "relaxations": [item.to_dict() for item in self.relaxations],
            "sensitivity": [item.to_dict() for item in self.sensitivity],
            "availability": dict(self.top.availability),
            "broker": None if self.broker is None else dict(self.broker),
        }


def _steps(pattern: str, assessment: Assessment, inp: UseCaseInput) -> tuple[tuple[str, ...], ...]:
    """Which steps run before the answer (sync) and which after (async), for hybrids."""
    before = tuple(hop.service for hop in assessment.design.before)
    after = tuple(hop.service for hop in assessment.design.after)
    if pattern == "request-event":
        reactions: tuple[str, ...]
        if after:
            reactions = after
        elif inp.consumers > 1:
            reactions = (f"{inp.consumers} consumers react",)
        else:
            reactions = ("consumers react",)
        if assessment.design.confirm is not None:
            # The measured confirmation is part of the wait, so the publish is before the answer.
            published = f"publish event to {inp.broker_service}, wait for its confirmation"
            return ("validate request", *before, published, "respond to caller"), (
                "deliver event",
                *reactions,
            )
        return ("validate request", *before, "respond to caller"), ("publish event", *reactions)
    if pattern == "saga-orchestration":
        answer = "respond to caller" if before else "respond with saga id"
        sync = ("validate request", "record saga state", *before, answer)
        later = after or ("run steps", "compensate on failure")
        return sync, later
    return (), ()


def _option(
    pattern: str,
    ranking: Ranking,
    fired: list[Rule],
    explanations: Mapping[str, str],
    values: Mapping[str, Any],
    pack: RulePack,
    inp: UseCaseInput,
) -> Option:
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
    complexity = pack.complexity.get(pattern)
    if complexity is not None and complexity.cost:
        because.append(
            Reason(
                rule="complexity", explanation=complexity.why, inputs={}, effect=-complexity.cost
            )
        )
    assessment = ranking.assessments[pattern]
    weaknesses = [
        miss.detail[:1].upper() + miss.detail[1:] + "." for miss in assessment.misses
    ] + weaknesses
    sync_steps, async_steps = _steps(pattern, assessment, inp)
    return Option(
        pattern=pattern,
        family=PATTERN_FAMILY[pattern],
        name=PATTERN_NAMES[pattern],
        score=ranking.scores[pattern],
        because=tuple(because),
        strengths=tuple(dict.fromkeys([*strengths, *BASE_STRENGTHS[pattern]])),
        weaknesses=tuple(dict.fromkeys([*weaknesses, *BASE_WEAKNESSES[pattern]])),
        sync_steps=sync_steps,
        async_steps=async_steps,
        meets_all=assessment.meets_all,
        misses=assessment.misses,
        waits_for=tuple(hop.service for hop in assessment.design.before),
        waited_p95_ms=assessment.design.p95_ms,
        waited_p99_ms=assessment.design.p99_ms,
        availability=assessment.availability.to_dict(),
        confirm_p99_ms=assessment.design.confirm[1] if assessment.design.confirm else None,
    )


def _broker(inp: UseCaseInput, situation: Situation) -> dict[str, Any] | None:
    """The asynchronous half's broker: the staleness budget stated, and what a probe
    measured against it (delivery, publish confirmation, losses), in numbers and words."""
    if not inp.broker_service:
        return None
    broker = situation.broker
    data: dict[str, Any] = {
        "service": inp.broker_service,
        "measured": broker is not None,
        "staleness_budget_s": float(inp.staleness_s),
        "loss_ok": inp.message_loss_ok,
    }
    if broker is None:
        data["verdict"] = f"not measured yet; staleness budget {inp.staleness_s:g} s (stated)"
        return data
    within = not situation.values["broker_over_staleness"]
    messages = max(0, broker.samples)
    data.update(
        source=broker.source,
        delivery_p50_ms=round(float(broker.p50_ms), 3),
        delivery_p99_ms=round(float(broker.p99_ms), 3),
        rate_per_s=round(float(broker.rate_per_s), 1),
        messages=messages,
        lost=broker.lost,
        duplicates=broker.duplicates,
        reordered=broker.reordered,
        loss_pct=round(100.0 * broker.lost / messages, 4) if messages else 0.0,
        confirm_p50_ms=None if broker.confirm_p50_ms is None else round(broker.confirm_p50_ms, 3),
        confirm_p99_ms=None if broker.confirm_p99_ms is None else round(broker.confirm_p99_ms, 3),
        within_staleness=within,
        verdict=(
            f"events reach consumers in p99 {ms_text(broker.p99_ms)} at "
            f"{broker.rate_per_s:,.0f} msg/s; staleness budget {inp.staleness_s:g} s: "
            + ("within" if within else "over")
        ),
    )
    return data


def recommend(
    inp: UseCaseInput,
    evidence: Mapping[str, HopEvidence] | None = None,
    rule_pack: RulePack | None = None,
    *,
    sensitivity: bool = False,
) -> Recommendation:
    """Rank the communication patterns for ``inp``; see the module docstring.

    ``sensitivity=True`` also searches, for the top option, the nearest input values at
    which another option would come first (sensitivity.py). It costs a few dozen extra
    rankings, so callers that only need the ranking leave it off.
    """
    pack = rule_pack or default_rule_pack()
    ranking = rank(inp, evidence, pack)
    situation = ranking.situation
    values: dict[str, Any] = dict(situation.values)
    top = ranking.top
    values["top"] = top
    values["top_family"] = PATTERN_FAMILY[top]
    late = [rule for rule in pack.active_rules if rule.late]
    fired = list(ranking.fired) + [rule for rule in late if evaluate(rule, values, pack)]

    explanations = {rule.id: render(rule.explanation, values) for rule in fired}
    options = tuple(
        _option(pattern, ranking, fired, explanations, values, pack, inp)
        for pattern in ranking.order
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
    ruled_out = tuple(
        miss
        for pattern in ranking.order
        if not ranking.assessments[pattern].meets_all
        for miss in ranking.assessments[pattern].misses
    )
    return Recommendation(
        rule_pack_name=pack.name,
        rule_pack_version=pack.version,
        options=options,
        supporting=supporting,
        risks=tuple(sorted_risks),
        chain_estimate=situation.estimate,
        fired_rules=tuple(rule.id for rule in fired),
        derived=derived,
        ruled_out=ruled_out,
        meets_all=ranking.meets_all,
        relaxations=() if ranking.meets_all else relaxations_for(inp, evidence, pack, ranking),
        sensitivity=sensitivity_for(inp, evidence, pack, ranking) if sensitivity else (),
        broker=_broker(inp, situation),
    )
