"""What a use case states, and how a JSON-like dict becomes a validated ``UseCaseInput``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

CHOICES: dict[str, tuple[str, ...]] = {
    "caller": ("browser", "public-api", "internal"),
    "consistency": ("strong", "read-your-writes", "eventual"),
    "when_dependency_down": ("fail-fast", "degrade", "accept-and-defer"),
    "ordering": ("none", "per-entity", "global"),
    "delivery": ("at-most-once", "at-least-once", "effectively-once"),
    "streaming": ("none", "server", "client", "bidirectional"),
    "operation": ("read", "write"),
}

# What a hop means to the caller; see FIELD_HELP["role"].
HOP_ROLES: tuple[str, ...] = ("needed", "confirm", "side-effect")

# Input limits. Names and services match the database columns that store them; the
# chain length and the p99/p50 spread are where the chain estimate is tested against
# Monte Carlo (tests/patterns/test_chain_estimate.py).
MAX_HOPS = 64
MAX_NAME_CHARS = 120
MAX_SERVICE_CHARS = 80
MAX_DESCRIPTION_CHARS = 10_000
MAX_HOP_SPREAD = 20.0
# name -> (lowest, highest) accepted, inclusive.
NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "latency_p95_ms": (0.0, 3_600_000.0),
    "latency_p99_ms": (0.0, 3_600_000.0),
    "staleness_s": (0.0, 31_536_000.0),
    "availability": (0.0, 100.0),
    "peak_rps": (0.0, 10_000_000.0),
    "avg_rps": (0.0, 10_000_000.0),
    "consumers": (0.0, 1000.0),
    "p50_ms": (0.01, 3_600_000.0),
    "p99_ms": (0.01, 3_600_000.0),
    "hop_availability": (0.0, 100.0),
}

FIELD_HELP: dict[str, str] = {
    "name": "A short label for the use case, such as 'place order' or 'price ticker'.",
    "description": "What the operation does and for whom; carried into the ADR's context.",
    "operation": (
        "Whether the operation changes data (write) or only reads it. A plain read has no "
        "side effect to hand off, so a broker in front of it is cost without benefit."
    ),
    "long_running": (
        "Whether the workflow waits for a person or runs for minutes or longer. Nobody "
        "can hold a synchronous call open that long; its state must be kept somewhere."
    ),
    "caller": (
        "Who starts the interaction. Browsers and outside clients need plain HTTP; "
        "internal services can use binary protocols such as gRPC."
    ),
    "caller_waits": (
        "Whether the caller needs the result before it can go on. If nobody waits, "
        "the work can be queued and finished later, which decouples the services."
    ),
    "latency_p95_ms": (
        "The response time 95 of 100 requests must beat. Every synchronous hop "
        "eats into this budget."
    ),
    "latency_p99_ms": (
        "The response time 99 of 100 requests must beat. Tail latency grows with "
        "each hop, so long chains miss this one first."
    ),
    "consistency": (
        "How fresh the data the caller sees must be. Strong consistency needs the "
        "answer from the owner now; eventual consistency lets copies catch up later."
    ),
    "staleness_s": (
        "With eventual consistency, how many seconds a reader may lag behind a write. "
        "Small values leave little room for queues and consumer lag."
    ),
    "availability": (
        "The availability target in percent. Synchronous dependencies multiply: "
        "five services at 99.9% give about 99.5% together."
    ),
    "when_dependency_down": (
        "What must happen when a service this use case needs is down: fail at once, "
        "serve a reduced answer, or accept the request and finish it later."
    ),
    "message_loss_ok": (
        "Whether losing an occasional message is acceptable. If not, messages need "
        "durable queues, manual acknowledgement and a dead-letter queue."
    ),
    "chain": (
        "The services called, in order, with their typical (p50) and tail (p99) "
        "latency, what the caller needs from each (its role) and, if known, its "
        "availability."
    ),
    "role": (
        "What the caller needs from this hop. Needed: the answer uses its data. Confirm: "
        "a write the caller must see confirmed. Side effect: notifications, analytics, "
        "anything the caller does not need now, which can run after the answer."
    ),
    "hop_availability": (
        "This dependency's availability in percent, if known: its SLO, or its uptime over "
        "the last quarter. Every dependency the caller waits for multiplies into the "
        "caller's own availability; a probe's error rate can replace the stated figure."
    ),
    "peak_rps": (
        "Requests per second at the busiest moment. Sharp peaks over the average "
        "favour a buffer between producer and consumer."
    ),
    "avg_rps": "Requests per second on an ordinary day, used to judge how spiky the load is.",
    "consumers": (
        "How many services care about the outcome. More than a couple favours "
        "publishing an event over calling each one."
    ),
    "distributed_transaction": (
        "Whether the operation changes data owned by several services and must be "
        "all-or-nothing. That calls for a saga with compensating actions."
    ),
    "ordering": (
        "Whether messages must be processed in order: not at all, per entity "
        "(e.g. per order id), or globally across everything."
    ),
    "delivery": (
        "The delivery guarantee needed. Effectively-once means at-least-once delivery "
        "made harmless by idempotent consumers."
    ),
    "streaming": (
        "Whether data flows as a stream: pushed by the server, sent by the client, or "
        "both ways at once. Streams favour gRPC or a broker over request-response."
    ),
    "broker_service": (
        "The service name of the broker that carries the asynchronous half (events, "
        "queued work), if there is one. A probe of a broker endpoint with this name "
        "measures delivery and publish-confirm latency, losses and duplicates, and the "
        "asynchronous options are judged by those numbers."
    ),
}


@dataclass(frozen=True)
class Hop:
    """One service the use case calls: its stated latency, role and availability.

    ``role`` says what the caller needs from the hop (``HOP_ROLES``). Older data knows only
    ``critical``, so an empty role is derived from it (critical -> needed, otherwise
    side-effect); a given role sets ``critical`` (anything but a side effect is critical),
    so the two never disagree.
    """

    service: str
    p50_ms: float
    p99_ms: float
    critical: bool = True
    role: str = ""
    availability: float | None = None  # percent; None when not stated

    def __post_init__(self) -> None:
        if not self.role:
            object.__setattr__(self, "role", "needed" if self.critical else "side-effect")
        else:
            object.__setattr__(self, "critical", self.role != "side-effect")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UseCaseInput:
    """Everything a use case states about its needs. Defaults make a short questionnaire."""

    name: str = ""
    description: str = ""
    operation: str = "write"
    long_running: bool = False
    caller: str = "internal"
    caller_waits: bool = True
    latency_p95_ms: float = 300
    latency_p99_ms: float = 800
    consistency: str = "eventual"
    staleness_s: float = 5
    availability: float = 99.9
    when_dependency_down: str = "fail-fast"
    message_loss_ok: bool = False
    chain: tuple[Hop, ...] = ()
    peak_rps: float = 50
    avg_rps: float = 10
    consumers: int = 1
    distributed_transaction: bool = False
    ordering: str = "none"
    delivery: str = "at-least-once"
    streaming: str = "none"
    broker_service: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, accepted back by ``parse_input``."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["chain"] = [hop.to_dict() for hop in self.chain]
        return data


class InputError(Exception):
    """Raised by ``parse_input`` with every problem found, keyed by field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in self.errors.items()))


