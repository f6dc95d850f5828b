"""What would change the answer: the nearest input values at which another option comes
first, or the top option stops meeting every requirement.

The search, input by input
--------------------------
A review argues about the inputs nearest to a tipping point, so for each input the
engine looks for the closest value, above and below the current one, at which the
ranking's first option (or whether it meets everything) changes. Rather than scanning,
it reads candidate tipping points off what decides the ranking, then ranks again just
beyond each candidate, nearest first, and stops at the first that changes the answer:

* **Rule thresholds.** Every comparison of an input with a number in a rule or
  requirement condition (``peak_rps >= 500``) is a candidate; comparisons of derived
  figures are mapped back to inputs (``peak_to_avg > 5`` -> ``peak_rps = 5 x avg_rps``;
  ``fan_out`` -> ``consumers``; ``budget_used > 0.8`` -> the p99 budget).
* **Latency budgets.** Each option's waited p95/p99 estimate: below it the option is
  ruled out, above it the option fits.
* **The availability target and each hop's availability.** Each option's composite
  availability; per hop, the value at which an option's composite meets the target,
  solved from the product (``eff = target / rest``, then ``a = 1 - (1 - eff)^(1/k)``
  for ``k`` attempts). For a hop with no stated availability this is the figure the
  answer silently relies on.
* **Hop latencies.** For each hop the top option waits for, the p99 at which the
  option's waited p95 or p99 reaches the budget, found by root finding on the chain
  estimate (it rises monotonically with one hop's p99): bracketed by doubling, then
  narrowed by regula falsi, at most a handful of estimates per hop.
* **Choices.** Every other value of each choice (consistency, caller, ...), each yes/no
  input, and each hop's role is tried once.

Numeric results are sorted by how near they are (relative to the current value) and
the few nearest are returned, followed by the choices that change the answer.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast

from patterns.engine.inputs import CHOICES, HOP_ROLES, MAX_HOP_SPREAD, NUMBER_RANGES, UseCaseInput
from patterns.engine.latency import HopEvidence, sum_quantiles
from patterns.engine.meta import PATTERN_NAMES, jsonable
from patterns.engine.ranking import Ranking, rank
from patterns.engine.requirements import attempts_for, pct, retry_headroom
from patterns.engine.rules import RulePack

MAX_NUMERIC = 6
MAX_CHOICES = 4
CANDIDATES_PER_SIDE = 4
SECANT_STEPS = 6
_NUDGE = 1e-6

# input -> (how people call it, unit)
LABELS: dict[str, tuple[str, str]] = {
    "latency_p95_ms": ("the p95 budget", " ms"),
    "latency_p99_ms": ("the p99 budget", " ms"),
    "availability": ("the availability target", "%"),
    "peak_rps": ("the peak rate", " requests/s"),
    "avg_rps": ("the average rate", " requests/s"),
    "staleness_s": ("the staleness limit", " s"),
    "consumers": ("the number of consumers", ""),
}
_BOOLS = ("caller_waits", "message_loss_ok", "distributed_transaction", "long_running")


@dataclass(frozen=True)
class Sensitivity:
    """The nearest value of one input at which the answer changes."""

    input: str
    current: Any
    threshold: Any
    option: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "current": jsonable(self.current),
            "threshold": jsonable(self.threshold),
            "option": self.option,
            "detail": self.detail,
        }


def _number(node: ast.AST) -> float | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


@lru_cache(maxsize=8)
def _comparisons(sources: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """(name, number) for every ``name <op> number`` in the conditions, both ways round."""
    found: set[tuple[str, float]] = set()
    for source in sources:
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            for left, right in zip(operands, operands[1:], strict=False):
                for name_node, number_node in ((left, right), (right, left)):
                    number = _number(number_node)
                    if isinstance(name_node, ast.Name) and number is not None:
                        found.add((name_node.id, number))
    return tuple(sorted(found))


def _rule_points(inp: UseCaseInput, ranking: Ranking, pack: RulePack) -> dict[str, set[float]]:
    """Candidate tipping points per scalar input, read off the pack's conditions."""
    sources = tuple(rule.when for rule in pack.active_rules if not rule.late) + tuple(
        req.applies_source for req in pack.active_requirements
    )
    points: dict[str, set[float]] = {name: set() for name in LABELS}
    chain_p99 = float(ranking.situation.values["chain_p99_ms"])
    for name, number in _comparisons(sources):
        if name in points:
            points[name].add(number)
        elif name == "fan_out":
            points["consumers"].add(number)
        elif name == "peak_to_avg" and number > 0:
            if inp.avg_rps > 0:
                points["peak_rps"].add(number * inp.avg_rps)
            points["avg_rps"].add(inp.peak_rps / number)
        elif name == "budget_used" and number > 0 and chain_p99 > 0:
            points["latency_p99_ms"].add(chain_p99 / number)
    for assessment in ranking.assessments.values():
        design = assessment.design
        if design.waits:
            points["latency_p95_ms"].add(design.p95_ms)
            points["latency_p99_ms"].add(design.p99_ms)
        points["availability"].add(assessment.availability.composite)
    # Below the broker's measured delivery p99, the staleness budget rules out every
    # option with an asynchronous half.
    delivery_p99_ms = float(ranking.situation.values.get("broker_delivery_p99_ms", 0.0))
    if delivery_p99_ms > 0:
        points["staleness_s"].add(delivery_p99_ms / 1000.0)
    return points


