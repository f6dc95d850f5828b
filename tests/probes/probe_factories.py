"""Rows and waits shared by the Django-side probe tests."""

from __future__ import annotations

from probes.egress import parse_allow_list
from probes.models import Endpoint, ProbeRun
from probes.services.runs import RunRequest, probe_start
from tests.factories import wait_for

__all__ = ["allow_loopback", "finished_run", "make_endpoint", "run_status", "start", "wait_for"]

LOOPBACK = "127.0.0.0/8"


def allow_loopback(settings, monkeypatch=None) -> None:
    """Open 127/8 in this process and, through the environment, in workers started later."""
    settings.PROBE_ALLOW = parse_allow_list(LOOPBACK)
    if monkeypatch is not None:
        monkeypatch.setenv("ARCHWAY_PROBE_ALLOW", LOOPBACK)


def make_endpoint(team, url: str, **fields: object) -> Endpoint:
    fields.setdefault("name", f"Endpoint {Endpoint.objects.count() + 1}")
    fields.setdefault("service", "inventory")
    return Endpoint.objects.create(team=team, url=url, **fields)


def start(endpoint: Endpoint, by=None, **load: object) -> ProbeRun:
    """probe_start with a short, gentle open-model load unless told otherwise."""
    values: dict[str, object] = dict(
        model="open", rate=40.0, concurrency=4, duration_s=1.0, warmup_s=0.2, shards=1
    )
    values.update(load)
    return probe_start(endpoint=endpoint, request=RunRequest(**values), by=by)


def run_status(run: ProbeRun) -> str:
    run.refresh_from_db()
    return run.status


def finished_run(endpoint: Endpoint, outcome: dict, **fields: object) -> ProbeRun:
    """A succeeded run holding ``outcome`` as a worker would have left it."""
    from django.utils import timezone

    from probes.engine import ProbeOutcome, summary
    from probes.models import JobStatus, ProbeShard

    s = summary(ProbeOutcome.from_dict(outcome))
    values: dict[str, object] = dict(
        team=endpoint.team,
        endpoint=endpoint,
        url=endpoint.url,
        rate=60.0,
        duration_s=1.0,
        status=JobStatus.SUCCEEDED,
        progress=100.0,
        outcome=outcome,
        summary=s,
        valid=True,
        p50_ms=s["p50_ms"],
        p99_ms=s["p99_ms"],
        sent=outcome["requests"],
        completed=outcome["completed"],
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    values.update(fields)
    run = ProbeRun.objects.create(**values)
    ProbeShard.objects.create(
        run=run, index=0, status=run.status, worker="w@test", outcome=outcome, sent=run.sent
    )
    return run
