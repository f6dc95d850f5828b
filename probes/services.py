"""Writes for probes: endpoints, starting and cancelling runs, executing shards, the reaper.

The flow of one run:

1. ``probe_start`` (web request) creates the ``ProbeRun`` and one ``ProbeShard``
   per shard, and enqueues one Celery task per shard when the transaction
   commits. A broker that cannot be reached fails the run at once with
   "the job queue is unavailable".
2. ``shard_execute`` (worker) claims its shard with a conditional update, so a
   redelivered message never fires the load twice; guards the URL again (and
   checks the ownership proof); runs the engine; and stores the shard's outcome.
   A reporter thread writes progress and a heartbeat to the database while the
   engine runs, and reads the run's ``cancel_requested`` flag, so database I/O
   never stalls the event loop that times the requests.
3. ``run_finalize`` is called after every shard ends; only the call that sees
   all shards finished, and wins the conditional update, merges the shard
   outcomes (histograms merge exactly) and closes the run.
4. ``reap_stale_runs`` (Celery beat, every 30 s) interrupts shards whose worker
   stopped sending heartbeats (killed, machine lost) and finalizes their runs
   with whatever was measured so far.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from decisions.models import Decision, Team, UseCase
from decisions.teams.services import activity_record
from probes.egress import LOW_RATE_WITHOUT_PROOF, GuardedTarget, guard_target, ownership_url
from probes.engine import (
    LoadPlan,
    ProbeOutcome,
    Progress,
    Target,
    fetch_ownership_token,
    merge_outcomes,
    run_probe_sync,
    summary,
)
from probes.models import ACTIVE, FINISHED, Endpoint, LoadModel, ProbeRun, ProbeShard, Status

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "the job queue is unavailable"
# Progress and heartbeat reach the database this often (the issue asks for at
# least twice a second); the cancel flag is read at the same pace, so Cancel
# stops the load well within a second.
REPORT_INTERVAL_S = 0.3
ENGINE_PROGRESS_INTERVAL_S = 0.2
ENGINE_SWITCH_INTERVAL_S = 0.0005
STALE_AFTER_S = float(getattr(settings, "PROBE_STALE_AFTER_S", 30))


class ProbeStartRefused(Exception):  # noqa: N818 - reads as what happened
    """A probe may not start now; ``reason`` is one sentence for the form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the guard and the ownership proof ----------------------------------------


def guard(url: str) -> GuardedTarget:
    """Check ``url`` against the administrator's allow-list (raises EgressRefused)."""
    return guard_target(url, allow=settings.PROBE_ALLOW)


def needs_ownership_proof(
    guarded: GuardedTarget, *, model: str, rate: float | None, duration_s: float
) -> bool:
    """A public host outside the allow-list gets at most 1 request/s for 60 s without proof."""
    if guarded.allowed_by != "public":
        return False
    max_rate, max_duration = LOW_RATE_WITHOUT_PROOF
    if model == LoadModel.CLOSED:
        return True  # as fast as it goes is never "gentle"
    return (rate or 0) > max_rate or duration_s > max_duration


def team_probe_token(team: Team) -> str:
    """The team's ownership token, made on first use."""
    if not team.probe_token:
        token = f"archway-{secrets.token_urlsafe(24)}"
        Team.objects.filter(pk=team.pk, probe_token="").update(probe_token=token)
        team.refresh_from_db(fields=["probe_token"])
    return team.probe_token


def ownership_proven(guarded: GuardedTarget, *, team: Team) -> bool:
    """True when the host serves the team's token at /.well-known/archway-probe.txt.

    The token is fetched from the guarded address (no second DNS lookup) and
    redirects are not followed, so the check cannot be bounced elsewhere.
    """
    if not team.probe_token:
        return False
    found = asyncio.run(fetch_ownership_token(guarded))
    return found is not None and secrets.compare_digest(found, team.probe_token)


