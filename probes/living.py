"""Re-measuring for living decisions: scheduled checks start probes here, through the seam.

Registered with ``decisions.evidence`` in ``ProbesConfig.ready()``, so a check goes
through ``probe_start`` like a person's probe: the same caps, egress guard, ownership
proof (a facilitator's confirmation for a broker) and per-team running cap, and the
same engine and self-check. A hop is measured on a call endpoint (HTTP or gRPC) of its
service, staleness on a broker endpoint, never the other way round.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from decisions.evidence import BROKER, CALL, EndpointKind, Measurement, Remeasurer
from probes.egress import EgressRefused, GuardedTarget, guard_target
from probes.models import (
    ACTIVE,
    BROKER_KINDS,
    CALL_KINDS,
    Endpoint,
    JobStatus,
    LoadModel,
    ProbeRun,
)
from probes.selectors import latest_valid_runs
from probes.services.preconditions import ProbeRefused
from probes.services.runs import RunRequest, probe_start

KINDS: dict[EndpointKind, tuple[str, ...]] = {
    CALL: CALL_KINDS,
    BROKER: tuple(BROKER_KINDS),
}


def _endpoints(team_id: int, service: str, kind: EndpointKind) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(team_id=team_id, service=service, kind__in=KINDS[kind])


def _link(run: ProbeRun) -> str:
    return reverse("probes:run-detail", args=[run.team.slug, run.pk])


def _measurement(run: ProbeRun) -> Measurement:
    if run.status in ACTIVE:
        return Measurement(state="running", run_id=run.pk, link=_link(run))
    s = run.summary or {}
    if run.status != JobStatus.SUCCEEDED or not s.get("requests"):
        return Measurement(
            state="failed",
            run_id=run.pk,
            link=_link(run),
            reason=run.error or f"the probe ended {run.get_status_display().lower()}",
            measured_at=run.finished_at,
        )
    requests = s["requests"]
    errors = sum((s.get("errors") or {}).values())
    return Measurement(
        state="done",
        run_id=run.pk,
        link=_link(run),
        valid=bool(run.valid),
        reason=run.invalid_reason,
        p50_ms=s.get("p50_ms"),
        p95_ms=s.get("p95_ms"),
        p99_ms=s.get("p99_ms"),
        success_pct=100.0 * (requests - errors) / requests,
        rps=s.get("rps"),
        measured_at=run.finished_at,
        requests=requests,
        lost=s.get("lost"),  # a broker's summary counts deliveries; a call's has no "lost"
        duplicates=s.get("duplicates"),
    )


class ProbeRemeasurer(Remeasurer):
    def has_endpoint(self, team_id: int, service: str, *, kind: EndpointKind) -> bool:
        return bool(service) and _endpoints(team_id, service, kind).exists()

    def team_busy(self, team_id: int) -> bool:
        return ProbeRun.objects.filter(team_id=team_id, status__in=ACTIVE).exists()

    def start(
        self, *, team_id: int, service: str, kind: EndpointKind, rate: float, duration_s: float
    ) -> Measurement:
        endpoint = (
            _endpoints(team_id, service, kind).select_related("team").order_by("name").first()
        )
        if endpoint is None:
            what = "broker endpoint" if kind == BROKER else "HTTP or gRPC endpoint"
            return Measurement(state="refused", reason=f"no {what} is registered for {service}")
        # The request the run form makes for a person's probe: the open model at the
        # check's rate. A broker's "connections" are messages in flight (published, not
        # yet consumed), so the same number allows a second's worth of them too.
        request = RunRequest(
            model=LoadModel.OPEN,
            rate=rate,
            # Enough connections for the rate at a one-second answer, within the cap.
            concurrency=max(4, min(settings.PROBE_MAX_CONCURRENCY, math.ceil(rate))),
            duration_s=duration_s,
            warmup_s=min(1.0, duration_s / 5),
            shards=1,
        )
        try:
            run = probe_start(endpoint=endpoint, request=request, by=None)
        except ProbeRefused as exc:
            if self.team_busy(team_id):
                return Measurement(state="busy", reason=exc.reason)
            return Measurement(state="refused", reason=exc.reason)
        return _measurement(run)

    def result(self, run_id: int) -> Measurement:
        run = ProbeRun.objects.select_related("team").filter(pk=run_id).first()
        if run is None:
            return Measurement(state="failed", reason=f"probe #{run_id} no longer exists")
        return _measurement(run)

    def latest(self, team_id: int, service: str, *, kind: EndpointKind) -> Measurement | None:
        runs = latest_valid_runs(team_id=team_id, services=[service], kinds=KINDS[kind])
        run = runs.get(service)
        return _measurement(run) if run is not None else None


def guard_webhook_url(url: str) -> GuardedTarget:
    """The probes' egress guard for an outgoing webhook; ValueError with the reason."""
    try:
        return guard_target(url, allow=settings.PROBE_ALLOW)
    except EgressRefused as exc:
        raise ValueError(exc.reason) from exc
