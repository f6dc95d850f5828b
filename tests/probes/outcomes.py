"""Real engine outcomes for view and evidence tests, measured once per session."""

from __future__ import annotations

import functools

from probes.egress import guard_target, parse_allow_list
from probes.engine import (
    LoadPlan,
    ProbeOutcome,
    Target,
    encode_histogram,
    new_histogram,
    run_probe_sync,
)
from tests.probes.servers import Behaviour, running

# What a probe's summary holds, in the engine's dict and in ``manage.py probe``'s output.
SUMMARY_KEYS = {
    "requests",
    "rps",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "errors",
    "valid",
    "invalid_reason",
}


@functools.cache
def measured_outcome(error_every: int = 5, redirect_to: str | None = None) -> dict:
    """A short open-model probe of a local server (every Nth answer a 500), as a dict."""
    behaviour = Behaviour(delay_ms=1, error_every=error_every, redirect_to=redirect_to)
    with running(behaviour) as server:
        guarded = guard_target(server.url + "/x", allow=parse_allow_list("127.0.0.0/8"))
        plan = LoadPlan(model="open", rate=60, concurrency=4, duration_s=1.0, warmup_s=0.1)
        return run_probe_sync(Target.from_guarded(guarded), plan).to_dict()


def delivery_outcome(*, lost: int = 0, duplicates: int = 0, reordered: int = 0) -> dict:
    """What a Redis Streams probe of 1,000 messages leaves: 2-40 ms delivery, 1-9 ms confirms."""
    delivery, confirms = new_histogram(), new_histogram()
    for i in range(1_000):
        delivery.record_value(2_000 + 38 * i)
        confirms.record_value(1_000 + 8 * i)
    return ProbeOutcome(
        model="open",
        requests=1_000,
        completed=1_000 - lost,
        errors={},
        status_counts={},
        duration_s=2.0,
        rps=500.0,
        histogram=encode_histogram(delivery),
        service_histogram=encode_histogram(delivery),
        kind="redis",
        lost=lost,
        duplicates=duplicates,
        reordered=reordered,
        confirm_histogram=encode_histogram(confirms),
    ).to_dict()
