"""Endpoints and runs from the web side: save an endpoint, start, enqueue and cancel a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from decisions.jobs import job_enqueue
from decisions.models import Decision, Team, UseCase
from decisions.teams.services import activity_record
from probes.models import ACTIVE, Endpoint, JobStatus, LoadModel, ProbeRun, ProbeShard
from probes.services.execution import run_finalize
from probes.services.preconditions import (
    TeamProof,
    check_caps,
    check_team_cap,
    checked_target,
    guard,
)


def endpoint_save(*, endpoint: Endpoint, by: AbstractBaseUser | None) -> Endpoint:
    """Save an endpoint whose URL passes the egress guard (ProbeRefused on ``url`` if not)."""
    guard(endpoint.url)
    if endpoint.pk is None and by is not None:
        endpoint.created_by = by
    endpoint.save()
    return endpoint


_PROBE_NUMBER = re.compile(r"probe #(\d+)")


def endpoint_cited_by(*, endpoint: Endpoint) -> list[Decision]:
    """The team's ADRs whose recommendation used a probe of this endpoint as evidence."""
    run_ids = set(endpoint.runs.values_list("pk", flat=True))
    if not run_ids:
        return []
    decisions = (
        Decision.objects.filter(team_id=endpoint.team_id, snapshot__isnull=False)
        .select_related("snapshot")
        .order_by("number")
    )
    cited = []
    for decision in decisions:
        sources = [str(found.get("source", "")) for found in decision.snapshot.evidence.values()]
        numbers = {int(n) for source in sources for n in _PROBE_NUMBER.findall(source)}
        if numbers & run_ids:
            cited.append(decision)
    return cited


class EndpointInUse(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@transaction.atomic
def endpoint_delete_or_archive(*, endpoint: Endpoint, by: AbstractBaseUser | None) -> str:
    """Delete the endpoint and its probes, or archive it when an ADR cites its measurements.

    An archived endpoint keeps its probe runs (the ADR's evidence) and leaves the list
    until restored. A probe still running has to end first. Returns "deleted" or "archived".
    """
    endpoint = Endpoint.objects.select_for_update().select_related("team").get(pk=endpoint.pk)
    if endpoint.runs.filter(status__in=ACTIVE).exists():
        raise EndpointInUse(f"A probe of “{endpoint.name}” is still running; cancel it first.")
    subject = f"endpoint “{endpoint.name}”"
    cited_by = endpoint_cited_by(endpoint=endpoint)
    if cited_by:
        if endpoint.archived_at is None:
            endpoint.archived_at = timezone.now()
            endpoint.save(update_fields=["archived_at", "updated"])
            labels = ", ".join(d.label for d in cited_by)
            activity_record(
                team=endpoint.team, by=by, action="archived", subject=subject,
                note=f"Its probes are evidence for {labels}.",
            )  # fmt: skip
        return "archived"
    team = endpoint.team
    endpoint.delete()
    activity_record(team=team, by=by, action="deleted", subject=subject)
    return "deleted"


@transaction.atomic
def endpoint_restore(*, endpoint: Endpoint, by: AbstractBaseUser | None) -> Endpoint:
    if endpoint.archived_at is not None:
        endpoint.archived_at = None
        endpoint.save(update_fields=["archived_at", "updated"])
        activity_record(
            team=endpoint.team, by=by, action="restored", subject=f"endpoint “{endpoint.name}”"
        )
    return endpoint


@dataclass(frozen=True)
class RunRequest:
    model: str
    rate: float | None
    concurrency: int
    duration_s: float
    warmup_s: float
    shards: int
    use_case: UseCase | None = None


def probe_start(
    *, endpoint: Endpoint, request: RunRequest, by: AbstractBaseUser | None
) -> ProbeRun:
    """Check every precondition once, create the run and its shards, enqueue them on commit.

    Refusals (ProbeRefused): a value over its cap, a target the guard refuses, a
    public host without its ownership proof (fetched here, outside any lock),
    and the team's running cap (checked under a lock on the team row, so two
    clicks at once cannot both start). If the broker is down the run comes back
    failed with ``QUEUE_UNAVAILABLE`` in its error.
    """
    check_caps(
        rate=request.rate,
        concurrency=request.concurrency,
        duration_s=request.duration_s,
        warmup_s=request.warmup_s,
        shards=request.shards,
    )
    checked_target(endpoint.url, load=request, proof=TeamProof(endpoint.team))
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=endpoint.team_id)
        check_team_cap(team)
        run = ProbeRun.objects.create(
            team=team,
            endpoint=endpoint,
            use_case=request.use_case,
            created_by=by,
            model=request.model,
            rate=request.rate if request.model == LoadModel.OPEN else None,
            concurrency=request.concurrency,
            duration_s=request.duration_s,
            warmup_s=request.warmup_s,
            shards=request.shards,
            url=endpoint.url,
        )
        shard_ids = [ProbeShard.objects.create(run=run, index=i).pk for i in range(request.shards)]
        transaction.on_commit(partial(enqueue_shards, run_id=run.pk, shard_ids=shard_ids))
    run.refresh_from_db()
    return run


def enqueue_shards(*, run_id: int, shard_ids: list[int]) -> bool:
    """Send one task per shard; on a broker error fail the run and say why."""
    from probes.tasks import run_probe_shard

    def fail(reason: str) -> None:
        reason = f"{reason}; start the probe again later"
        now = timezone.now()
        with transaction.atomic():
            ProbeShard.objects.filter(run_id=run_id, status=JobStatus.QUEUED).update(
                status=JobStatus.FAILED, error=reason, finished_at=now
            )
            ProbeRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
                status=JobStatus.FAILED, error=reason, finished_at=now
            )

    calls = [(shard_id,) for shard_id in shard_ids]
    return job_enqueue(run_probe_shard, calls, on_unavailable=fail)


def probe_cancel(*, run: ProbeRun) -> None:
    """Ask the workers to stop; shards not yet started are cancelled here and now."""
    ProbeRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(cancel_requested=True)
    ProbeShard.objects.filter(run=run, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED,
        finished_at=timezone.now(),
        error="cancelled before it started",
    )
    run_finalize(run_id=run.pk)
    run.refresh_from_db()
