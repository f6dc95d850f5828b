"""The values rule conditions can read: the inputs plus figures the engine derives from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from patterns.engine.inputs import UseCaseInput
from patterns.engine.latency import ChainEstimate, HopEvidence, chain_estimate, sum_quantiles

# Free text (the description) is not something a rule should read.
INPUT_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(UseCaseInput) if f.name not in ("chain", "description")
)

# name -> what it means; also printed into the rule pack header and the ADR.
DERIVED_HELP: dict[str, str] = {
    "chain_length": "number of hops in the chain",
    "critical_hops": "hops the caller waits for (role needed or confirm; critical: true)",
    "deferred_hops": "hops that may run after the answer (role side-effect)",
    "needed_hops": "hops whose data the answer uses (role needed)",
    "confirm_hops": "hops whose write the caller must see confirmed (role confirm)",
    "stated_availability_hops": "hops with a stated or measured availability",
    "chain_p50_ms": "estimated p50 of the sum of the critical hops",
    "chain_p95_ms": "estimated p95 of the sum of the critical hops",
    "chain_p99_ms": "estimated p99 of the sum of the critical hops",
    "chain_over_budget": "the critical hops alone miss latency_p95_ms or latency_p99_ms",
    "all_hops_p95_ms": "estimated p95 if every hop, critical or not, ran before the answer",
    "all_hops_p99_ms": "estimated p99 if every hop, critical or not, ran before the answer",
    "all_hops_over_budget": "running every hop before the answer would miss the budget",
    "budget_used": "chain_p99_ms / latency_p99_ms (0 without critical hops)",
    "budget_headroom_ms": "latency_p99_ms - chain_p99_ms",
    "fan_out": "same as consumers: how many services care about the outcome",
    "peak_to_avg": "peak_rps / avg_rps (1 when both are 0; capped at 1000)",
    "composite_availability": (
        "availability ** (critical_hops + 1), in percent: what the caller sees if this "
        "service and each synchronous dependency just meet the target"
    ),
    "max_hop_spread": "largest p99 / p50 ratio among the critical hops (1 without any)",
    "measured_hops": "hops whose latency comes from measured evidence",
    "slowest_hop": "the service with the highest p99 among the critical hops ('' without any)",
    "broker_measured": "a valid probe of the broker named in broker_service is in",
    "broker_delivery_p50_ms": "measured p50, planned send to the consumer's receipt (0 if none)",
    "broker_delivery_p99_ms": "measured p99, planned send to the consumer's receipt (0 if none)",
    "broker_confirm_p99_ms": "measured p99 of the broker's publish confirmation (0 if none)",
    "broker_rate": "messages per second the broker probe published",
    "broker_messages": "messages the broker probe published",
    "broker_lost": "messages the broker probe published and never received",
    "broker_duplicates": "messages the broker probe received more than once",
    "broker_reordered": "messages received after a later message of the same key",
    "broker_loss_pct": "broker_lost as a percentage of broker_messages",
    "broker_over_staleness": "the measured delivery p99 exceeds staleness_s",
}
# Only known after scoring; rules reading them may add supporting decisions and risks
# but may not change scores.
LATE_HELP: dict[str, str] = {
    "top": "the id of the best-ranked pattern",
    "top_family": "its family: sync, async or hybrid",
}
DERIVED_NAMES: tuple[str, ...] = tuple(DERIVED_HELP)
LATE_NAMES: tuple[str, ...] = tuple(LATE_HELP)
ALL_NAMES: frozenset[str] = frozenset(INPUT_NAMES + DERIVED_NAMES + LATE_NAMES)


@dataclass(frozen=True)
class Situation:
    """The context rules see, with the chain estimate it was derived from."""

    values: Mapping[str, Any]
    estimate: ChainEstimate
    all_hops: tuple[float, float, float]
    broker: HopEvidence | None = None  # the measured broker_service, if any


def situation_for(
    inp: UseCaseInput, evidence: Mapping[str, HopEvidence] | None = None
) -> Situation:
    """Compute the inputs and derived figures rules can read (not yet top/top_family)."""
    estimate = chain_estimate(inp.chain, evidence, inp.latency_p95_ms, inp.latency_p99_ms)
    critical = [hop for hop in estimate.hops if hop.critical]
    all_hops = sum_quantiles([(hop.p50_ms, hop.p99_ms) for hop in estimate.hops])
    values: dict[str, Any] = {name: getattr(inp, name) for name in INPUT_NAMES}
    values["latency_p95_ms"] = float(inp.latency_p95_ms)
    values["latency_p99_ms"] = float(inp.latency_p99_ms)
    if inp.avg_rps > 0:
        peak_to_avg = min(inp.peak_rps / inp.avg_rps, 1000.0)
    else:
        peak_to_avg = 1.0 if inp.peak_rps == 0 else 1000.0
    if critical:
        budget_used = estimate.p99_ms / inp.latency_p99_ms if inp.latency_p99_ms > 0 else 1000.0
        slowest = max(critical, key=lambda hop: (hop.p99_ms, hop.service)).service
        spread = max(hop.p99_ms / hop.p50_ms for hop in critical)
    else:
        budget_used, slowest, spread = 0.0, "", 1.0
    values.update(
        chain_length=len(inp.chain),
        critical_hops=len(critical),
        deferred_hops=len(inp.chain) - len(critical),
        needed_hops=sum(1 for hop in inp.chain if hop.role == "needed"),
        confirm_hops=sum(1 for hop in inp.chain if hop.role == "confirm"),
        stated_availability_hops=sum(
            1 for hop in estimate.hops if hop.availability_source != "unstated"
        ),
        chain_p50_ms=estimate.p50_ms,
        chain_p95_ms=estimate.p95_ms,
        chain_p99_ms=estimate.p99_ms,
        chain_over_budget=estimate.within_budget is False,
        all_hops_p95_ms=all_hops[1],
        all_hops_p99_ms=all_hops[2],
        all_hops_over_budget=bool(inp.chain)
        and (all_hops[1] > inp.latency_p95_ms or all_hops[2] > inp.latency_p99_ms),
        budget_used=budget_used,
        budget_headroom_ms=inp.latency_p99_ms - estimate.p99_ms,
        fan_out=inp.consumers,
        peak_to_avg=peak_to_avg,
        composite_availability=100.0 * (inp.availability / 100.0) ** (len(critical) + 1),
        max_hop_spread=spread,
        measured_hops=sum(1 for hop in estimate.hops if hop.source == "measured"),
        slowest_hop=slowest,
    )
    broker = broker_evidence(inp, evidence)
    values.update(_broker_values(broker, inp))
    return Situation(values=values, estimate=estimate, all_hops=all_hops, broker=broker)


def broker_evidence(
    inp: UseCaseInput, evidence: Mapping[str, HopEvidence] | None
) -> HopEvidence | None:
    """The broker probe's evidence for ``inp.broker_service``, if one measured it."""
    found = (evidence or {}).get(inp.broker_service) if inp.broker_service else None
    return found if found is not None and found.is_broker else None