def ownership_problem(guarded: GuardedTarget, *, team: Team) -> str:
    rate, duration = LOW_RATE_WITHOUT_PROOF
    return (
        f"{guarded.host} is a public host outside the allow-list and has not proven that "
        f"{team.name} controls it: serve the team token at {ownership_url(guarded)}, "
        f"or keep to {rate:g} request per second for at most {duration:g} s"
    )


# --- endpoints ----------------------------------------------------------------


def endpoint_save(*, endpoint: Endpoint, by: AbstractBaseUser | None) -> Endpoint:
    """Save an endpoint; the form has already run the guard on its URL."""
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


# --- starting and cancelling ------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    model: str
    rate: float | None
    concurrency: int
    duration_s: float
    warmup_s: float
    shards: int
    use_case: UseCase | None = None


def running_probes(team: Team) -> int:
    return ProbeRun.objects.filter(team=team, status__in=ACTIVE).count()


def team_cap_problem(team: Team) -> str | None:
    limit = settings.PROBE_MAX_RUNNING_PER_TEAM
    running = running_probes(team)
    if running >= limit:
        return (
            f"{team.name} already has {running} probe{'s' if running != 1 else ''} queued or "
            f"running (the limit is {limit} at a time); wait for it to finish or cancel it"
        )
    return None


def probe_start(
    *, endpoint: Endpoint, request: RunRequest, by: AbstractBaseUser | None
) -> ProbeRun:
    """Create the run and its shards and enqueue a task per shard when the row commits.

    The per-team cap is checked again under a lock on the team row, so two
    clicks at once cannot both start. If the broker is down the run comes back
    failed with ``QUEUE_UNAVAILABLE`` in its error.
    """
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=endpoint.team_id)
        problem = team_cap_problem(team)
        if problem:
            raise ProbeStartRefused(problem)
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
    """Send one task per shard; on a broker error fail the run and say why.

    A fresh broker connection per start, checked before publishing, turns a
    stopped Redis into one quick, clear error instead of a retry loop.
    """
    from kombu.exceptions import OperationalError

    from config.celery import app
    from probes.tasks import run_probe_shard

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
            for shard_id in shard_ids:
                run_probe_shard.apply_async((shard_id,), connection=conn, retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning("Probe run %s not enqueued: %s", run_id, exc)
        _fail_unstarted(run_id, f"{QUEUE_UNAVAILABLE} ({exc}); start the probe again later")
        return False
    return True


def _fail_unstarted(run_id: int, reason: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        ProbeShard.objects.filter(run_id=run_id, status=Status.QUEUED).update(
            status=Status.FAILED, error=reason, finished_at=now
        )
        ProbeRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
            status=Status.FAILED, error=reason, finished_at=now
        )


def probe_cancel(*, run: ProbeRun) -> None:
    """Ask the workers to stop; shards not yet started are cancelled here and now."""
    ProbeRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(cancel_requested=True)
    ProbeShard.objects.filter(run=run, status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=timezone.now(), error="cancelled before it started"
    )
    run_finalize(run_id=run.pk)
    run.refresh_from_db()


# --- executing one shard (in the worker) ------------------------------------------


class _Reporter(threading.Thread):
    """Writes the engine's latest progress and a heartbeat, and watches for Cancel.

    It shares the worker process with the engine, so it stays small: two or
    three short queries every ``REPORT_INTERVAL_S``, then it sleeps (releasing
    the GIL) and never holds the event loop up for long.
    """

    def __init__(self, *, shard_id: int, run_id: int, shards: int) -> None:
        super().__init__(name=f"probe-shard-{shard_id}-reporter", daemon=True)
        self.shard_id = shard_id
        self.run_id = run_id
        self.shards = shards
        self.latest: Progress | None = None
        self.cancelled = threading.Event()
        self._done = threading.Event()

    def report(self, progress: Progress) -> None:
        """Called by the engine inside its event loop: only a reference swap, no I/O."""
        self.latest = progress

    def run(self) -> None:
        try:
            while not self._done.wait(REPORT_INTERVAL_S):
                try:
                    self.flush()
                except Exception:  # a locked database must not end the probe
                    logger.exception("Probe shard %s: progress not written", self.shard_id)
        finally:
            connection.close()

    def flush(self) -> None:
        now = timezone.now()
        fields: dict[str, Any] = {"heartbeat_at": now}
        p = self.latest
        if p is not None:
            fields.update(
                progress=p.percent,
                sent=p.sent,
                completed=p.completed,
                errors=p.errors,
                p50_ms=p.p50_ms,
                p99_ms=p.p99_ms,
            )
        ProbeShard.objects.filter(pk=self.shard_id, status=Status.RUNNING).update(**fields)
        if self.shards == 1:
            # The run's totals are this shard's: one write, no aggregate read.
            ProbeRun.objects.filter(pk=self.run_id, status__in=ACTIVE).update(**fields)
        else:
            _refresh_run_totals(self.run_id, now)
        if ProbeRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            self.cancelled.set()

    def close(self) -> None:
        self._done.set()
        self.join(timeout=10)


def _refresh_run_totals(run_id: int, now: Any) -> None:
    """The run's live numbers: sums over shards; p50 weighted by completions, p99 the worst.

    Live percentiles are only a guide while the load runs; the merged
    histograms give the exact numbers when the run ends.
    """
    rows = list(
        ProbeShard.objects.filter(run_id=run_id).values(
            "progress", "sent", "completed", "errors", "p50_ms", "p99_ms"
        )
    )
    if not rows:
        return
    completed = sum(r["completed"] for r in rows)
    p50 = sum((r["p50_ms"] or 0) * r["completed"] for r in rows) / completed if completed else None
    p99s = [r["p99_ms"] for r in rows if r["p99_ms"] is not None and r["completed"]]
    ProbeRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
        progress=round(sum(r["progress"] for r in rows) / len(rows), 1),
        sent=sum(r["sent"] for r in rows),
        completed=completed,
        errors=sum(r["errors"] for r in rows),
        p50_ms=p50,
        p99_ms=max(p99s) if p99s else None,
        heartbeat_at=now,
    )