def _with(inp: UseCaseInput, name: str, value: float) -> UseCaseInput:
    """``inp`` with one scalar changed, keeping p95 <= p99 and avg <= peak."""
    changes: dict[str, Any] = {name: int(value) if name == "consumers" else value}
    if name == "latency_p99_ms" and value < inp.latency_p95_ms:
        changes["latency_p95_ms"] = value
    if name == "latency_p95_ms" and value > inp.latency_p99_ms:
        changes["latency_p99_ms"] = value
    if name == "peak_rps" and value < inp.avg_rps:
        changes["avg_rps"] = value
    if name == "avg_rps" and value > inp.peak_rps:
        changes["peak_rps"] = value
    return replace(inp, **changes)


def _in_range(limits: str, value: float, *, exclusive: bool = False) -> bool:
    low, high = NUMBER_RANGES[limits]
    return low < value < high if exclusive else low <= value <= high


class _Search:
    """Ranks changed inputs and says whether the answer changed."""

    def __init__(
        self,
        inp: UseCaseInput,
        evidence: Mapping[str, HopEvidence] | None,
        pack: RulePack,
        ranking: Ranking,
    ) -> None:
        self.inp, self.evidence, self.pack, self.base = inp, evidence, pack, ranking
        self.top, self.meets_all = ranking.top, ranking.meets_all

    def changed(
        self, candidate: UseCaseInput, evidence: Mapping[str, HopEvidence] | None = None
    ) -> Ranking | None:
        """The new ranking if the answer changed: another option first, or the first
        option stops (or starts) meeting everything. While nothing meets everything,
        only a change that makes the first option meet everything counts; the order of
        the ruled-out options is not an answer."""
        found = rank(candidate, evidence or self.evidence, self.pack, self.base)
        if not self.meets_all:
            return found if found.meets_all else None
        if found.top != self.top or not found.meets_all:
            return found
        return None

    def outcome(self, found: Ranking) -> tuple[str, str]:
        """The option that comes first and a few words on what happens."""
        if not self.meets_all:
            return found.top, f"{PATTERN_NAMES[found.top]} meets every requirement"
        if found.top != self.top:
            return found.top, f"{PATTERN_NAMES[found.top]} comes first"
        if not found.meets_all:
            missed = ", ".join(miss.requirement for miss in found.assessments[found.top].misses)
            return (
                found.top,
                f"{PATTERN_NAMES[found.top]} no longer meets every requirement ({missed})",
            )
        return found.top, f"{PATTERN_NAMES[found.top]} meets every requirement"

    def scan(
        self,
        current: float,
        points: set[float],
        make: Callable[[float], UseCaseInput | None],
        *,
        integer: bool = False,
    ) -> list[tuple[float, Ranking]]:
        """Nearest point each side of ``current`` just beyond which the answer changes."""
        results = []
        for sign in (1.0, -1.0):
            side = sorted(
                (p for p in points if (p - current) * sign > 0),
                key=lambda p: abs(p - current),
            )[:CANDIDATES_PER_SIDE]
            for point in side:
                if integer:
                    tried: list[float] = (
                        [math.floor(point), math.ceil(point)]
                        if sign > 0
                        else [math.ceil(point), math.floor(point)]
                    )
                    tried = [t for t in dict.fromkeys(tried) if (t - current) * sign > 0]
                else:
                    tried = [point + sign * max(abs(point) * _NUDGE, 1e-9)]
                hit = None
                for value in tried:
                    candidate = make(value)
                    found = self.changed(candidate) if candidate is not None else None
                    if found is not None:
                        hit = (float(value) if integer else point, found)
                        break
                if hit is not None:
                    results.append(hit)
                    break
        return results


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"


