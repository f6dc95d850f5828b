"""When no option meets every requirement: which requirement to relax, to what, for which
option.

For each ruled-out option, best ranked first, the engine builds the smallest change of
the inputs that fixes each of its misses, applies them together and ranks again; when
the option then meets everything, the changes are proposed. Two kinds of change:

* a value: a latency budget raised to the option's estimate (rounded up to 10 ms), the
  availability target lowered to its composite, strong consistency relaxed to
  read-your-writes, message loss accepted;
* a move (request-event hybrid and orchestrated saga only): hops the person marked as
  needed go after the answer, slowest first for latency and least available first for
  availability, until the part before the answer fits. The engine never makes this move
  on its own; it only proposes it, saying which hops would then lag.

Requirements that state facts (data owned by several services, several consumers, a
workflow that waits for a person) are never offered for relaxation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from patterns.engine.inputs import Hop, UseCaseInput
from patterns.engine.latency import HopEstimate, HopEvidence, sum_quantiles
from patterns.engine.meta import PATTERN_NAMES, jsonable
from patterns.engine.ranking import Ranking, rank
from patterns.engine.requirements import PREFIX_PATTERNS, Assessment, pct
from patterns.engine.rules import RulePack

MAX_RELAXATIONS = 5
VALUE_CHANGES = (
    "latency-budget",
    "availability-target",
    "current-answer",
    "no-message-loss",
    "staleness-budget",
)


@dataclass(frozen=True)
class Relaxation:
    """A requirement to relax, to what, and the option that would then meet everything."""

    requirement: str
    to: Any
    option: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "to": jsonable(self.to),
            "option": self.option,
            "detail": self.detail,
        }


def _ceil10(value: float) -> float:
    return float(math.ceil(value / 10.0) * 10)


def _staleness_to(delivery_p99_ms: float) -> float:
    """A staleness budget the measured delivery fits: tenths of a second below one, whole
    seconds above."""
    seconds = delivery_p99_ms / 1000.0
    if seconds < 1.0:
        return math.floor(seconds * 10.0 + 1.0) / 10.0
    return float(math.floor(seconds) + 1)


def _value_changes(
    pattern: str, found: Assessment, inp: UseCaseInput, delivery_p99_ms: float = 0.0
) -> list[Relaxation] | None:
    """Value relaxations that fix every miss of ``pattern``, or None if one cannot be.

    ``delivery_p99_ms``: the broker's measured delivery, for the staleness budget."""
    name = PATTERN_NAMES[pattern]
    changes: list[Relaxation] = []
    for miss in found.misses:
        if miss.requirement == "latency-budget":
            design = found.design
            p99 = max(_ceil10(design.p99_ms), float(inp.latency_p99_ms))
            p95 = min(max(_ceil10(design.p95_ms), float(inp.latency_p95_ms)), p99)
            if p95 > inp.latency_p95_ms:
                changes.append(
                    Relaxation(
                        "latency_p95_ms",
                        p95,
                        pattern,
                        f"{name} waits about {design.p95_ms:.0f} ms at p95; a {p95:.0f} ms "
                        "p95 budget would fit it.",
                    )
                )
            if p99 > inp.latency_p99_ms:
                changes.append(
                    Relaxation(
                        "latency_p99_ms",
                        p99,
                        pattern,
                        f"{name} waits about {design.p99_ms:.0f} ms at p99; a {p99:.0f} ms "
                        "p99 budget would fit it.",
                    )
                )
        elif miss.requirement == "availability-target":
            to = math.floor(found.availability.composite * 1e4) / 1e4
            changes.append(
                Relaxation(
                    "availability",
                    to,
                    pattern,
                    f"{name} reaches at most {pct(found.availability.composite)}%; a target "
                    f"of {pct(to)}% would accept it.",
                )
            )
        elif miss.requirement == "current-answer":
            changes.append(
                Relaxation(
                    "consistency",
                    "read-your-writes",
                    pattern,
                    f"If the caller only has to see its own writes, {name} can answer.",
                )
            )
        elif miss.requirement == "staleness-budget":
            to = _staleness_to(delivery_p99_ms)
            changes.append(
                Relaxation(
                    "staleness_s",
                    to,
                    pattern,
                    f"Events reach consumers through {inp.broker_service} in p99 "
                    f"{delivery_p99_ms:.0f} ms; a staleness budget of {to:g} s would accept "
                    f"{name}.",
                )
            )
        elif miss.requirement == "no-message-loss":
            changes.append(
                Relaxation(
                    "message_loss_ok",
                    True,
                    pattern,
                    f"If losing an occasional message is acceptable, {name} will do.",
                )
            )
        else:
            return None
    return changes


def _apply(inp: UseCaseInput, changes: list[Relaxation]) -> UseCaseInput:
    return replace(inp, **{change.requirement: change.to for change in changes})