def shard_execute(*, shard_id: int, worker: str = "") -> bool:
    """Run one shard if this call claims it; False when another delivery already did."""
    now = timezone.now()
    claimed = ProbeShard.objects.filter(pk=shard_id, status=Status.QUEUED).update(
        status=Status.RUNNING, worker=worker[:200], started_at=now, heartbeat_at=now
    )
    if claimed != 1:
        logger.info("Probe shard %s already claimed or finished; not running it again", shard_id)
        return False
    shard = ProbeShard.objects.select_related("run__endpoint", "run__team").get(pk=shard_id)
    run = shard.run
    ProbeRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now
    )

    reporter = _Reporter(shard_id=shard.pk, run_id=run.pk, shards=run.shards)
    reporter.start()
    outcome: ProbeOutcome | None = None
    status, error = Status.SUCCEEDED, ""
    try:
        if ProbeRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            status, error = Status.CANCELLED, "cancelled before it started"
        else:
            target, plan = _prepare(run, shard)
            outcome = _run_engine(target, plan, reporter)
            if outcome.stopped:
                status, error = Status.CANCELLED, "cancelled while running"
    except ProbeStartRefused as exc:
        status, error = Status.FAILED, f"Refused: {exc.reason}"
    except Exception as exc:
        # A crash keeps what the reporter already wrote (sent, errors, live p50/p99).
        logger.exception("Probe shard %s crashed", shard_id)
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        reporter.close()
    _shard_finish(shard, status=status, error=error, outcome=outcome, last=reporter.latest)
    run_finalize(run_id=run.pk)
    return True