def _broker_values(broker: HopEvidence | None, inp: UseCaseInput) -> dict[str, Any]:
    if broker is None:
        return {
            "broker_measured": False,
            "broker_delivery_p50_ms": 0.0,
            "broker_delivery_p99_ms": 0.0,
            "broker_confirm_p99_ms": 0.0,
            "broker_rate": 0.0,
            "broker_messages": 0,
            "broker_lost": 0,
            "broker_duplicates": 0,
            "broker_reordered": 0,
            "broker_loss_pct": 0.0,
            "broker_over_staleness": False,
        }
    messages = max(0, broker.samples)
    return {
        "broker_measured": True,
        "broker_delivery_p50_ms": float(broker.p50_ms),
        "broker_delivery_p99_ms": float(broker.p99_ms),
        "broker_confirm_p99_ms": float(broker.confirm_p99_ms or 0.0),
        "broker_rate": float(broker.rate_per_s),
        "broker_messages": messages,
        "broker_lost": broker.lost,
        "broker_duplicates": broker.duplicates,
        "broker_reordered": broker.reordered,
        "broker_loss_pct": 100.0 * broker.lost / messages if messages else 0.0,
        "broker_over_staleness": float(broker.p99_ms) > 1000.0 * float(inp.staleness_s),
    }


def sample_context() -> dict[str, Any]:
    """A context built from the default input plus late names, for load-time checks."""
    values = dict(situation_for(UseCaseInput()).values)
    values.update(top="rest", top_family="sync")
    return values