_STR_FIELDS: dict[str, int] = {
    "name": MAX_NAME_CHARS,
    "description": MAX_DESCRIPTION_CHARS,
    "broker_service": MAX_SERVICE_CHARS,
}
_BOOL_FIELDS = ("caller_waits", "message_loss_ok", "distributed_transaction", "long_running")
_FLOAT_FIELDS = (
    "latency_p95_ms",
    "latency_p99_ms",
    "staleness_s",
    "availability",
    "peak_rps",
    "avg_rps",
)
_INT_FIELDS = ("consumers",)
_HOP_FIELDS = ("service", "p50_ms", "p99_ms", "critical", "role", "availability")
_DEFAULTS = UseCaseInput()
_KNOWN = tuple(f.name for f in fields(UseCaseInput))


def _number(value: Any) -> float | None:
    """The value as a finite float, or None. Booleans are not numbers here.

    Integers too large for a float (a 400-digit literal) are refused here rather than
    raising OverflowError in ``float()``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > 10**18:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(number: float) -> str:
    return f"{int(number):,}" if number == int(number) else f"{number:g}"


def _ranged(value: Any, limits: str, *, exclusive: bool = False) -> tuple[float | None, str]:
    """The value as a number within ``NUMBER_RANGES[limits]``, or None and the message."""
    low, high = NUMBER_RANGES[limits]
    number = _number(value)
    if exclusive:
        wanted = f"must be a number between {_plain(low)} and {_plain(high)} (exclusive)"
        ok = number is not None and low < number < high
    else:
        wanted = f"must be a number from {_plain(low)} to {_plain(high)}"
        ok = number is not None and low <= number <= high
    return (number, "") if ok else (None, wanted)


def _parse_hop(index: int, raw: Any, errors: dict[str, str]) -> Hop | None:
    prefix = f"chain[{index}]"
    if not isinstance(raw, Mapping):
        errors[prefix] = "must be an object with service, p50_ms, p99_ms and optional role"
        return None
    found: dict[str, str] = {}
    for key in raw:
        if key not in _HOP_FIELDS:
            found[f"{prefix}.{key}"] = "unknown field; allowed: " + ", ".join(_HOP_FIELDS)
    service = raw.get("service")
    if not isinstance(service, str) or not service.strip():
        found[f"{prefix}.service"] = "must be a non-empty string"
    elif len(service.strip()) > MAX_SERVICE_CHARS:
        found[f"{prefix}.service"] = f"must be at most {MAX_SERVICE_CHARS} characters"
    p50, p50_error = _ranged(raw.get("p50_ms"), "p50_ms")
    p99, p99_error = _ranged(raw.get("p99_ms"), "p99_ms")
    if p50 is None:
        found[f"{prefix}.p50_ms"] = p50_error
    if p99 is None:
        found[f"{prefix}.p99_ms"] = p99_error + ", and >= p50_ms"
    elif p50 is not None and p99 < p50:
        found[f"{prefix}.p99_ms"] = "must be >= p50_ms"
    elif p50 is not None and p99 > p50 * MAX_HOP_SPREAD:
        found[f"{prefix}.p99_ms"] = (
            f"must be at most {MAX_HOP_SPREAD:g} times p50_ms (the spread the chain "
            "estimate is checked for)"
        )
    critical = raw.get("critical", True)
    if not isinstance(critical, bool):
        found[f"{prefix}.critical"] = "must be true or false"
    role = raw.get("role", "")
    if role != "" and role not in HOP_ROLES:
        found[f"{prefix}.role"] = "must be one of " + ", ".join(HOP_ROLES)
    elif role and "critical" in raw and critical != (role != "side-effect"):
        found[f"{prefix}.critical"] = f"contradicts role {role!r}; give one or the other"
    availability: float | None = None
    if raw.get("availability") is not None:
        availability, message = _ranged(raw["availability"], "hop_availability")
        if availability is None or availability <= 0:
            found[f"{prefix}.availability"] = (
                "must be a percentage above 0 and at most 100, or null when not known"
            )
    if found:
        errors.update(found)
        return None
    assert isinstance(service, str) and p50 is not None and p99 is not None
    return Hop(
        service=service.strip(),
        p50_ms=p50,
        p99_ms=p99,
        critical=critical if isinstance(critical, bool) else True,
        role=role if isinstance(role, str) else "",
        availability=availability,
    )


def parse_input(data: Mapping[str, Any]) -> UseCaseInput:
    """Validate a JSON-like mapping into a ``UseCaseInput``.

    Missing fields take their defaults; unknown fields, wrong types and out-of-range
    values are errors. All errors are collected before ``InputError`` is raised, so a
    form or a command line can show them all at once.
    """
    if not isinstance(data, Mapping):
        raise InputError({"input": "must be a JSON object with use case fields"})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in _KNOWN:
            errors[str(key)] = "unknown field; allowed: " + ", ".join(_KNOWN)

    for key, longest in _STR_FIELDS.items():
        if key in data:
            if not isinstance(data[key], str):
                errors[key] = "must be a string"
            elif len(data[key]) > longest:
                errors[key] = f"must be at most {longest:,} characters"
            else:
                values[key] = data[key].strip() if key == "broker_service" else data[key]
    for key, allowed in CHOICES.items():
        if key in data:
            if isinstance(data[key], str) and data[key] in allowed:
                values[key] = data[key]
            else:
                errors[key] = "must be one of " + ", ".join(allowed)
    for key in _BOOL_FIELDS:
        if key in data:
            if isinstance(data[key], bool):
                values[key] = data[key]
            else:
                errors[key] = "must be true or false"
    for key in _FLOAT_FIELDS:
        if key in data:
            number, message = _ranged(data[key], key, exclusive=key == "availability")
            if number is None:
                errors[key] = message
            else:
                values[key] = number
    for key in _INT_FIELDS:
        if key in data:
            number, message = _ranged(data[key], key)
            if number is None or number != int(number):
                errors[key] = "must be a whole number " + message.removeprefix("must be a number ")
            else:
                values[key] = int(number)

    if "chain" in data:
        raw_chain = data["chain"]
        if not isinstance(raw_chain, list | tuple):
            errors["chain"] = "must be a list of hops {service, p50_ms, p99_ms, role}"
        elif len(raw_chain) > MAX_HOPS:
            errors["chain"] = f"must have at most {MAX_HOPS} hops (it has {len(raw_chain)})"
        else:
            hops = [_parse_hop(i, raw, errors) for i, raw in enumerate(raw_chain)]
            values["chain"] = tuple(hop for hop in hops if hop is not None)

    p95 = values.get("latency_p95_ms", _DEFAULTS.latency_p95_ms)
    p99 = values.get("latency_p99_ms", _DEFAULTS.latency_p99_ms)
    if "latency_p95_ms" not in errors and "latency_p99_ms" not in errors and p99 < p95:
        errors["latency_p99_ms"] = "must be >= latency_p95_ms"
    peak = values.get("peak_rps", _DEFAULTS.peak_rps)
    avg = values.get("avg_rps", _DEFAULTS.avg_rps)
    if "peak_rps" not in errors and "avg_rps" not in errors and peak < avg:
        errors["peak_rps"] = "must be >= avg_rps"

    broker = values.get("broker_service", "")
    if broker and any(hop.service == broker for hop in values.get("chain", ())):
        errors["broker_service"] = (
            "must differ from the chain's services: a hop is a call the caller makes, the "
            "broker carries what runs after it"
        )

    if errors:
        raise InputError(errors)
    return UseCaseInput(**values)