def _scalar_entries(
    search: _Search, inp: UseCaseInput, ranking: Ranking
) -> list[tuple[float, Sensitivity]]:
    entries = []
    for name, points in _rule_points(inp, ranking, search.pack).items():
        current = float(getattr(inp, name))
        label, unit = LABELS[name]
        exclusive = name == "availability"

        def make(
            value: float, name: str = name, exclusive: bool = exclusive
        ) -> UseCaseInput | None:
            if not _in_range(name, value, exclusive=exclusive):
                return None
            return _with(inp, name, value)

        for threshold, found in search.scan(current, points, make, integer=name == "consumers"):
            option, what = search.outcome(found)
            shown = pct(threshold) if name == "availability" else _fmt(threshold)
            verb = "rises above" if threshold > current else "drops below"
            if name == "consumers":
                verb, shown = "becomes", f"{int(threshold)}"
            now = pct(current) if name == "availability" else _fmt(current)
            detail = f"If {label} {verb} {shown}{unit} (now {now}{unit}), {what}."
            distance = abs(threshold - current) / max(abs(current), 1e-9)
            entries.append(
                (distance, Sensitivity(name, getattr(inp, name), threshold, option, detail))
            )
    return entries


def _hop_latency_entries(
    search: _Search, inp: UseCaseInput, ranking: Ranking
) -> list[tuple[float, Sensitivity]]:
    """Per hop the top waits for: the p99 at which its waited estimate reaches the budget.

    A measured hop is moved through its evidence (the input would not change what the
    engine uses); a stated one through the input.
    """
    if not inp.caller_waits:
        return []
    design = ranking.assessments[ranking.top].design
    waited = [(hop.p50_ms, hop.p99_ms) for hop in design.before]
    if design.confirm is not None:
        waited.append(design.confirm)
    entries = []
    for index, hop in enumerate(inp.chain):
        resolved = ranking.situation.estimate.hops[index]
        if resolved not in design.before:
            continue
        others = list(waited)
        others.remove((resolved.p50_ms, resolved.p99_ms))
        p50 = resolved.p50_ms
        highest = p50 * MAX_HOP_SPREAD

        def excess(
            p99: float, others: list[tuple[float, float]] = others, p50: float = p50
        ) -> float:
            _, p95_sum, p99_sum = sum_quantiles([*others, (p50, p99)])
            return max(p95_sum - inp.latency_p95_ms, p99_sum - inp.latency_p99_ms)

        lo, f_lo = (
            resolved.p99_ms,
            max(design.p95_ms - inp.latency_p95_ms, design.p99_ms - inp.latency_p99_ms),
        )
        if f_lo >= 0 or lo >= highest:
            continue  # already over budget: the top is ruled out on latency anyway
        # One hop's p99 moves the sum's by at most as much, so the threshold lies at
        # least -f_lo above; double from there until the chain is over (or the limit).
        hi = min(highest, lo - f_lo)
        f_hi = excess(hi)
        while f_hi < 0 and hi < highest:
            lo, f_lo = hi, f_hi
            hi = min(highest, hi * 2)
            f_hi = excess(hi)
        if f_hi < 0:
            continue  # within the input limits the hop cannot push the chain over
        # Regula falsi inside the bracket [lo, hi] (Illinois variant, so one end
        # cannot stall), until the over-budget end is within half a millisecond of it.
        side = 0
        for _ in range(SECANT_STEPS):
            mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
            f_mid = excess(mid)
            if 0 <= f_mid < 0.5:
                hi, f_hi = mid, f_mid
                break
            if f_mid >= 0:
                hi, f_hi = mid, f_mid
                if side == 1:
                    f_lo /= 2
                side = 1
            else:
                lo, f_lo = mid, f_mid
                if side == -1:
                    f_hi /= 2
                side = -1
        threshold = hi
        beyond = min(threshold * (1 + 1e-3), highest)
        if resolved.source == "measured" and search.evidence:
            measured = search.evidence[hop.service]
            evidence = {**search.evidence, hop.service: replace(measured, p99_ms=beyond)}
            found = search.changed(inp, evidence)
            now = f"measured at {resolved.p99_ms:g} ms"
        else:
            chain = tuple(
                replace(h, p99_ms=beyond) if i == index else h for i, h in enumerate(inp.chain)
            )
            found = search.changed(replace(inp, chain=chain))
            now = f"stated at {resolved.p99_ms:g} ms"
        if found is None:
            continue
        option, what = search.outcome(found)
        detail = f"If {hop.service}'s p99 rises above {threshold:,.0f} ms ({now}), {what}."
        distance = (threshold - resolved.p99_ms) / resolved.p99_ms
        entries.append(
            (
                distance,
                Sensitivity(
                    f"chain[{index}].p99_ms", resolved.p99_ms, round(threshold, 1), option, detail
                ),
            )
        )
    return entries


