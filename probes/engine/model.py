"""The engine's inputs and outputs: frozen dataclasses, JSON-able outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from probes.engine.histogram import (
    encode_histogram,
    merge_histograms,
    summarize,
)

ERROR_CLASSES = ("connect", "timeout", "read", "write", "protocol", "4xx", "5xx")
# Probe kinds whose outcomes count deliveries (lost, duplicated, reordered).
BROKER_KINDS = frozenset({"amqp", "redis", "nats", "mqtt"})


class GuardedAddress(Protocol):
    """What the engines need of a checked target (``probes.egress.GuardedTarget``)."""

    # Read-only, so frozen dataclasses match.
    @property
    def scheme(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def address(self) -> str: ...
    @property
    def path_and_query(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """Where and what to send. ``address`` is connected to; ``host`` is sent.

    For ``grpc``/``grpcs`` the path is ``/package.Service/Method`` (``/`` for
    the health check) and the body the request as JSON.
    """

    address: str
    port: int
    host: str
    scheme: str
    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    expected_status: int | None = None
    timeout_s: float = 2.0
    ca_file: str | None = None  # trusted CA for TLS (gRPC); None: the system store

    @classmethod
    def from_guarded(
        cls,
        guarded: GuardedAddress,
        *,
        method: str = "GET",
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes = b"",
        expected_status: int | None = None,
        timeout_s: float = 2.0,
        ca_file: str | None = None,
    ) -> Target:
        """A target from ``probes.egress.GuardedTarget`` (the checked address)."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(
            address=guarded.address,
            port=guarded.port,
            host=guarded.host,
            scheme=guarded.scheme,
            method=method.upper(),
            path=guarded.path_and_query,
            headers=tuple((str(k), str(v)) for k, v in pairs),
            body=body,
            expected_status=expected_status,
            timeout_s=timeout_s,
            ca_file=ca_file,
        )

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class LoadPlan:
    """The whole probe's load; ``shard``/``shards`` pick this run's slice.

    Open model: ``rate`` is the TOTAL arrival rate of all shards; shard ``k``
    of ``n`` sends requests ``k, k+n, k+2n, ...`` of the one global schedule,
    so the shards' merged arrivals are exactly the unsharded schedule.
    ``concurrency`` is the connection pool (split between shards).
    Closed model: ``concurrency`` connections in total, split between shards.
    """

    model: str
    rate: float = 0
    concurrency: int = 1
    duration_s: float = 10
    warmup_s: float = 1
    shard: int = 0
    shards: int = 1

    def __post_init__(self) -> None:
        if self.model not in ("open", "closed"):
            raise ValueError("model must be 'open' or 'closed'")
        if self.model == "open" and self.rate <= 0:
            raise ValueError("the open model needs a rate > 0")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise ValueError("duration must be > 0 and warm-up >= 0")
        if not 0 <= self.shard < self.shards:
            raise ValueError("shard must be in 0 .. shards-1")

    @property
    def shard_concurrency(self) -> int:
        """This shard's share of the connections (at least one)."""
        base, extra = divmod(self.concurrency, self.shards)
        return max(1, base + (1 if self.shard < extra else 0))

    def for_shard(self, shard: int, shards: int) -> LoadPlan:
        return replace(self, shard=shard, shards=shards)


@dataclass(frozen=True)
class Progress:
    percent: float
    sent: int
    completed: int
    errors: int
    p50_ms: float
    p99_ms: float
    elapsed_s: float


@dataclass(frozen=True)
class ProbeOutcome:
    """What one run (or the exact merge of shard runs) measured.

    ``histogram`` is the latency users saw: for the open model it is measured
    from the intended send time (corrected for coordinated omission); for the
    closed model it equals ``service_histogram`` (closed-loop latency).
    ``service_histogram`` is always the time from the actual write to the
    response. Both are encoded HDR histograms (see ``histogram.py``).
    ``per_second`` holds ``{t, rate, p50_ms, p99_ms, errors, histogram}``;
    ``histogram`` there lets shard series merge exactly.

    Broker probes (``kind`` in :data:`BROKER_KINDS`) count one published
    message as a request and its first receipt as a completion: ``histogram``
    is planned send -> receipt, ``service_histogram`` actual publish ->
    receipt, ``confirm_histogram`` publish -> broker confirm (empty where the
    protocol has no confirm), and ``lost``/``duplicates``/``reordered`` count
    measured messages never received, received again, and received after a
    later message of the same key.
    """

    model: str
    requests: int
    completed: int
    errors: dict[str, int]
    status_counts: dict[str, int]
    duration_s: float
    rps: float
    histogram: str
    service_histogram: str
    per_second: list[dict[str, Any]] = field(default_factory=list)
    redirects: list[dict[str, Any]] = field(default_factory=list)
    send_lag_p99_ms: float = 0.0
    late_fraction: float = 0.0
    valid: bool = True
    invalid_reason: str = ""
    stopped: bool = False
    generator_cpu: float = 0.0
    latency_label: str = "corrected"  # "corrected" (open) | "closed-loop"
    kind: str = "http"  # http | grpc | amqp | redis | nats | mqtt
    lost: int = 0
    duplicates: int = 0
    reordered: int = 0
    confirm_histogram: str = ""

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeOutcome:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        return cls(**values)