def _hops_to_move(found: Assessment, inp: UseCaseInput) -> list[HopEstimate] | None:
    """The fewest waited hops to move after the answer so the prefix fits, or None."""
    remaining = list(found.design.before)
    moved: list[HopEstimate] = []
    budget95, budget99 = float(inp.latency_p95_ms), float(inp.latency_p99_ms)
    missed = {miss.requirement for miss in found.misses}

    def fits() -> bool:
        if "latency-budget" in missed and inp.caller_waits:
            pairs = [(hop.p50_ms, hop.p99_ms) for hop in remaining]
            if found.design.confirm is not None:
                pairs.append(found.design.confirm)
            _, p95, p99 = sum_quantiles(pairs)
            if p95 > budget95 or p99 > budget99:
                return False
        if "availability-target" in missed:
            composite = 100.0
            for hop in remaining:
                if hop.availability is not None:
                    composite *= hop.availability / 100.0
            if composite < inp.availability:
                return False
        return True

    while remaining and not fits():
        if "latency-budget" in missed and inp.caller_waits:
            victim = max(remaining, key=lambda hop: (hop.p99_ms, hop.service))
        else:
            victim = min(
                remaining,
                key=lambda hop: (
                    100.0 if hop.availability is None else hop.availability,
                    hop.service,
                ),
            )
        remaining.remove(victim)
        moved.append(victim)
    return moved if moved and fits() else None


def _together(changes: list[Relaxation]) -> list[Relaxation]:
    """Changes that only work together say so."""
    if len(changes) < 2:
        return changes
    return [
        replace(
            change,
            detail=change.detail
            + " Only together with "
            + ", ".join(
                f"{other.requirement} -> {jsonable(other.to)}"
                for other in changes
                if other is not change
            )
            + ".",
        )
        for change in changes
    ]


def _answer_before(hops: list[HopEstimate]) -> str:
    listed = [hop.service for hop in hops]
    if len(listed) == 1:
        return f"answer before {listed[0]}, which then lags by up to its event delay."
    named = ", ".join(listed[:-1]) + f" and {listed[-1]}"
    return f"answer before {named}, which then lag by up to their event delay."


def _moved(inp: UseCaseInput, services: set[str]) -> UseCaseInput:
    chain = tuple(
        Hop(hop.service, hop.p50_ms, hop.p99_ms, role="side-effect", availability=hop.availability)
        if hop.service in services
        else hop
        for hop in inp.chain
    )
    return replace(inp, chain=chain)


def relaxations_for(
    inp: UseCaseInput,
    evidence: Mapping[str, HopEvidence] | None,
    pack: RulePack,
    ranking: Ranking,
) -> tuple[Relaxation, ...]:
    """Relaxations that would make a ruled-out option meet everything; see the docstring."""
    found: list[Relaxation] = []
    tried: set[tuple[tuple[str, str], ...]] = set()
    delivery_p99_ms = float(ranking.situation.values.get("broker_delivery_p99_ms", 0.0))

    def works(pattern: str, changed: UseCaseInput, changes: list[Relaxation]) -> bool:
        # Options of one shape with the same misses propose the same changes: rank once.
        key = tuple((change.requirement, str(change.to)) for change in changes)
        if key in tried:
            return False
        tried.add(key)
        return rank(changed, evidence, pack, ranking).assessments[pattern].meets_all

    for pattern in ranking.order:
        assessment = ranking.assessments[pattern]
        if assessment.meets_all:
            continue
        changes = _value_changes(pattern, assessment, inp, delivery_p99_ms)
        if changes and works(pattern, _apply(inp, changes), changes):
            found += _together(changes)
        missed = {miss.requirement for miss in assessment.misses}
        if pattern in PREFIX_PATTERNS and missed & {"latency-budget", "availability-target"}:
            hops = _hops_to_move(assessment, inp)
            rest = tuple(
                miss
                for miss in assessment.misses
                if miss.requirement not in ("latency-budget", "availability-target")
            )
            others = _value_changes(pattern, replace(assessment, misses=rest), inp, delivery_p99_ms)
            if hops and others is not None:
                move = Relaxation(
                    f"role of {', '.join(hop.service for hop in hops)}",
                    "side-effect",
                    pattern,
                    f"{PATTERN_NAMES[pattern]}: {_answer_before(hops)}",
                )
                changed = _apply(_moved(inp, {hop.service for hop in hops}), others)
                if works(pattern, changed, [move, *others]):
                    found += _together([move, *others])
        if len({(item.requirement, str(item.to)) for item in found}) >= MAX_RELAXATIONS:
            break
    # The same change offered for several options is listed once, for the best ranked.
    unique: dict[tuple[str, str], Relaxation] = {}
    for item in found:
        unique.setdefault((item.requirement, str(item.to)), item)
    return tuple(unique.values())[:MAX_RELAXATIONS]
