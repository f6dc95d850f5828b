"""Reads for probes: lists, the evidence the engine uses, verdicts, the allow-list note."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse

from decisions.evidence import HopEvidenceRow
from decisions.models import ChainHop, Team, UseCase
from patterns.engine import HopEvidence, chain_estimate
from probes.models import BROKER_KINDS, CALL_KINDS, Endpoint, JobStatus, ProbeRun


def endpoint_list(*, team: Team, archived: bool = False) -> QuerySet[Endpoint]:
    """The team's endpoints in use (or the archived ones), each annotated with
    ``latest_run_id`` (any status); a page of them gets its runs with
    ``attach_latest_runs``."""
    newest = ProbeRun.objects.filter(endpoint=OuterRef("pk")).order_by("-created", "-pk")
    return (
        Endpoint.objects.filter(team=team, archived_at__isnull=not archived)
        .select_related("team")
        .annotate(latest_run_id=Subquery(newest.values("pk")[:1]))
        .order_by("name", "pk")
    )


def attach_latest_runs(endpoints: Iterable[Endpoint]) -> None:
    """Set ``latest_run`` on each endpoint of a page, in one query for the page."""
    endpoints = list(endpoints)
    # ``latest_run_id`` is the annotation endpoint_list adds, not a column.
    latest = {e.pk: getattr(e, "latest_run_id", None) for e in endpoints}
    runs = ProbeRun.objects.select_related("team").in_bulk([i for i in latest.values() if i])
    for endpoint in endpoints:
        run_id = latest[endpoint.pk]
        endpoint.latest_run = runs.get(run_id) if run_id else None


def run_list(*, team: Team, endpoint: Endpoint | None = None) -> QuerySet[ProbeRun]:
    runs = ProbeRun.objects.filter(team=team).select_related("team", "endpoint", "created_by")
    if endpoint is not None:
        runs = runs.filter(endpoint=endpoint)
    return runs


def latest_valid_runs(
    *, team_id: int, services: Iterable[str], kinds: Iterable[str] | None = None
) -> dict[str, ProbeRun]:
    """Per service name: the newest finished, valid probe of an endpoint linked to it
    (of one of ``kinds`` only, when given)."""
    names = [name for name in set(services) if name]
    found: dict[str, ProbeRun] = {}
    if not names:
        return found
    runs = ProbeRun.objects.filter(
        team_id=team_id,
        endpoint__service__in=names,
        status=JobStatus.SUCCEEDED,
        valid=True,
        summary__isnull=False,
    )
    if kinds is not None:
        runs = runs.filter(endpoint__kind__in=list(kinds))
    runs = runs.select_related("endpoint").order_by("-finished_at", "-pk")
    for run in runs:
        found.setdefault(run.endpoint.service, run)
        if len(found) == len(names):
            break
    return found


def evidence_from_run(run: ProbeRun) -> HopEvidence:
    """Latency and success counts of a run: every request sent in the window counts, and
    one that ended in an error of any kind (connect, timeout, status, protocol) failed.
    The engine turns the counts into the lower bound of a 95% Wilson interval."""
    s = run.summary or {}
    when = run.finished_at.strftime("%Y-%m-%d %H:%M") if run.finished_at else ""
    samples = int(s.get("requests") or 0)
    errors = s.get("errors") or {}
    failed = sum(errors.values()) if isinstance(errors, dict) else int(errors)
    source = f"probe #{run.pk} of {run.endpoint.name}, {when} UTC".strip()
    if run.endpoint.kind in BROKER_KINDS:
        # Delivery: a message counts as delivered when the consumer received it.
        lost = int(s.get("lost") or 0)
        return HopEvidence(
            p50_ms=float(s.get("p50_ms", 0.0)),
            p99_ms=float(s.get("p99_ms", 0.0)),
            source=source,
            samples=samples,
            successes=max(0, samples - failed - lost),
            kind="broker",
            rate_per_s=float(s.get("rps") or 0.0),
            confirm_p50_ms=_number_or_none(s.get("confirm_p50_ms")),
            confirm_p99_ms=_number_or_none(s.get("confirm_p99_ms")),
            lost=lost,
            duplicates=int(s.get("duplicates") or 0),
            reordered=int(s.get("reordered") or 0),
        )
    return HopEvidence(
        p50_ms=float(s.get("p50_ms", 0.0)),
        p99_ms=float(s.get("p99_ms", 0.0)),
        source=source,
        samples=samples,
        successes=max(0, samples - failed),
    )


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def measured_evidence(team_id: int, services: Iterable[str]) -> dict[str, HopEvidence]:
    """The evidence provider registered with ``decisions.evidence`` (see apps.py)."""
    return {
        name: evidence_from_run(run)
        for name, run in latest_valid_runs(team_id=team_id, services=services).items()
        if (run.summary or {}).get("requests")
    }


def usecase_evidence_rows(
    team: Team, use_case: UseCase, hops: Sequence[ChainHop]
) -> list[HopEvidenceRow]:
    """The rows provider registered with ``decisions.evidence`` (see apps.py).

    Per hop: the call endpoint linked to its service (the one the latest valid probe
    measured, else the first by name) and that probe's numbers; then, when the use case
    names a broker, a row for the broker endpoint of that service name.
    """
    services = [hop.service for hop in hops]
    by_service: dict[str, Endpoint] = {}
    calls = Endpoint.objects.filter(team=team, service__in=services).exclude(kind__in=BROKER_KINDS)
    for found in calls:
        by_service.setdefault(found.service, found)
    runs = latest_valid_runs(team_id=team.pk, services=services, kinds=CALL_KINDS)
    rows = []
    for hop in hops:
        run = runs.get(hop.service)
        endpoint = run.endpoint if run is not None else by_service.get(hop.service)
        counted = evidence_from_run(run) if run is not None else None
        rows.append(
            HopEvidenceRow(
                service=hop.service,
                stated_p50_ms=hop.p50_ms,
                stated_p99_ms=hop.p99_ms,
                stated_availability=hop.availability,
                samples=counted.samples if counted else 0,
                success_pct=None
                if counted is None or counted.success_ratio is None
                else 100.0 * counted.success_ratio,
                availability_lower_pct=counted.availability_lower_pct if counted else None,
                **_row_links(team, use_case, hop.service, endpoint, run, add="Add endpoint"),
            )
        )
    if use_case.broker_service:
        rows.append(_broker_row(team, use_case))
    return rows


def _row_links(
    team: Team,
    use_case: UseCase,
    service: str,
    endpoint: Endpoint | None,
    run: ProbeRun | None,
    *,
    add: str,
) -> dict[str, Any]:
    """A row's endpoint, its latest valid measurement, and what a facilitator can do next:
    probe the endpoint, or add one for the service (labelled ``add``)."""
    measured = (run.summary or {}) if run is not None else {}
    if endpoint is not None:
        action_label = "Probe it"
        action_link = reverse("probes:run-create", args=[team.slug, endpoint.pk])
        action_link += f"?use_case={use_case.pk}"
    else:
        action_label = add
        action_link = reverse("probes:endpoint-create", args=[team.slug])
        action_link += f"?{urlencode({'service': service})}"
    return {
        "endpoint_name": endpoint.name if endpoint else "",
        "endpoint_url": endpoint.url if endpoint else "",
        "endpoint_link": reverse("probes:endpoint-detail", args=[team.slug, endpoint.pk])
        if endpoint
        else "",
        "measured_p50_ms": measured.get("p50_ms"),
        "measured_p99_ms": measured.get("p99_ms"),
        "measured_at": run.finished_at if run else None,
        "measurement_label": f"probe #{run.pk}" if run else "",
        "measurement_link": reverse("probes:run-detail", args=[team.slug, run.pk]) if run else "",
        "action_label": action_label,
        "action_link": action_link,
    }


def _broker_row(team: Team, use_case: UseCase) -> HopEvidenceRow:
    """The use case's broker: its endpoint, and delivery against the staleness budget."""
    service = use_case.broker_service
    run = latest_valid_runs(team_id=team.pk, services=[service], kinds=BROKER_KINDS).get(service)
    endpoint = (
        run.endpoint
        if run is not None
        else Endpoint.objects.filter(team=team, service=service, kind__in=BROKER_KINDS)
        .order_by("name")
        .first()
    )
    measured = (run.summary or {}) if run is not None else {}
    return HopEvidenceRow(
        service=service,
        stated_p50_ms=0.0,
        stated_p99_ms=0.0,
        kind="broker",
        stated_staleness_s=use_case.staleness_s,
        samples=int(measured.get("requests") or 0),
        rate_per_s=measured.get("rps"),
        confirm_p99_ms=_number_or_none(measured.get("confirm_p99_ms")),
        lost=int(measured.get("lost") or 0),
        duplicates=int(measured.get("duplicates") or 0),
        reordered=int(measured.get("reordered") or 0),
        **_row_links(team, use_case, service, endpoint, run, add="Add broker endpoint"),
    )


