"""Real engine outcomes for view and evidence tests, measured once per session."""

from __future__ import annotations

import functools

from probes.egress import guard_target, parse_allow_list
from probes.engine import LoadPlan, Target, run_probe_sync
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
