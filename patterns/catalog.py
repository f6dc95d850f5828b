"""The pattern catalog: what each communication pattern is, when it fits, how to set it up.

Plain data (no ORM), shared by the catalog pages and anything that wants to show a
pattern's long description. Ids, names and families come from the engine so the two
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from patterns.engine.meta import (
    BASE_STRENGTHS,
    BASE_WEAKNESSES,
    PATTERN_FAMILY,
    PATTERN_NAMES,
    PATTERN_ORDER,
)

FAMILY_NAMES: dict[str, str] = {
    "sync": "Synchronous",
    "async": "Asynchronous",
    "hybrid": "Hybrid",
}


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Pattern:
    id: str
    name: str
    family: str
    summary: str
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    use_when: tuple[str, ...]
    avoid_when: tuple[str, ...]
    settings: tuple[Setting, ...]

    @property
    def family_name(self) -> str:
        return FAMILY_NAMES[self.family]


def _pattern(
    pattern_id: str,
    *,
    summary: str,
    strengths: tuple[str, ...] = (),
    weaknesses: tuple[str, ...] = (),
    use_when: tuple[str, ...],
    avoid_when: tuple[str, ...],
    settings: tuple[Setting, ...],
) -> Pattern:
    return Pattern(
        id=pattern_id,
        name=PATTERN_NAMES[pattern_id],
        family=PATTERN_FAMILY[pattern_id],
        summary=summary,
        strengths=BASE_STRENGTHS[pattern_id] + strengths,
        weaknesses=BASE_WEAKNESSES[pattern_id] + weaknesses,
        use_when=use_when,
        avoid_when=avoid_when,
        settings=settings,
    )


_PATTERNS = (
    _pattern(
        "rest",
        summary=(
            "The caller sends an HTTP request to a resource and blocks until the answer or "
            "a timeout. The default for anything a person or an outside client waits on."
        ),
        strengths=(
            "Backpressure is automatic: a slow service makes its callers wait, so trouble "
            "is visible at once.",
        ),
        weaknesses=(
            "HTTP/1.1 suffers head-of-line blocking; HTTP/2 helps at the cost of complexity.",
            "Temporal coupling: the callee must be up at the moment of the call.",
        ),
        use_when=(
            "A user or an outside client waits for the result.",
            "The caller needs current data from the service that owns it.",
            "Validation that must succeed or fail before anything else happens.",
            "Browsers or public API consumers call the service.",
        ),
        avoid_when=(
            "Several services must react to one change (use events).",
            "The chain of calls is long enough to miss the latency budget.",
            "Nobody waits for the result, or load arrives in sharp bursts.",
        ),
        settings=(
            Setting("Timeout, writes", "about 5 s", "or less: derive it from the latency budget"),
            Setting("Timeout, reads", "about 2 s"),
            Setting(
                "Retries",
                "at most 3 attempts, exponential backoff",
                "on 503, 504 and connection errors only",
            ),
            Setting("Idempotency", "required for PUT and retried POST", "key in a header"),
            Setting("Client caching of GETs", "30 s TTL", "invalidate on PUT and DELETE"),
        ),
    ),
    _pattern(
        "grpc",
        summary=(
            "Remote procedure calls over HTTP/2 with contracts written in protocol buffers. "
            "Built for service-to-service traffic, including streams in either direction."
        ),
        strengths=(
            "Server, client and bidirectional streaming on one connection.",
            "Deadlines propagate through the call chain.",
        ),
        weaknesses=("Needs understanding of HTTP/2 behaviour to operate well.",),
        use_when=(
            "Internal services call each other at high rates.",
            "Data arrives or leaves as a stream (price ticks, bulk uploads, live updates).",
            "Many teams share contracts that must not drift.",
        ),
        avoid_when=(
            "Browsers call the service directly (needs a gRPC-Web proxy).",
            "Outside clients expect plain HTTP and JSON.",
            "The team cannot maintain protobuf code generation.",
        ),
        settings=(
            Setting("Deadline", "about 5 s per call", "derived from the caller's budget"),
            Setting("Retries", "3 attempts, 100 ms initial backoff, 10 s max"),
            Setting("Stream keepalive", "30 s"),
        ),
    ),
    _pattern(
        "request-event",
        summary=(
            "A synchronous request does only what the answer depends on (validate, reserve, "
            "record) and returns; an event then triggers everything else (payment capture, "
            "notifications, analytics) asynchronously."
        ),
        strengths=("User-perceived latency covers the critical path only.",),
        weaknesses=("The caller must understand that some effects happen moments later.",),
        use_when=(
            "The caller needs an immediate answer, but only part of the work decides it.",
            "Several services react to the outcome after the answer.",
            "A full synchronous chain would miss the latency budget.",
        ),
        avoid_when=(
            "Every step must finish before the answer is meaningful.",
            "The flow is so small that two styles are more overhead than help.",
        ),
        settings=(
            Setting("Synchronous phase", "validate, reserve, record, return an id"),
            Setting("Asynchronous phase", "emit the event, then payment, notifications, analytics"),
            Setting(
                "Event publication",
                "transactional outbox",
                "so the event is not lost after the record commits",
            ),
            Setting("Timeouts", "only on the synchronous hops, from the budget"),
        ),
    ),
    _pattern(
        "event-driven",
        summary=(
            "A service publishes facts about what happened (OrderCreated); any number of "
            "services subscribe and decide for themselves how to react. The producer does "
            "not know its consumers."
        ),
        strengths=("Scales well: more consumers do not load the producer.",),
        weaknesses=(
            "Ordering holds only per partition; events for one entity need a key.",
            "Schemas are a contract: version them and keep old consumers working.",
        ),
        use_when=(
            "Several services care about one change (notifications, analytics, search).",
            "Data must be synchronised to other services, and a short delay is fine.",
            "High throughput with horizontally scaled consumers.",
        ),
        avoid_when=(
            "The caller needs the consumers' result now.",
            "Strict global ordering across all events is required.",
        ),
        settings=(
            Setting("Delivery", "at-least-once", "consumers must be idempotent"),
            Setting("Ordering", "per partition", "partition by the entity id"),
            Setting("Schema version", "in every event, e.g. v1.2.0"),
            Setting("Tracing", "event id and trace context in headers"),
        ),
    ),
    _pattern(
        "message-queue",
        summary=(
            "Point-to-point work distribution: producers put commands on a durable queue; "
            "competing consumers take them one at a time and acknowledge when done."
        ),
        strengths=("Buffers spikes, protecting the services downstream.",),
        weaknesses=(
            "Auto-ack is faster but can lose messages; manual ack needs careful error "
            "handling to avoid endless redelivery.",
            "Without a bound, a backlog grows until memory or disk runs out.",
        ),
        use_when=(
            "Background work nobody waits for (emails, reports, image processing).",
            "Load arrives in bursts well above the average.",
            "Work must survive a consumer or dependency outage.",
        ),
        avoid_when=(
            "Several different services must each see every message (use events).",
            "The caller needs the result within the request.",
        ),
        settings=(
            Setting("Durability", "persistent queues and messages"),
            Setting("Acknowledgement", "manual, after the work commits"),
            Setting("Prefetch", "10 for heavy work, about 100 for light, fast work"),
            Setting(
                "Max length",
                "bounded, e.g. 10,000 to 50,000",
                "decide what happens when full: reject, block or spill to disk",
            ),
            Setting("Message TTL", "24 to 48 h"),
            Setting("Retries", "3 attempts, then the dead-letter queue"),
        ),
    ),
    _pattern(
        "saga-orchestration",
        summary=(
            "A coordinator runs a distributed transaction as a series of local steps in "
            "different services, and on failure runs the completed steps' compensations in "
            "reverse order."
        ),
        strengths=("Easy to change the workflow: it lives in one place.",),
        weaknesses=("Only eventually consistent: other readers see intermediate states.",),
        use_when=(
            "An operation changes data owned by several services and must not stay half done.",
            "Many steps, or the progress must be visible and reportable.",
        ),
        avoid_when=(
            "Strong isolation across services is required (keep the data together).",
            "Only one service's data changes.",
        ),
        settings=(
            Setting("Step timeouts", "5 s reserve, 10 s payment, 5 s shipping (example)"),
            Setting("Compensations", "one per step (release, refund, cancel), run in reverse"),
            Setting("Failure strategy", "backward recovery: compensate completed steps"),
            Setting("Saga state", "persisted, keyed by saga id"),
        ),
    ),
    _pattern(
        "saga-choreography",
        summary=(
            "A distributed transaction without a coordinator: each service does its local "
            "step when it sees the previous step's event, and emits its own; failures are "
            "undone by compensating events."
        ),
        strengths=("Adding a reaction does not touch the services already in the flow.",),
        weaknesses=("Cyclic event dependencies creep in as the flow grows.",),
        use_when=(
            "A distributed transaction with few steps (two or three).",
            "Teams want to own their steps without a shared coordinator.",
        ),
        avoid_when=(
            "Many steps or frequent workflow changes (use an orchestrator).",
            "Someone needs to see at a glance where each transaction stands.",
        ),
        settings=(
            Setting("Events", "one per completed step (PaymentProcessed, InventoryAllocated, ...)"),
            Setting("Compensating events", "one per step that can be undone"),
            Setting("Correlation", "saga id in every event"),
            Setting("Publication", "transactional outbox per service"),
        ),
    ),
)

PATTERNS: dict[str, Pattern] = {pattern.id: pattern for pattern in _PATTERNS}
assert tuple(PATTERNS) == PATTERN_ORDER


def pattern_list() -> tuple[Pattern, ...]:
    """All patterns in the engine's fixed order."""
    return tuple(PATTERNS[pattern_id] for pattern_id in PATTERN_ORDER)


def pattern_get(pattern_id: str) -> Pattern | None:
    return PATTERNS.get(pattern_id)