def _run_engine(target: Target, plan: LoadPlan, reporter: _Reporter) -> ProbeOutcome:
    """Run the engine with a short GIL switch interval while the reporter thread lives.

    The reporter's ORM work is pure Python; with the default 5 ms switch
    interval it can keep the event loop waiting for the GIL long enough to
    make sends late. 0.5 ms bounds that wait well under the engine's 2 ms
    lateness limit.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(ENGINE_SWITCH_INTERVAL_S)
    try:
        return run_probe_sync(
            target,
            plan,
            on_progress=reporter.report,
            should_stop=reporter.cancelled.is_set,
            progress_interval_s=ENGINE_PROGRESS_INTERVAL_S,
        )
    finally:
        sys.setswitchinterval(previous)


def _prepare(run: ProbeRun, shard: ProbeShard) -> tuple[Target, LoadPlan]:
    """Guard the URL again and check the ownership proof: both can change between runs."""
    from probes.egress import EgressRefused

    try:
        guarded = guard(run.url)
    except EgressRefused as exc:
        raise ProbeStartRefused(exc.reason) from exc
    if needs_ownership_proof(
        guarded, model=run.model, rate=run.rate, duration_s=run.duration_s
    ) and not ownership_proven(guarded, team=run.team):
        raise ProbeStartRefused(ownership_problem(guarded, team=run.team))
    endpoint = run.endpoint
    target = Target.from_guarded(
        guarded,
        method=endpoint.method,
        headers=endpoint.headers or {},
        body=endpoint.body.encode("utf-8"),
        expected_status=endpoint.expected_status,
        timeout_s=endpoint.timeout_s,
    )
    plan = LoadPlan(
        model=run.model,
        rate=run.rate or 0,
        concurrency=run.concurrency,
        duration_s=run.duration_s,
        warmup_s=run.warmup_s,
        shard=shard.index,
        shards=run.shards,
    )
    return target, plan


def _shard_finish(
    shard: ProbeShard,
    *,
    status: str,
    error: str,
    outcome: ProbeOutcome | None,
    last: Progress | None,
) -> None:
    fields: dict[str, Any] = {"status": status, "error": error, "finished_at": timezone.now()}
    if last is not None:
        fields.update(sent=last.sent, completed=last.completed, errors=last.errors)
    if outcome is not None:
        s = summary(outcome)
        fields.update(
            outcome=outcome.to_dict(),
            progress=100.0 if status == Status.SUCCEEDED else (last.percent if last else 0),
            completed=outcome.completed,
            errors=outcome.error_count,
            p50_ms=s["p50_ms"],
            p99_ms=s["p99_ms"],
        )
    # If the reaper already gave this shard up, its verdict stands; the
    # measurement is still worth keeping.
    kept = ProbeShard.objects.filter(pk=shard.pk, status=Status.RUNNING).update(**fields)
    if not kept and outcome is not None:
        ProbeShard.objects.filter(pk=shard.pk).update(outcome=outcome.to_dict())


# --- finishing a run ------------------------------------------------------------


def run_finalize(*, run_id: int) -> bool:
    """Close the run once every shard has ended: merge outcomes, pick the status.

    Called after each shard ends (and by the reaper and Cancel). The lock on
    the run row serialises the callers; the conditional update on an active
    status makes sure exactly one of them writes the result.
    """
    with transaction.atomic():
        run = ProbeRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in FINISHED:
            return False
        shards = list(ProbeShard.objects.filter(run_id=run_id).order_by("index"))
        if not shards or any(s.status in ACTIVE for s in shards):
            return False
        fields = _final_fields(run, shards)
        won = ProbeRun.objects.filter(pk=run_id, status__in=ACTIVE).update(**fields) == 1
    if won and fields["status"] == Status.SUCCEEDED and fields.get("valid"):
        _reevaluate_use_cases(run)
    return won


def _final_fields(run: ProbeRun, shards: list[ProbeShard]) -> dict[str, Any]:
    statuses = {s.status for s in shards}
    if Status.FAILED in statuses:
        status = Status.FAILED
    elif Status.INTERRUPTED in statuses:
        status = Status.INTERRUPTED
    elif Status.CANCELLED in statuses or run.cancel_requested:
        status = Status.CANCELLED
    else:
        status = Status.SUCCEEDED
    errors = [s for s in shards if s.error and s.status != Status.SUCCEEDED]
    if len(shards) == 1:
        error = shards[0].error if errors else ""
    else:
        error = "; ".join(f"shard {s.index + 1}: {s.error}" for s in errors)
    fields: dict[str, Any] = {
        "status": status,
        "error": error,
        "finished_at": timezone.now(),
        "sent": sum(s.sent for s in shards),
        "completed": sum(s.completed for s in shards),
        "errors": sum(s.errors for s in shards),
    }
    outcomes = [ProbeOutcome.from_dict(s.outcome) for s in shards if s.outcome]
    if status == Status.SUCCEEDED:
        fields["progress"] = 100.0
    if outcomes:
        merged = merge_outcomes(outcomes)
        s = summary(merged)
        fields.update(
            outcome=merged.to_dict(),
            summary=s,
            valid=merged.valid,
            invalid_reason=merged.invalid_reason,
            completed=merged.completed,
            errors=merged.error_count,
            p50_ms=s["p50_ms"],
            p99_ms=s["p99_ms"],
        )
        if len(outcomes) < len(shards):
            fields["valid"] = False
            fields["invalid_reason"] = "; ".join(
                filter(None, [merged.invalid_reason, "only some shards finished"])
            )
    return fields


def _reevaluate_use_cases(run: ProbeRun) -> None:
    """New evidence: evaluate the team's use cases whose chain calls this service again."""
    from decisions.usecases.services import use_case_snapshot

    service = run.endpoint.service
    if not service:
        return
    use_cases = UseCase.objects.filter(team_id=run.team_id, hops__service=service).distinct()
    for use_case in use_cases:
        try:
            use_case_snapshot(use_case=use_case, by=None)
        except Exception:  # the probe's result stands even if one evaluation fails
            logger.exception("Use case %s not re-evaluated after probe %s", use_case.pk, run.pk)


