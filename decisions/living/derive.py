"""What an accepted ADR assumes, read from the snapshot it was drafted from (pure).

One spec per assumption: the chain's p95/p99 budget, each critical hop's p50/p99
(the number the estimate used: measured where it was measured, but never tighter
than what the team stated, since a measurement that beat the statement does not
raise the bar), the availability target (and each hop's, when the inputs carry
``chain[].availability``), the peak rate, and for async or hybrid options the
staleness budget, aimed at the broker the asynchronous half runs over
(``broker_service``), whose probes measure delivery latency. Inputs are read with
``.get``: snapshots from older and newer rule packs carry different keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from decisions.evidence import BROKER, CALL, EndpointKind
from patterns.engine import PATTERN_FAMILY

CHAIN = "chain"


@dataclass(frozen=True)
class AssumptionSpec:
    metric: str
    target: str
    comparator: str
    threshold: float
    source: str  # "stated" or "measured"
    measurable: bool  # a check can measure it (its hop has a call endpoint, its broker one)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def derive_assumptions(
    *,
    inputs: Mapping[str, Any],
    output: Mapping[str, Any],
    chosen_pattern: str,
    has_endpoint: Callable[[str, EndpointKind], bool],
) -> list[AssumptionSpec]:
    """``has_endpoint(service, kind)``: the team has an endpoint of that kind for it."""
    specs: list[AssumptionSpec] = []
    chain = [hop for hop in (inputs.get("chain") or []) if isinstance(hop, Mapping)]
    estimate = output.get("chain_estimate") or {}
    used = {
        hop.get("service"): hop for hop in estimate.get("hops") or [] if isinstance(hop, Mapping)
    }
    critical = [hop for hop in chain if hop.get("critical", True) and hop.get("service")]
    measurable_chain = any(has_endpoint(str(hop["service"]), CALL) for hop in critical)

    if critical:
        for metric, key in (("chain_p95_ms", "latency_p95_ms"), ("chain_p99_ms", "latency_p99_ms")):
            budget = _number(inputs.get(key))
            if budget:
                specs.append(
                    AssumptionSpec(metric, CHAIN, "<=", budget, "stated", measurable_chain)
                )
    for hop in critical:
        service = str(hop["service"])
        measurable = has_endpoint(service, CALL)
        estimate_hop = used.get(service) or {}
        measured = estimate_hop.get("source") == "measured"
        for metric, key in (("hop_p50_ms", "p50_ms"), ("hop_p99_ms", "p99_ms")):
            stated = _number(hop.get(key))
            if stated is None:
                continue
            value = _number(estimate_hop.get(key)) if measured else None
            threshold = max(stated, value) if value is not None else stated
            source = "measured" if measured else "stated"
            specs.append(AssumptionSpec(metric, service, "<=", threshold, source, measurable))
        hop_availability = _number(hop.get("availability"))
        if hop_availability:
            specs.append(
                AssumptionSpec(
                    "availability_pct", service, ">=", hop_availability, "stated", measurable
                )
            )
    availability = _number(inputs.get("availability"))
    if availability:
        specs.append(
            AssumptionSpec(
                "availability_pct", CHAIN, ">=", availability, "stated", measurable_chain
            )
        )
    peak = _number(inputs.get("peak_rps"))
    if peak:
        specs.append(AssumptionSpec("peak_rps", CHAIN, ">=", peak, "stated", measurable_chain))
    if PATTERN_FAMILY.get(chosen_pattern) in ("async", "hybrid"):
        staleness = _number(inputs.get("staleness_s"))
        broker = inputs.get("broker_service")
        broker = broker.strip() if isinstance(broker, str) else ""
        if staleness and broker:
            measurable = has_endpoint(broker, BROKER)
            specs.append(
                AssumptionSpec("staleness_s", broker, "<=", staleness, "stated", measurable)
            )
        elif staleness:
            # No broker named: nothing to probe until one is (see the page's hint).
            specs.append(AssumptionSpec("staleness_s", CHAIN, "<=", staleness, "stated", False))
    return specs


@dataclass(frozen=True)
class Verdict:
    ok: bool
    far: bool  # past twice the tolerance: one such failure is enough to put the ADR at risk


def judge(*, comparator: str, threshold: float, tolerance_pct: float, value: float) -> Verdict:
    """Whether ``value`` keeps the assumption, allowing ``tolerance_pct`` of noise."""
    tolerance = max(0.0, tolerance_pct) / 100
    if comparator == ">=":
        return Verdict(
            ok=value >= threshold * (1 - tolerance), far=value < threshold * (1 - 2 * tolerance)
        )
    return Verdict(
        ok=value <= threshold * (1 + tolerance), far=value > threshold * (1 + 2 * tolerance)
    )
