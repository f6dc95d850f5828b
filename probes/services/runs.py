"""Endpoints and runs from the web side: save an endpoint, start, enqueue and cancel a run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from decisions.jobs import job_enqueue
from decisions.models import Team, UseCase
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
