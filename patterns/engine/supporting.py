"""Supporting decisions: the settings that make the chosen pattern safe, tailored to the case.

Rules decide *whether* a supporting decision applies (their ``supporting`` ids); the
builders here say *why for this use case* and derive the settings from its inputs and
its chain estimate (timeouts from the budget, queue sizes from the peak rate, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from patterns.engine.latency import ChainEstimate


@dataclass(frozen=True)
class Supporting:
    id: str
    title: str
    why: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "why": self.why, "settings": self.settings}


@dataclass(frozen=True)
class Facts:
    """What a builder may read."""

    values: Mapping[str, Any]
    estimate: ChainEstimate
    top: str
    top_family: str


def _ms(value: float) -> int:
    """Round a duration up to a tidy 5 ms step."""
    return max(5, int(math.ceil(value / 5.0) * 5))


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "work"


def _sync_part(f: Facts) -> bool:
    return f.top_family != "async" and bool(f.values["caller_waits"])


def _timeouts(f: Facts) -> Supporting:
    v = f.values
    budget = float(v["latency_p99_ms"])
    critical = [hop for hop in f.estimate.hops if hop.critical]
    settings: dict[str, Any] = {"overall_deadline_ms": _ms(budget), "propagate_deadline": True}
    if critical:
        total_p99 = sum(hop.p99_ms for hop in critical)
        settings["per_hop_timeout_ms"] = {
            hop.service: _ms(
                min(hop.p99_ms * 1.5, max(budget * hop.p99_ms / total_p99, hop.p99_ms))
            )
            for hop in critical
        }
        why = (
            f"The caller gives up after {budget:.0f} ms at p99 and waits for {len(critical)} "
            f"hop(s) estimated at {f.estimate.p99_ms:.0f} ms p99 together. A timeout just above "
            "each hop's own p99 stops one stuck dependency from holding the whole chain, and "
            "passing the remaining deadline downstream stops work nobody is waiting for."
        )
    else:
        why = (
            f"The caller waits for the answer; without a timeout a slow dependency holds its "
            f"threads. {budget:.0f} ms matches the p99 budget."
        )
    return Supporting("timeouts", "Timeouts and a propagated deadline", why, settings)


def _retries(f: Facts) -> Supporting:
    v = f.values
    key = "Idempotency-Key header; the callee stores the key with its result"
    if _sync_part(f) and v["critical_hops"] > 0:
        headroom = float(v["budget_headroom_ms"])
        attempts = 2 if headroom > float(v["chain_p50_ms"]) + 50 else 1
        settings: dict[str, Any] = {
            "max_attempts": attempts,
            "backoff": "exponential with full jitter",
            "initial_backoff_ms": 50,
            "max_backoff_ms": _ms(max(50.0, headroom / 2)),
            "retry_on": ["503", "504", "connection error"],
            "idempotency_key": key,
        }
        if attempts == 2:
            room = "room for one quick retry of a failed hop"
        else:
            room = "no room for a retry inside the request; retry from a queue instead"
        why = (
            f"The p99 budget leaves about {max(headroom, 0):.0f} ms over the chain estimate: "
            f"{room}. Retried writes must carry an idempotency key so a repeat does not "
            "charge or reserve twice."
        )
    else:
        settings = {
            "max_attempts": 5,
            "backoff": "exponential with full jitter",
            "initial_backoff_ms": 1000,
            "max_backoff_ms": 60000,
            "idempotency_key": "message or event id; consumers record ids they processed",
        }
        why = (
            f"With {v['delivery']} delivery a message can arrive more than once or fail "
            "transiently; consumers retry with growing pauses so a struggling dependency can "
            "recover, and skip ids they have already handled."
        )
    return Supporting(
        "retries", "Retries with exponential backoff and idempotency keys", why, settings
    )


_FALLBACK = {
    "fail-fast": "reject at once with 503 and Retry-After",
    "degrade": "serve cached or partial data (at most {staleness}s old) and say so",
    "accept-and-defer": "accept the request, queue the work and answer 202 Accepted",
}


def _circuit_breaker(f: Facts) -> Supporting:
    v = f.values
    fallback = _FALLBACK[v["when_dependency_down"]].format(staleness=f"{v['staleness_s']:g}")
    target = f" on calls to {v['slowest_hop']}" if v["slowest_hop"] else ""
    settings = {
        "failure_rate_threshold_pct": 50,
        "slow_call_threshold_ms": _ms(float(v["latency_p99_ms"])),
        "minimum_calls": 20,
        "open_state_s": 30,
        "half_open_probe_calls": 3,
        "fallback": fallback,
    }
    why = (
        f"When a dependency is down this use case must {v['when_dependency_down']}. A breaker"
        f"{target} turns repeated slow failures into an immediate answer ({fallback}) and "
        "stops a struggling service being hammered while it recovers."
    )
    return Supporting("circuit-breaker", "Circuit breakers", why, settings)


def _dead_letter_queue(f: Facts) -> Supporting:
    v = f.values
    settings = {
        "ack_mode": "manual (after the work is committed)",
        "max_delivery_attempts": 5,
        "dead_letter_queue": f"{_slug(v['name'])}-dlq",
        "alert_when_depth_above": 0,
        "replay": "by hand or by a tool, after the cause is fixed",
    }
    why = (
        "Losing a message is not acceptable here. Manual acknowledgement keeps a message "
        "until its work is done; after a few failed deliveries it moves to a dead-letter "
        "queue instead of being redelivered forever, and an alert makes it visible."
    )
    return Supporting("dead-letter-queue", "Dead-letter queue", why, settings)


def _round_up(value: float) -> int:
    magnitude = 10 ** max(0, len(str(int(value))) - 2)
    return int(math.ceil(value / magnitude) * magnitude)


def _bounded_queue(f: Facts) -> Supporting:
    v = f.values
    peak, avg = float(v["peak_rps"]), float(v["avg_rps"])
    # Hold ten minutes of the excess of peak over average, at least 1,000 messages.
    max_length = _round_up(max(1000.0, (peak - avg) * 600))
    if v["message_loss_ok"]:
        full = "drop the oldest messages (losing some is acceptable here)"
    elif v["caller_waits"]:
        full = "reject new work with 503 and Retry-After so callers back off; never drop silently"
    else:
        full = "block the producer for a short bounded time, then reject and alert"
    settings = {
        "max_length": max_length,
        "full_queue_action": full,
        "message_ttl": "24h",
        "prefetch_count": 100 if peak >= 1000 else 10,
        "alert_on": "queue depth and consumer lag",
    }
    why = (
        f"Peaks reach {peak:g} requests/s against {avg:g} on average "
        f"({v['peak_to_avg']:.1f}x). A bounded queue absorbs the burst without growing "
        "without limit; what happens when it is full has to be decided now, not during "
        "the incident."
    )
    return Supporting("bounded-queue", "Bounded queues and what happens when full", why, settings)


def _ordering_key(f: Facts) -> Supporting:
    v = f.values
    if v["ordering"] == "global":
        settings: dict[str, Any] = {
            "partitions": 1,
            "consumers": "one active consumer (others on standby)",
            "throughput_ceiling": "what a single consumer can process",
        }
        why = (
            "Everything must be processed in one global order, which only a single "
            "partition with a single consumer guarantees. That caps throughput; check "
            "whether ordering per entity would do."
        )
    else:
        partitions = max(3, int(math.ceil(float(v["peak_rps"]) / 200.0)))
        settings = {
            "partition_key": "the entity id (for example order_id)",
            "partitions": partitions,
            "consumers": "at most one per partition within a group",
            "retry": "retry in place or park the entity; skipping ahead breaks the order",
        }
        why = (
            "Messages about the same entity must stay in order. Keying them by entity id "
            "sends them to one partition, which one consumer reads in order, while "
            f"different entities still spread over {partitions} partitions for "
            f"{float(v['peak_rps']):g} requests/s at peak."
        )
    return Supporting("ordering-key", "Ordering keys", why, settings)


def _outbox(f: Facts) -> Supporting:
    v = f.values
    settings = {
        "outbox_table": "written in the same local transaction as the business change",
        "relay": "polling publisher or change-data-capture",
        "consumer_dedup": "store processed event ids at least as long as redelivery is possible",
    }
    why = (
        f"Delivery must be {v['delivery']} and a lost event is "
        f"{'acceptable' if v['message_loss_ok'] else 'not acceptable'}. Writing the event to "
        "an outbox in the same transaction as the change means it cannot be lost between "
        "commit and publish; consumers that skip ids they have seen make redelivery harmless."
    )
    return Supporting("outbox", "Transactional outbox and idempotent consumers", why, settings)


def _compensations(f: Facts) -> Supporting:
    hops = f.estimate.hops
    steps = [
        {
            "step": hop.service,
            "compensation": f"undo the {hop.service} step",
            "timeout_ms": _ms(hop.p99_ms * 2),
        }
        for hop in hops
    ] or [{"step": "each local transaction", "compensation": "its semantic undo"}]
    settings = {
        "steps": steps,
        "compensation_order": "reverse of completion",
        "on_compensation_failure": "retry with backoff, then park for manual repair and alert",
        "saga_state": "persisted per saga id, with every step's outcome",
    }
    why = (
        f"The operation changes data in {len(hops) or 'several'} services without a "
        "distributed lock. Every step needs a compensating action, run in reverse order "
        "when a later step fails; compensations can fail too, so they are retried and "
        "watched."
    )
    return Supporting("compensations", "Saga compensations", why, settings)


def _mtls(f: Facts) -> Supporting:
    v = f.values
    edge = {
        "browser": "TLS from the browser ends at the edge; ",
        "public-api": "outside clients authenticate at the gateway; ",
        "internal": "",
    }[v["caller"]]
    lead = edge + "each"
    settings = {
        "authentication": "mutual TLS for all service-to-service traffic",
        "certificate_authority": "internal CA",
        "rotation": "automatic, every 24h",
        "mesh": "consider one (e.g. Istio) once many services need the same policy",
    }
    why = (
        f"{lead[:1].upper()}{lead[1:]} service behind it should prove its identity and encrypt "
        "traffic, including traffic to the broker, so a compromised host cannot pose as a "
        "trusted caller."
    )
    return Supporting("mtls", "Mutual TLS between services", why, settings)


def _tracing(f: Facts) -> Supporting:
    v = f.values
    settings: dict[str, Any] = {}
    parts = []
    if f.top_family in ("sync", "hybrid") and v["caller_waits"]:
        settings["sync"] = "propagate W3C traceparent on every call; one span per hop"
        parts.append(f"the {v['critical_hops']} synchronous hop(s) share one trace id")
    if f.top_family in ("async", "hybrid") or v["consumers"] > 1:
        settings["async"] = (
            "carry trace context, event_id and correlation_id in message headers; "
            "consumer spans follow from the producer's span"
        )
        parts.append("events carry their id and the trace context to every consumer")
    detail = "; ".join(parts) or "every request carries a trace id"
    why = (
        "A flow that crosses services has no single call stack to read. "
        f"{detail[:1].upper()}{detail[1:]}, so one request can be followed end to end and "
        "its time attributed to each hop."
    )
    return Supporting("tracing", "Trace and event id propagation", why, settings)


BUILDERS: dict[str, Callable[[Facts], Supporting]] = {
    "timeouts": _timeouts,
    "retries": _retries,
    "circuit-breaker": _circuit_breaker,
    "dead-letter-queue": _dead_letter_queue,
    "bounded-queue": _bounded_queue,
    "ordering-key": _ordering_key,
    "outbox": _outbox,
    "compensations": _compensations,
    "mtls": _mtls,
    "tracing": _tracing,
}
