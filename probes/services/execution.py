"""Executing a run in the workers: claim a shard, run the engine, report, finalize the run."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from decisions.evidence import probe_finished
from decisions.jobs import worker_label
from decisions.models import UseCase
from probes.credentials import SealBroken, unseal
from probes.engine import (
    BrokerError,
    BrokerTarget,
    GrpcSetupError,
    LoadPlan,
    ProbeOutcome,
    Progress,
    Target,
    merge_outcomes,
    run_broker_probe_sync,
    run_probe_sync,
    summary,
)
from probes.models import ACTIVE, FINISHED, Endpoint, JobStatus, Kind, ProbeRun, ProbeShard
from probes.services.preconditions import (
    ProbeRefused,
    check_confirmed,
    checked_target,
    proof_for,
)

logger = logging.getLogger(__name__)

# Progress and heartbeat reach the database this often (at least twice a
# second); the cancel flag is read at the same pace, so Cancel stops the load
# well within a second.
REPORT_INTERVAL_S = 0.3
ENGINE_PROGRESS_INTERVAL_S = 0.2
ENGINE_SWITCH_INTERVAL_S = 0.0005


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
        ProbeShard.objects.filter(pk=self.shard_id, status=JobStatus.RUNNING).update(**fields)
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


def shard_execute(*, shard_id: int, worker: str | None = None) -> bool:
    """Run one shard if this call claims it; False when another delivery already did."""
    worker = worker or worker_label()
    if not ProbeShard.claim(shard_id, worker=worker):
        logger.info("Probe shard %s already claimed or finished; not running it again", shard_id)
        return False
    shard = ProbeShard.objects.select_related("run__endpoint", "run__team").get(pk=shard_id)
    run = shard.run
    ProbeRun.objects.filter(pk=run.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        worker=shard.worker,
        started_at=shard.started_at,
        heartbeat_at=shard.heartbeat_at,
    )

    reporter = _Reporter(shard_id=shard.pk, run_id=run.pk, shards=run.shards)
    reporter.start()
    outcome: ProbeOutcome | None = None
    status, error = JobStatus.SUCCEEDED, ""
    try:
        if ProbeRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            status, error = JobStatus.CANCELLED, "cancelled before it started"
        else:
            target, plan = _prepare(run, shard)
            outcome = _run_engine(target, plan, reporter, run_tag=broker_run_id(run))
            if outcome.stopped:
                status, error = JobStatus.CANCELLED, "cancelled while running"
    except ProbeRefused as exc:
        status, error = JobStatus.FAILED, f"Refused: {exc.reason}"
    except (BrokerError, GrpcSetupError, SealBroken) as exc:
        status, error = JobStatus.FAILED, str(exc)  # never holds the login
    except Exception as exc:
        # A crash keeps what the reporter already wrote (sent, errors, live p50/p99).
        logger.exception("Probe shard %s crashed", shard_id)
        status, error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        reporter.close()
    _shard_finish(shard, status=status, error=error, outcome=outcome, last=reporter.latest)
    run_finalize(run_id=run.pk)
    return True


def broker_run_id(run: ProbeRun) -> str:
    """Names a broker run's temporary queues and streams (``archway-probe.run<pk>-s<k>``)."""
    return f"run{run.pk}"


def _run_engine(
    target: Target | BrokerTarget, plan: LoadPlan, reporter: _Reporter, *, run_tag: str
) -> ProbeOutcome:
    """Run the engine with a short GIL switch interval while the reporter thread lives.

    The reporter's ORM work is pure Python; with the default 5 ms switch
    interval it can keep the event loop waiting for the GIL long enough to
    make sends late. 0.5 ms bounds that wait well under the engine's 2 ms
    lateness limit.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(ENGINE_SWITCH_INTERVAL_S)
    options: dict[str, Any] = {
        "on_progress": reporter.report,
        "should_stop": reporter.cancelled.is_set,
        "progress_interval_s": ENGINE_PROGRESS_INTERVAL_S,
    }
    try:
        if isinstance(target, BrokerTarget):
            return run_broker_probe_sync(target, plan, run_tag, **options)
        return run_probe_sync(target, plan, **options)
    finally:
        sys.setswitchinterval(previous)


def broker_target(endpoint: Endpoint, url: str) -> BrokerTarget:
    """The guarded broker target with the endpoint's login unsealed (ProbeRefused, SealBroken)."""
    guarded = checked_target(url, load=_NO_LOAD, proof=proof_for(endpoint))
    credentials = None
    if endpoint.credentials_sealed:
        credentials = unseal(endpoint.credentials_sealed, settings.PROBE_CREDENTIALS_KEY)
    return BrokerTarget.from_guarded(guarded, credentials, timeout_s=endpoint.timeout_s)


class _NoLoad:
    """The load of a cleanup: nothing is sent, so no ownership proof is asked."""

    model = "open"
    rate: float | None = 0.0
    duration_s = 0.0
    warmup_s = 0.0


_NO_LOAD = _NoLoad()


def _prepare(run: ProbeRun, shard: ProbeShard) -> tuple[Target | BrokerTarget, LoadPlan]:
    """Guard the URL again and check the ownership proof: both can change between runs."""
    endpoint = run.endpoint
    guarded = checked_target(run.url, load=run, proof=proof_for(endpoint))
    check_confirmed(endpoint, guarded)
    target: Target | BrokerTarget
    if endpoint.is_broker:
        target = broker_target(endpoint, run.url)
    elif endpoint.kind == Kind.GRPC:
        target = Target.from_guarded(
            guarded, body=endpoint.body.encode("utf-8"), timeout_s=endpoint.timeout_s
        )
    else:
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
            progress=100.0 if status == JobStatus.SUCCEEDED else (last.percent if last else 0),
            completed=outcome.completed,
            errors=outcome.error_count,
            p50_ms=s["p50_ms"],
            p99_ms=s["p99_ms"],
        )
    # If the reaper already gave this shard up, its verdict stands; the
    # measurement is still worth keeping.
    kept = ProbeShard.objects.filter(pk=shard.pk, status=JobStatus.RUNNING).update(**fields)
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
    if won and fields["status"] == JobStatus.SUCCEEDED and fields.get("valid"):
        _reevaluate_use_cases(run)
    if won:
        # The team's probe slot is free again: scheduled checks waiting for it move on.
        probe_finished(run.team_id)
    return won


def _final_fields(run: ProbeRun, shards: list[ProbeShard]) -> dict[str, Any]:
    statuses = {s.status for s in shards}
    if JobStatus.FAILED in statuses:
        status = JobStatus.FAILED
    elif JobStatus.INTERRUPTED in statuses:
        status = JobStatus.INTERRUPTED
    elif JobStatus.CANCELLED in statuses or run.cancel_requested:
        status = JobStatus.CANCELLED
    else:
        status = JobStatus.SUCCEEDED
    errors = [s for s in shards if s.error and s.status != JobStatus.SUCCEEDED]
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
    if status == JobStatus.SUCCEEDED:
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