def run_verdict(run: ProbeRun) -> dict[str, Any] | None:
    """How the run measures up against its linked use case's latency budget.

    Two answers: the endpoint alone against the whole budget (it cannot take
    more than all of it), and the chain estimate with this run's numbers used
    for the endpoint's hop (the other hops keep their latest evidence or
    stated numbers).
    """
    use_case: UseCase | None = run.use_case
    s = run.summary or {}
    if use_case is None or not s.get("requests"):
        return None
    alone_ok = s["p95_ms"] <= use_case.latency_p95_ms and s["p99_ms"] <= use_case.latency_p99_ms
    verdict: dict[str, Any] = {
        "use_case": use_case,
        "budget_p95_ms": use_case.latency_p95_ms,
        "budget_p99_ms": use_case.latency_p99_ms,
        "p95_ms": s["p95_ms"],
        "p99_ms": s["p99_ms"],
        "alone_within": alone_ok,
        "chain": None,
        "in_chain": False,
    }
    hops = [hop.to_hop() for hop in use_case.hops.all()]
    service = run.endpoint.service
    if hops and service and any(hop.service == service for hop in hops):
        evidence = measured_evidence(use_case.team_id, (hop.service for hop in hops))
        evidence[service] = evidence_from_run(run)
        verdict["in_chain"] = True
        verdict["chain"] = chain_estimate(
            hops,
            evidence,
            budget_p95_ms=use_case.latency_p95_ms,
            budget_p99_ms=use_case.latency_p99_ms,
        ).to_dict()
    return verdict


def allow_list_note() -> dict[str, Any]:
    """What the administrator's allow-list opens, for the probe pages."""
    allow = settings.PROBE_ALLOW
    if allow is None:
        return {"set": False, "loopback": False, "shown": ""}
    loopback = (
        any(
            network.overlaps(
                ipaddress.ip_network("127.0.0.0/8" if network.version == 4 else "::1/128")
            )
            for network in allow.networks
        )
        or "localhost" in allow.hosts
    )
    shown = ", ".join([str(n) for n in allow.networks] + sorted(allow.hosts))
    return {"set": True, "loopback": loopback, "shown": shown or "(empty)"}