# --- the reaper ---------------------------------------------------------------------


def queued_too_long_s() -> float:
    """How long a shard may wait in the queue before it counts as lost."""
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + STALE_AFTER_S


def reap_stale_runs(*, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Interrupt shards whose worker went quiet; finalize their runs. Returns the run ids.

    A running shard writes a heartbeat several times a second, so a heartbeat
    older than ``stale_after_s`` means its worker was killed or lost. What it
    measured so far (sent, errors, live p50/p99) stays on the rows.
    """
    cutoff = timezone.now() - timedelta(seconds=stale_after_s)
    stale = ProbeShard.objects.filter(status=Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    run_ids = sorted(set(stale.values_list("run_id", flat=True)))
    now = timezone.now()
    # A shard still queued after Redis would have redelivered its message was
    # lost (Redis emptied, no worker for the queue): fail it so the run ends
    # and the team's probe slot comes free.
    lost_cutoff = now - timedelta(seconds=queued_too_long_s())
    lost = ProbeShard.objects.filter(status=Status.QUEUED, run__created__lt=lost_cutoff)
    lost_run_ids = set(lost.values_list("run_id", flat=True))
    lost.update(
        status=Status.FAILED,
        finished_at=now,
        error=(
            f"no worker started it within {queued_too_long_s() / 60:.0f} minutes: the queue "
            "message was lost or no worker reads the queue"
        ),
    )
    for shard in stale.filter(run_id__in=run_ids):
        last = shard.heartbeat_at or shard.started_at or now
        ProbeShard.objects.filter(pk=shard.pk, status=Status.RUNNING).update(
            status=Status.INTERRUPTED,
            finished_at=now,
            error=(
                f"the worker {shard.worker or '(unknown)'} stopped reporting at "
                f"{last:%H:%M:%S} UTC (killed or lost); kept what it measured until then"
            ),
        )
    # A worker lost between finishing its shard and closing the run leaves an
    # active run whose shards have all ended: close it too.
    orphans = (
        ProbeRun.objects.filter(status__in=ACTIVE, shard_rows__isnull=False)
        .exclude(shard_rows__status__in=ACTIVE)
        .values_list("pk", flat=True)
        .distinct()
    )
    reaped = []
    for run_id in sorted({*run_ids, *lost_run_ids, *orphans}):
        if run_finalize(run_id=run_id):
            reaped.append(run_id)
    return reaped