def summary(outcome: ProbeOutcome) -> dict[str, Any]:
    """The numbers the CLI prints and the Django side stores next to a run.

    Broker outcomes add ``lost``, ``duplicates``, ``reordered``, ``confirm_p50_ms`` and
    ``confirm_p99_ms`` (``None`` when the protocol confirms nothing).
    """
    s = summarize(outcome.histogram)
    out: dict[str, Any] = {
        "requests": outcome.requests,
        "rps": round(outcome.rps, 1),
        "p50_ms": s["p50_ms"],
        "p90_ms": s["p90_ms"],
        "p95_ms": s["p95_ms"],
        "p99_ms": s["p99_ms"],
        "p999_ms": s["p999_ms"],
        "max_ms": s["max_ms"],
        "errors": dict(outcome.errors),
        "valid": outcome.valid,
        "invalid_reason": outcome.invalid_reason,
    }
    if outcome.kind in BROKER_KINDS:
        confirms = summarize(outcome.confirm_histogram)
        out["lost"] = outcome.lost
        out["duplicates"] = outcome.duplicates
        out["reordered"] = outcome.reordered
        out["confirm_p50_ms"] = confirms["p50_ms"] if confirms["count"] else None
        out["confirm_p99_ms"] = confirms["p99_ms"] if confirms["count"] else None
    return out


def merge_outcomes(outcomes: Iterable[ProbeOutcome]) -> ProbeOutcome:
    """Merge shard outcomes exactly.

    Counts add up; histograms merge bucket by bucket (exact, see
    ``histogram.py``); the per-second series are aligned on ``t`` (seconds
    since the start of the measured window, the same clock-free offset for
    every shard) and each second's histogram is merged the same way. The
    merge is valid only if every shard was; the duration is the longest
    shard's, so the merged rate is total completions over that window.
    """
    items = list(outcomes)
    if not items:
        raise ValueError("nothing to merge")
    if len(items) == 1:
        return items[0]
    models = {o.model for o in items}
    if len(models) != 1:
        raise ValueError("cannot merge outcomes of different load models")
    if len({o.kind for o in items}) != 1:
        raise ValueError("cannot merge outcomes of different probe kinds")

    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for o in items:
        for k, v in o.errors.items():
            errors[k] = errors.get(k, 0) + v
        for k, v in o.status_counts.items():
            statuses[k] = statuses.get(k, 0) + v

    by_t: dict[int, list[dict[str, Any]]] = {}
    for o in items:
        for row in o.per_second:
            by_t.setdefault(int(row["t"]), []).append(row)
    per_second = [_merge_second(t, rows) for t, rows in sorted(by_t.items())]

    redirects: list[dict[str, Any]] = []
    for o in items:
        for r in o.redirects:
            if r not in redirects and len(redirects) < MAX_REDIRECTS_KEPT:
                redirects.append(r)

    completed = sum(o.completed for o in items)
    duration = max(o.duration_s for o in items)
    reasons = sorted({o.invalid_reason for o in items if not o.valid and o.invalid_reason})
    requests = sum(o.requests for o in items)
    return ProbeOutcome(
        model=items[0].model,
        requests=requests,
        completed=completed,
        errors=errors,
        status_counts=statuses,
        duration_s=duration,
        rps=completed / duration if duration else 0.0,
        histogram=encode_histogram(merge_histograms(o.histogram for o in items)),
        service_histogram=encode_histogram(merge_histograms(o.service_histogram for o in items)),
        per_second=per_second,
        redirects=redirects,
        send_lag_p99_ms=max(o.send_lag_p99_ms for o in items),
        late_fraction=(
            sum(o.late_fraction * o.requests for o in items) / requests if requests else 0.0
        ),
        valid=all(o.valid for o in items),
        invalid_reason="; ".join(reasons),
        stopped=any(o.stopped for o in items),
        generator_cpu=max(o.generator_cpu for o in items),
        latency_label=items[0].latency_label,
        kind=items[0].kind,
        lost=sum(o.lost for o in items),
        duplicates=sum(o.duplicates for o in items),
        reordered=sum(o.reordered for o in items),
        confirm_histogram=(
            encode_histogram(merge_histograms(o.confirm_histogram for o in items))
            if any(o.confirm_histogram for o in items)
            else ""
        ),
    )


MAX_REDIRECTS_KEPT = 20


def _merge_second(t: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    h = merge_histograms(r.get("histogram", "") for r in rows)
    s = summarize(h)
    return {
        "t": t,
        "rate": sum(r["rate"] for r in rows),
        "p50_ms": s["p50_ms"],
        "p99_ms": s["p99_ms"],
        "errors": sum(r["errors"] for r in rows),
        "histogram": encode_histogram(h),
    }
