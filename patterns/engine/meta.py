"""Fixed facts about the patterns the engine ranks: ids, names, families, short trade-offs.

The order of ``PATTERN_ORDER`` breaks score ties, so output is deterministic. The long
catalog texts live in ``patterns/catalog.py``; these short lists are the generic
strengths and weaknesses every recommendation shows after the tailored ones.
"""

from __future__ import annotations

PATTERN_ORDER: tuple[str, ...] = (
    "rest",
    "grpc",
    "request-event",
    "event-driven",
    "message-queue",
    "saga-orchestration",
    "saga-choreography",
)

PATTERN_NAMES: dict[str, str] = {
    "rest": "Synchronous REST over HTTP",
    "grpc": "Synchronous gRPC",
    "request-event": "Request-event hybrid",
    "event-driven": "Event-driven publish/subscribe",
    "message-queue": "Point-to-point message queue",
    "saga-orchestration": "Saga with an orchestrator",
    "saga-choreography": "Saga by choreography",
}

PATTERN_FAMILY: dict[str, str] = {
    "rest": "sync",
    "grpc": "sync",
    "request-event": "hybrid",
    "event-driven": "async",
    "message-queue": "async",
    "saga-orchestration": "hybrid",
    "saga-choreography": "async",
}

FAMILIES: tuple[str, ...] = ("sync", "async", "hybrid")

BASE_STRENGTHS: dict[str, tuple[str, ...]] = {
    "rest": (
        "Familiar to every team and tool; HTTP caching, status codes and headers come free.",
        "Errors surface at once to the caller, with a simple call stack to debug.",
    ),
    "grpc": (
        "Typed contracts from protocol buffers catch breaking changes at build time.",
        "HTTP/2 multiplexing and a compact binary encoding keep per-call overhead low.",
    ),
    "request-event": (
        "The caller waits only for the steps its answer depends on.",
        "Side effects after the answer are decoupled and can fail without hurting the caller.",
    ),
    "event-driven": (
        "New consumers subscribe without any change to the producer.",
        "The producer keeps working while consumers are down; events wait for them.",
    ),
    "message-queue": (
        "Competing consumers share the work and the queue absorbs bursts.",
        "Manual acknowledgement and a dead-letter queue make loss unlikely and visible.",
    ),
    "saga-orchestration": (
        "One coordinator holds the workflow, so its state and progress are easy to see.",
        "Compensations run in a known reverse order when a step fails.",
    ),
    "saga-choreography": (
        "No central coordinator to build, scale or lose.",
        "Each service reacts to events on its own, so teams stay loosely coupled.",
    ),
}

BASE_WEAKNESSES: dict[str, tuple[str, ...]] = {
    "rest": (
        "Latency accumulates along the chain and failures cascade to the caller.",
        "Resource-shaped endpoints fit multi-step domain operations awkwardly.",
    ),
    "grpc": (
        "Needs code generation and protobuf management; binary traffic is harder to inspect.",
        "Browsers cannot call it directly without a proxy such as gRPC-Web.",
    ),
    "request-event": (
        "Two styles to build, operate and trace in one flow.",
        "What happens after the answer is eventually consistent and needs its own monitoring.",
    ),
    "event-driven": (
        "Consumers see the outcome eventually, not at once.",
        "The flow is spread across services; debugging needs event-level tracing.",
    ),
    "message-queue": (
        "The caller gets an acknowledgement, not the result.",
        "Redelivery means duplicates, so consumers must be idempotent.",
    ),
    "saga-orchestration": (
        "The orchestrator can become a bottleneck and a single point of failure.",
        "Compensations can fail too and need retries of their own.",
    ),
    "saga-choreography": (
        "No single place shows the workflow; testing and debugging are harder.",
        "Adding a step means changing which events several services listen to.",
    ),
}

SUPPORTING_ORDER: tuple[str, ...] = (
    "timeouts",
    "retries",
    "circuit-breaker",
    "dead-letter-queue",
    "bounded-queue",
    "ordering-key",
    "outbox",
    "compensations",
    "mtls",
    "tracing",
)

SEVERITIES: tuple[str, ...] = ("high", "medium", "low")


def ms_text(value: float) -> str:
    """Milliseconds for people: "38 ms", "1,400 ms", "0.54 ms"."""
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.2g} ms"


def jsonable(value: object) -> object:
    """Floats rounded for output, so the JSON stays short and stable."""
    if isinstance(value, float):
        return round(value, 3)
    return value
