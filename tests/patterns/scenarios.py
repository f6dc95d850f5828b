"""Realistic use cases, written from the domain reference, shared by tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scenario:
    id: str
    data: dict[str, Any]
    top: str | tuple[str, ...]
    family: str
    rules: tuple[str, ...] = ()
    supporting: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    not_supporting: tuple[str, ...] = field(default=())
    # False when no option meets every hard requirement (the top is the nearest miss).
    meets_all: bool = True


def _hop(service: str, p50: float, p99: float, critical: bool = True) -> dict[str, Any]:
    return {"service": service, "p50_ms": p50, "p99_ms": p99, "critical": critical}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="checkout-reserves-inventory",
        data={
            "name": "checkout",
            "caller": "browser",
            "consistency": "strong",
            "latency_p95_ms": 400,
            "latency_p99_ms": 900,
            "chain": [
                _hop("inventory", 15, 60),
                _hop("orders", 10, 40),
                _hop("payment", 80, 400, critical=False),
                _hop("notification", 30, 200, critical=False),
                _hop("analytics", 20, 150, critical=False),
            ],
            "consumers": 3,
            "peak_rps": 300,
            "avg_rps": 40,
        },
        top="request-event",
        family="hybrid",
        rules=("caller-waits-for-strong-read", "many-consumers", "some-hops-can-wait"),
        supporting=("timeouts", "retries", "circuit-breaker", "dead-letter-queue", "tracing"),
    ),
    Scenario(
        id="order-created-fans-out-to-notifications",
        data={
            "name": "order notifications",
            "caller_waits": False,
            "consistency": "eventual",
            "staleness_s": 30,
            "consumers": 4,
            "peak_rps": 200,
            "avg_rps": 50,
        },
        top="event-driven",
        family="async",
        rules=("caller-does-not-wait", "many-consumers"),
        supporting=("dead-letter-queue", "retries", "tracing", "bounded-queue"),
        not_supporting=("timeouts",),
    ),
    Scenario(
        id="payment-saga-across-four-services",
        data={
            "name": "order fulfilment",
            "caller": "public-api",
            "distributed_transaction": True,
            "consistency": "eventual",
            "chain": [
                _hop("inventory", 20, 80),
                _hop("payment", 100, 600),
                _hop("shipping", 30, 120),
                _hop("loyalty", 15, 60),
            ],
        },
        top="saga-orchestration",
        family="hybrid",
        # All four steps are stated as critical, so the orchestrator's synchronous prefix
        # holds them all and misses the default 300 ms p95; the engine does not move a
        # needed step on its own but proposes it (and a larger budget) as relaxations.
        meets_all=False,
        rules=("distributed-transaction", "saga-with-many-steps", "saga-progress-visible"),
        supporting=("compensations", "outbox"),
        risks=("compensations-can-fail",),
    ),
    Scenario(
        id="two-step-transfer-saga-by-choreography",
        data={
            "name": "loyalty points transfer",
            "caller_waits": False,
            "distributed_transaction": True,
            "chain": [_hop("wallet", 10, 40), _hop("ledger", 15, 60)],
            "consumers": 2,
        },
        top="saga-choreography",
        family="async",
        rules=("distributed-transaction", "saga-with-few-steps"),
        supporting=("compensations", "outbox", "dead-letter-queue"),
    ),
    Scenario(
        id="analytics-ingestion-spiky",
        data={
            "name": "clickstream ingestion",
            "caller": "public-api",
            "caller_waits": False,
            "message_loss_ok": True,
            "delivery": "at-most-once",
            "peak_rps": 20000,
            "avg_rps": 2000,
            "consumers": 3,
            "staleness_s": 300,
        },
        top="event-driven",
        family="async",
        rules=("high-throughput", "spiky-load", "loss-is-acceptable"),
        supporting=("bounded-queue",),
        not_supporting=("dead-letter-queue",),
    ),
    Scenario(
        id="browser-search-autocomplete",
        data={
            "name": "search autocomplete",
            "caller": "browser",
            "latency_p95_ms": 100,
            "latency_p99_ms": 200,
            "consistency": "eventual",
            "staleness_s": 60,
            "when_dependency_down": "degrade",
            "message_loss_ok": True,
            "chain": [_hop("search", 12, 45)],
            "peak_rps": 800,
            "avg_rps": 300,
        },
        top="rest",
        family="sync",
        rules=("browser-caller", "degrade-when-down"),
        supporting=("timeouts", "circuit-breaker"),
        not_supporting=("dead-letter-queue",),
    ),
    Scenario(
        id="live-price-streaming",
        data={
            "name": "price ticker",
            "caller": "internal",
            "streaming": "server",
            "consistency": "eventual",
            "staleness_s": 1,
            "peak_rps": 5000,
            "avg_rps": 3000,
            "message_loss_ok": True,
            "delivery": "at-most-once",
        },
        top="grpc",
        family="sync",
        rules=("server-streaming", "internal-high-rate-calls"),
    ),
    Scenario(
        id="bulk-email-campaign",
        data={
            "name": "bulk email",
            "caller_waits": False,
            "when_dependency_down": "accept-and-defer",
            "peak_rps": 5000,
            "avg_rps": 50,
            "consumers": 1,
            "staleness_s": 600,
        },
        top="message-queue",
        family="async",
        rules=("caller-does-not-wait", "accept-and-defer", "spiky-load", "no-message-loss"),
        supporting=("bounded-queue", "dead-letter-queue", "retries"),
    ),
    Scenario(
        id="long-sync-chain-blows-budget",
        data={
            "name": "quote calculation",
            "caller": "internal",
            "consistency": "read-your-writes",
            "latency_p95_ms": 150,
            "latency_p99_ms": 250,
            "chain": [
                _hop("pricing", 30, 120),
                _hop("tax", 25, 110),
                _hop("discounts", 20, 90),
                _hop("currency", 15, 70),
                _hop("catalog", 25, 100),
            ],
        },
        # Every hop is needed, so a hybrid would wait for the same five hops as a plain
        # call and a queue cannot give the caller its quote: nothing meets the budget.
        # The nearest miss is the simplest design, with relaxations to choose from.
        top="rest",
        family="sync",
        meets_all=False,
        rules=("chain-over-budget", "long-synchronous-chain"),
        risks=("chain-misses-budget", "tail-latency-amplification", "availability-multiplies"),
        supporting=("timeouts", "circuit-breaker", "tracing"),
    ),
    Scenario(
        id="non-critical-hops-push-past-budget",
        data={
            "name": "signup",
            "caller": "browser",
            "consistency": "read-your-writes",
            "latency_p95_ms": 250,
            "latency_p99_ms": 400,
            "chain": [
                _hop("accounts", 40, 120),
                _hop("crm", 150, 600, critical=False),
                _hop("welcome-email", 80, 400, critical=False),
            ],
            "consumers": 2,
        },
        top="request-event",
        family="hybrid",
        rules=("defer-non-critical-hops", "some-hops-can-wait"),
    ),
    Scenario(
        id="inventory-check-strong-internal",
        data={
            "name": "check and reserve stock",
            "caller": "internal",
            "consistency": "strong",
            "latency_p95_ms": 80,
            "latency_p99_ms": 200,
            "chain": [_hop("inventory", 8, 30)],
            "peak_rps": 1500,
            "avg_rps": 600,
        },
        top="grpc",
        family="sync",
        rules=("caller-waits-for-strong-read", "internal-high-rate-calls"),
        supporting=("timeouts", "retries", "circuit-breaker", "mtls"),
    ),
    Scenario(
        id="public-order-lookup",
        data={
            "name": "get order status",
            "caller": "public-api",
            "consistency": "read-your-writes",
            "chain": [_hop("orders", 12, 50)],
            "peak_rps": 100,
            "avg_rps": 40,
        },
        top="rest",
        family="sync",
        rules=("public-api-caller", "caller-waits-read-your-writes"),
        supporting=("timeouts", "retries"),
    ),
    Scenario(
        id="account-events-ordered-per-entity",
        data={
            "name": "account balance projection",
            "caller_waits": False,
            "ordering": "per-entity",
            "delivery": "effectively-once",
            "consumers": 3,
            "peak_rps": 400,
            "avg_rps": 150,
        },
        top="event-driven",
        family="async",
        rules=("per-entity-ordering", "effectively-once"),
        supporting=("ordering-key", "outbox", "dead-letter-queue"),
        risks=("exactly-once-is-a-design-property",),
    ),
    Scenario(
        id="audit-log-global-order",
        data={
            "name": "audit trail",
            "caller_waits": False,
            "ordering": "global",
            "peak_rps": 3000,
            "avg_rps": 1000,
        },
        top=("message-queue", "event-driven"),
        family="async",
        rules=("global-ordering",),
        supporting=("ordering-key",),
        risks=("single-partition-bottleneck",),
    ),
    Scenario(
        id="telemetry-client-upload-stream",
        data={
            "name": "device telemetry upload",
            "caller": "internal",
            "streaming": "client",
            "message_loss_ok": True,
            "delivery": "at-most-once",
            "peak_rps": 800,
            "avg_rps": 600,
        },
        top="grpc",
        family="sync",
        rules=("client-or-bidirectional-streaming",),
    ),
    Scenario(
        id="chat-bidirectional-from-browser",
        data={
            "name": "support chat",
            "caller": "browser",
            "streaming": "bidirectional",
            "consistency": "eventual",
            "staleness_s": 1,
        },
        top="grpc",
        family="sync",
        rules=("client-or-bidirectional-streaming", "browser-caller"),
        risks=("browser-cannot-stream-grpc",),
    ),
    Scenario(
        id="image-thumbnails-deferred",
        data={
            "name": "thumbnail generation",
            "caller": "internal",
            "caller_waits": False,
            "when_dependency_down": "accept-and-defer",
            "peak_rps": 200,
            "avg_rps": 20,
            "staleness_s": 120,
        },
        top="message-queue",
        family="async",
        rules=("accept-and-defer", "spiky-load"),
        supporting=("bounded-queue", "dead-letter-queue"),
    ),
    Scenario(
        id="high-availability-profile-page",
        data={
            "name": "profile page",
            "caller": "browser",
            "availability": 99.99,
            "consistency": "eventual",
            "staleness_s": 10,
            "chain": [
                _hop("profile", 10, 40),
                _hop("preferences", 8, 30),
                _hop("recommendations", 40, 200, critical=False),
            ],
            "when_dependency_down": "fail-fast",
            "consumers": 1,
        },
        top="request-event",
        family="hybrid",
        rules=("availability-multiplies", "high-availability-target", "some-hops-can-wait"),
        risks=("availability-multiplies",),
    ),
    Scenario(
        id="contradictory-at-most-once",
        data={
            "name": "invoice dispatch",
            "caller_waits": False,
            "delivery": "at-most-once",
            "message_loss_ok": False,
        },
        top="message-queue",
        family="async",
        rules=("at-most-once-but-no-loss",),
        risks=("delivery-contradiction",),
    ),
    Scenario(
        id="strong-distributed-booking",
        data={
            "name": "trip booking",
            "caller": "browser",
            "consistency": "strong",
            "distributed_transaction": True,
            "chain": [_hop("flights", 200, 900), _hop("hotels", 150, 700), _hop("cars", 100, 500)],
            "latency_p95_ms": 2000,
            "latency_p99_ms": 4000,
        },
        top="saga-orchestration",
        family="hybrid",
        rules=("distributed-transaction", "strong-consistency-across-services"),
        risks=("saga-not-isolated", "compensations-can-fail"),
    ),
)