def _hop_availability_entries(
    search: _Search, inp: UseCaseInput, ranking: Ranking
) -> list[tuple[float, Sensitivity]]:
    """Per counted hop: the availability at which an option's composite meets the target."""
    entries = []
    target = float(inp.availability)
    for index, hop in enumerate(inp.chain):
        resolved = ranking.situation.estimate.hops[index]
        if resolved.availability_source == "measured":
            continue
        points: set[float] = set()
        for assessment in ranking.assessments.values():
            check = assessment.availability
            for counted in check.counted:
                if counted.service != hop.service or not counted.effective:
                    continue
                rest = check.composite / counted.effective
                if rest <= target:
                    continue
                effective = target / rest  # a fraction
                points.add(100.0 * (1.0 - (1.0 - effective) ** (1.0 / counted.attempts)))
            if hop.service in check.unstated and check.composite > target:
                # Stated alone (the other unknown hops still unknown), this hop tips the
                # option where its retried availability reaches target / what is known.
                attempts = attempts_for(resolved, retry_headroom(assessment.design, inp))
                effective = target / check.composite
                points.add(100.0 * (1.0 - (1.0 - effective) ** (1.0 / attempts)))
        if not points:
            continue
        current = hop.availability if hop.availability is not None else 100.0

        def make(value: float, index: int = index) -> UseCaseInput | None:
            if not 0 < value <= 100:
                return None
            chain = tuple(
                replace(h, availability=value) if i == index else h for i, h in enumerate(inp.chain)
            )
            return replace(inp, chain=chain)

        for threshold, found in search.scan(current, points, make):
            option, what = search.outcome(found)
            verb = "rises above" if threshold > current else "drops below"
            now = (
                "not stated" if hop.availability is None else f"stated at {pct(hop.availability)}%"
            )
            detail = f"If {hop.service}'s availability {verb} {pct(threshold)}% ({now}), {what}."
            distance = abs(threshold - current) / max(100.0 - min(threshold, current), 1e-9)
            entries.append(
                (
                    distance,
                    Sensitivity(
                        f"chain[{index}].availability",
                        hop.availability,
                        round(threshold, 4),
                        option,
                        detail,
                    ),
                )
            )
    return entries


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _choice_entries(search: _Search, inp: UseCaseInput) -> list[Sensitivity]:
    entries = []
    alternatives: list[tuple[str, Any, UseCaseInput]] = []
    for name, allowed in CHOICES.items():
        alternatives += [
            (name, value, replace(inp, **cast(dict[str, Any], {name: value})))
            for value in allowed
            if value != getattr(inp, name)
        ]
    for name in _BOOLS:
        value = not getattr(inp, name)
        alternatives.append((name, value, replace(inp, **cast(dict[str, Any], {name: value}))))
    for index, hop in enumerate(inp.chain):
        for role in HOP_ROLES:
            if role != hop.role:
                chain = tuple(
                    replace(h, role=role) if i == index else h for i, h in enumerate(inp.chain)
                )
                alternatives.append((f"chain[{index}].role", role, replace(inp, chain=chain)))
    flipped: set[str] = set()
    for name, value, candidate in alternatives:
        if name in flipped:
            continue  # one alternative per input is enough to show it matters
        found = search.changed(candidate)
        if found is None:
            continue
        option, what = search.outcome(found)
        if name.startswith("chain["):
            index = int(name[6 : name.index("]")])
            hop = inp.chain[index]
            detail = f"If {hop.service}'s role were {value} (now {hop.role}), {what}."
            current: Any = hop.role
        else:
            current = getattr(inp, name)
            detail = f"If {name} were {_shown(value)} (now {_shown(current)}), {what}."
        flipped.add(name)
        entries.append(Sensitivity(name, current, value, option, detail))
    return entries


def sensitivity_for(
    inp: UseCaseInput,
    evidence: Mapping[str, HopEvidence] | None,
    pack: RulePack,
    ranking: Ranking,
) -> tuple[Sensitivity, ...]:
    """The few input changes nearest to changing the answer; see the module docstring."""
    search = _Search(inp, evidence, pack, ranking)
    numeric = (
        _scalar_entries(search, inp, ranking)
        + _hop_latency_entries(search, inp, ranking)
        + _hop_availability_entries(search, inp, ranking)
    )
    numeric.sort(key=lambda item: (item[0], item[1].input))
    choices = _choice_entries(search, inp)
    return tuple(item for _, item in numeric[:MAX_NUMERIC]) + tuple(choices[:MAX_CHOICES])
