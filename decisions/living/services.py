"""Living decisions: assumptions on accepted ADRs, their scheduled checks, drift and health.

A check of an ADR is a *round*: every assumption whose hop has an endpoint (a call
endpoint for a hop, a broker endpoint for staleness) gets a pending ``AssumptionCheck``;
``checks_advance`` moves the team's rounds on one step at a time. A Celery task runs
it after "Run now", whenever a probe of the team ends
(``decisions.evidence.on_probe_finished``) and at each beat (every minute):

1. collect finished probe runs into their pending checks;
2. start the rounds that are due (``Decision.next_check_at``);
3. if the team has no probe queued or running (a person's included), start the
   next probe a round needs: one at a time per team, so a person's probe waits
   for at most one check, and a check waits for any person's probe;
4. finish each round whose probes are all in: chain estimate and engine run again
   with the new evidence, drift judged, people told.

Probes are started through ``decisions.evidence.remeasurer()`` (the probes app
registers it), so they pass the same caps, egress guard and engine as a manual probe.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from decisions.evidence import (
    BROKER,
    CALL,
    EndpointKind,
    Measurement,
    evidence_for_input,
    remeasurer,
)
from decisions.living.derive import CHAIN, derive_assumptions, judge
from decisions.living.schedule import next_check_at
from decisions.models import (
    Assumption,
    AssumptionCheck,
    AssumptionMetric,
    CheckStatus,
    Decision,
    DecisionChange,
    DecisionStatus,
    NoticeKind,
    Team,
)
from patterns.engine import (
    PATTERN_FAMILY,
    PATTERN_NAMES,
    HopEvidence,
    InputError,
    UseCaseInput,
    parse_input,
    recommend,
)

log = logging.getLogger(__name__)

M = AssumptionMetric
HOP_METRICS = (M.HOP_P50, M.HOP_P99)
REVIEW_AFTER = datetime.timedelta(days=365)
# A check whose probe a precondition refused (guard, caps, ownership proof) says so first.
REFUSED_PREFIX = "Refused: "
# Inputs a snapshot may lack (made before the engine took them): the use case's own value.
USE_CASE_FALLBACK = ("broker_service",)
SHORT_METRIC = {
    M.HOP_P50: "p50",
    M.HOP_P99: "p99",
    M.CHAIN_P95: "chain p95",
    M.CHAIN_P99: "chain p99",
    M.AVAILABILITY: "availability",
    M.PEAK_RATE: "throughput",
    M.STALENESS: "staleness",
}


class AssumptionError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def check_duration_s() -> float:
    return settings.LIVING_CHECK_DURATION_S


def check_rate(peak_rps: float) -> float:
    return max(1.0, min(float(peak_rps or 10), settings.PROBE_MAX_RATE))


# --- deriving and editing ------------------------------------------------------------


def decision_inputs(decision: Decision) -> dict[str, Any]:
    """The inputs the record was decided on; a key its snapshot lacks comes from its use case."""
    inputs = dict(decision.snapshot.inputs) if decision.snapshot is not None else {}
    use_case = decision.use_case
    for key in USE_CASE_FALLBACK:
        if key not in inputs and use_case is not None:
            inputs[key] = getattr(use_case, key)
    return inputs


def snapshot_input(inputs: Mapping[str, Any]) -> UseCaseInput:
    """The snapshot's inputs as the engine takes them; keys this engine does not know
    (a newer or older snapshot) are left out rather than refused."""
    data = dict(inputs)
    try:
        return parse_input(data)
    except InputError as exc:
        for key in exc.errors:
            data.pop(key, None)
        if isinstance(data.get("chain"), list):
            known = {"service", "p50_ms", "p99_ms", "critical"}
            data["chain"] = [
                {k: v for k, v in hop.items() if k in known}
                for hop in data["chain"]
                if isinstance(hop, Mapping)
            ]
        return parse_input(data)


def assumptions_derive(
    *, decision: Decision, by: User | None, now: datetime.datetime | None = None
) -> list[Assumption]:
    """On acceptance: the assumptions from the snapshot, a review-by date, the first check."""
    now = _now(now)
    snapshot = decision.snapshot
    created: list[Assumption] = []
    if snapshot is not None and not decision.assumptions.exists():
        specs = derive_assumptions(
            inputs=decision_inputs(decision),
            output=snapshot.output,
            chosen_pattern=decision.chosen_pattern,
            has_endpoint=lambda service, kind: remeasurer().has_endpoint(
                decision.team_id, service, kind=kind
            ),
        )
        rate = check_rate(snapshot.inputs.get("peak_rps") or 10)
        for position, spec in enumerate(specs):
            # Stated until the first check; staleness with no broker to probe says so.
            status = CheckStatus.STATED
            if spec.metric == M.STALENESS and not spec.measurable:
                status = CheckStatus.NOT_MEASURABLE
            created.append(
                Assumption.objects.create(
                    decision=decision,
                    position=position,
                    metric=spec.metric,
                    target=spec.target,
                    comparator=spec.comparator,
                    threshold=round(spec.threshold, 3),
                    rate=rate,
                    duration_s=check_duration_s(),
                    source=spec.source,
                    status=status,
                )
            )
        if created:
            DecisionChange.objects.create(
                decision=decision,
                by=by if getattr(by, "is_authenticated", False) else None,
                action="assumptions",
                diff={"assumptions": [None, [a.label for a in created]]},
                note=f"{len(created)} assumptions taken from the snapshot it was drafted from.",
            )
    fields = ["next_check_at"]
    if decision.review_by is None:
        decision.review_by = decision.date + REVIEW_AFTER
        fields.append("review_by")
    decision.next_check_at = decision_next_check(decision=decision, now=now)
    decision.save(update_fields=fields)
    return created


def decision_schedule(decision: Decision) -> str:
    return decision.check_schedule or decision.team.check_schedule


def decision_next_check(*, decision: Decision, now: datetime.datetime) -> datetime.datetime | None:
    return next_check_at(
        schedule=decision_schedule(decision),
        time_zone=decision.team.time_zone,
        decision_key=decision.pk,
        now=now,
    )


ASSUMPTION_FIELDS = (
    "metric",
    "target",
    "comparator",
    "threshold",
    "rate",
    "duration_s",
    "tolerance_pct",
)


def _log(decision: Decision, by: User | None, action: str, diff: dict, note: str):
    DecisionChange.objects.create(
        decision=decision,
        by=by if getattr(by, "is_authenticated", False) else None,
        action=action,
        diff=diff,
        note=note,
    )


def assumption_kind(assumption: Assumption) -> EndpointKind:
    """Staleness rests on the broker the asynchronous half runs over; the rest on calls."""
    return BROKER if assumption.metric == M.STALENESS else CALL


def _measurable(decision: Decision, assumption: Assumption) -> bool:
    if assumption.target == CHAIN:
        if assumption.metric == M.STALENESS:
            return False  # no broker named: nothing to probe
        hops = (decision.snapshot.inputs.get("chain") or []) if decision.snapshot else []
        return any(
            remeasurer().has_endpoint(decision.team_id, str(hop.get("service", "")), kind=CALL)
            for hop in hops
            if isinstance(hop, Mapping)
        )
    return remeasurer().has_endpoint(
        decision.team_id, assumption.target, kind=assumption_kind(assumption)
    )


def _idle_status(decision: Decision, assumption: Assumption) -> str:
    """The status of an assumption no check has measured: stated, or for staleness
    without a broker endpoint to probe, not measurable yet."""
    if assumption.metric == M.STALENESS and not _measurable(decision, assumption):
        return CheckStatus.NOT_MEASURABLE
    return CheckStatus.STATED


@transaction.atomic
def assumption_save(
    *,
    decision: Decision,
    data: Mapping[str, Any],
    by: User | None,
    assumption: Assumption | None = None,
) -> Assumption:
    """Add (``assumption`` None) or edit one assumption; the change goes into the history."""
    if decision.status != DecisionStatus.ACCEPTED:
        raise AssumptionError("Only an accepted ADR keeps assumptions that are checked.")
    if assumption is None:
        assumption = Assumption(
            decision=decision,
            position=(decision.assumptions.count()),
            source="stated",
        )
        old: dict[str, Any] = {}
        action, note = "assumption added", ""
    else:
        old = {name: getattr(assumption, name) for name in ASSUMPTION_FIELDS}
        action, note = "assumption edited", f"Was: {assumption.label}."
    for name in ASSUMPTION_FIELDS:
        if name in data:
            setattr(assumption, name, data[name])
    idle = _idle_status(decision, assumption)
    if not old or CheckStatus.NOT_MEASURABLE in (idle, assumption.status):
        assumption.status = idle  # until its first check
    assumption.save()
    diff = {
        name: [old.get(name), getattr(assumption, name)]
        for name in ASSUMPTION_FIELDS
        if old.get(name) != getattr(assumption, name)
    }
    _log(decision, by, action, diff, note or f"Now: {assumption.label}.")
    return assumption


@transaction.atomic
def assumption_delete(*, assumption: Assumption, by: User | None) -> None:
    decision = assumption.decision
    label = assumption.label
    assumption.delete()
    _log(decision, by, "assumption removed", {"assumption": [label, None]}, f"Removed: {label}.")
    decision_health_refresh(decision=decision, by=by)


@transaction.atomic
def decision_living_update(
    *, decision: Decision, data: Mapping[str, Any], by: User | None
) -> Decision:
    """The review-by date and the per-ADR schedule: editable on an accepted record."""
    diff: dict[str, list[Any]] = {}
    for name in ("review_by", "check_schedule"):
        if name in data and getattr(decision, name) != data[name]:
            old = getattr(decision, name)
            diff[name] = [str(old) if old else old, str(data[name]) if data[name] else data[name]]
            setattr(decision, name, data[name])
    if diff:
        decision.next_check_at = decision_next_check(decision=decision, now=timezone.now())
        if "review_by" in diff:
            decision.overdue_told_on = None  # a new date: tell people again when it passes
        decision.save(
            update_fields=["review_by", "check_schedule", "next_check_at", "overdue_told_on"]
        )
        _log(decision, by, "review settings", diff, "")
    return decision


# --- running checks --------------------------------------------------------------------


def checks_request(
    *,
    team: Team,
    decision: Decision | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Make the team's accepted ADRs (or one) due now; returns how many. The caller
    enqueues ``checks_advance`` (``living.tasks.enqueue_checks``)."""
    decisions = Decision.objects.filter(team=team, status=DecisionStatus.ACCEPTED)
    if decision is not None:
        decisions = decisions.filter(pk=decision.pk)
    return decisions.update(next_check_at=_now(now))


@dataclass
class AdvanceResult:
    started_rounds: list[int] = field(default_factory=list)
    started_probes: list[int] = field(default_factory=list)
    finished_rounds: list[int] = field(default_factory=list)
    pending: bool = False


def checks_advance(*, team: Team, now: datetime.datetime | None = None) -> AdvanceResult:
    """One step of the team's checks (see the module docstring); safe to call at any time."""
    now = _now(now)
    result = AdvanceResult()
    provider = remeasurer()
    with transaction.atomic():
        # One advancer per team at a time: the beat, "Run now" and the command may overlap.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        pending = list(
            AssumptionCheck.objects.filter(
                assumption__decision__team=team, status=CheckStatus.PENDING
            ).select_related("assumption__decision")
        )
        # Records whose checks came in during this step.
        recorded = _collect(pending, provider, now)
        for decision in _due(team, now):
            _round_start(decision, now)
            result.started_rounds.append(decision.pk)
        started = _start_next_probe(team, provider, recorded)
        if started is not None:
            result.started_probes.append(started)
        for decision in _rounds_ready(team, recorded):
            _round_finish(decision, now)
            result.finished_rounds.append(decision.pk)
        result.pending = AssumptionCheck.objects.filter(
            assumption__decision__team=team, status=CheckStatus.PENDING
        ).exists()
    return result


def _due(team: Team, now: datetime.datetime) -> list[Decision]:
    busy = AssumptionCheck.objects.filter(
        status=CheckStatus.PENDING, assumption__decision__team=team
    ).values("assumption__decision")
    return list(
        Decision.objects.filter(team=team, status=DecisionStatus.ACCEPTED, next_check_at__lte=now)
        .exclude(pk__in=busy)
        .select_related("team", "snapshot")
        .order_by("next_check_at", "pk")
    )


def _round_start(decision: Decision, now: datetime.datetime) -> None:
    """Pending checks for every measurable assumption; the next slot is booked at once."""
    for assumption in decision.assumptions.all():
        if _measurable(decision, assumption):
            AssumptionCheck.objects.create(
                assumption=assumption, status=CheckStatus.PENDING, measured_at=now
            )
        elif assumption.status != (idle := _idle_status(decision, assumption)):
            Assumption.objects.filter(pk=assumption.pk).update(status=idle)
    decision.next_check_at = decision_next_check(decision=decision, now=now)
    decision.save(update_fields=["next_check_at"])


def _hop_checks(checks: Iterable[AssumptionCheck]) -> list[AssumptionCheck]:
    return [c for c in checks if c.assumption.target != CHAIN]


def _collect(pending: list[AssumptionCheck], provider: Any, now: datetime.datetime) -> set[int]:
    """Finished probes: fill in every pending hop (and broker) check that waits for them;
    returns the records whose checks came in."""
    recorded: set[int] = set()
    by_run: dict[int, list[AssumptionCheck]] = {}
    for check in _hop_checks(pending):
        if check.probe_run_id:
            by_run.setdefault(check.probe_run_id, []).append(check)
    for run_id, checks in by_run.items():
        measurement = provider.result(run_id)
        if measurement.state == "running":
            continue
        for check in checks:
            _record(check, measurement, now)
            recorded.add(check.assumption.decision_id)
        _fold_into_chain(checks, measurement)
    return recorded


def _fold_into_chain(checks: list[AssumptionCheck], m: Measurement) -> None:
    """A hop's valid probe feeds the round's chain checks: availability multiplies
    (every hop must answer), throughput is the slowest hop's. A broker's probe
    (``checks`` of staleness) is no hop of the chain and feeds nothing."""
    if (
        m.state != "done"
        or not m.valid
        or any(assumption_kind(c.assumption) == BROKER for c in checks)
    ):
        return
    decision_ids = {c.assumption.decision_id for c in checks}
    pending = AssumptionCheck.objects.filter(
        assumption__decision__in=decision_ids,
        assumption__target=CHAIN,
        status=CheckStatus.PENDING,
    ).select_related("assumption")
    for check in pending:
        if check.assumption.metric == M.AVAILABILITY and m.success_pct is not None:
            check.value = (100.0 if check.value is None else check.value) * m.success_pct / 100
        elif check.assumption.metric == M.PEAK_RATE and m.rps is not None:
            check.value = m.rps if check.value is None else min(check.value, m.rps)
        else:
            continue
        check.save(update_fields=["value"])


def measured_value(metric: str, m: Measurement) -> float | None:
    """The number ``m`` gives for ``metric``, in the assumption's unit."""
    if metric == M.STALENESS:
        # Delivery p99 in the budget's unit (seconds), so it is judged and plotted as is.
        return m.p99_ms / 1000 if m.p99_ms is not None else None
    return {
        M.HOP_P50: m.p50_ms,
        M.HOP_P99: m.p99_ms,
        M.AVAILABILITY: m.success_pct,
        M.PEAK_RATE: m.rps,
    }.get(M(metric))


def _record(check: AssumptionCheck, m: Measurement, now: datetime.datetime) -> None:
    check.measured_at = m.measured_at or now
    check.probe_link = m.link
    if m.state != "done" or not m.valid:
        check.status = CheckStatus.INVALID
        check.reason = m.reason or "the probe did not finish"
        if m.state == "refused":
            check.reason = f"{REFUSED_PREFIX}{m.reason}"
        elif m.state == "done" and not m.valid:
            check.reason = f"the probe's self-check marked it not a valid measurement: {m.reason}"
        check.value = measured_value(check.assumption.metric, m) if m.state == "done" else None
        check.save()
        return
    check.value = measured_value(check.assumption.metric, m)
    if check.value is None:
        check.status, check.reason = CheckStatus.INVALID, "the probe did not measure this"
        check.save()
        return
    check.save()
    _judge(check, m)


def _judge(check: AssumptionCheck, m: Measurement | None = None) -> None:
    """A measured value: holds or fails (a failure past twice the tolerance counts as two)."""
    check.status, check.reason = assumption_verdict(
        assumption=check.assumption, value=float(check.value or 0.0), measurement=m
    )
    check.save(update_fields=["status", "reason"])


def assumption_verdict(
    *, assumption: Assumption, value: float, measurement: Measurement | None = None
) -> tuple[str, str]:
    """Whether ``value`` keeps the assumption (OK or FAILED), and the note that says why.

    A failure's note names the numbers. Staleness (``measurement`` is the broker's probe)
    always notes the delivery p99 in milliseconds as measured ("events through orders
    reach consumers in p99 38 ms at 20 msg/s; staleness budget 5 s: within"), and a
    message lost while the use case allows no loss fails it too, with the counts.
    """
    a = assumption
    verdict = judge(
        comparator=a.comparator, threshold=a.threshold, tolerance_pct=a.tolerance_pct,
        value=value,
    )  # fmt: skip
    if a.metric != M.STALENESS or measurement is None:
        return (
            (CheckStatus.OK, "") if verdict.ok else (CheckStatus.FAILED, _failure_phrase(a, value))
        )
    m = measurement
    rate = f" at {_fmt(m.rps)} msg/s" if m.rps is not None else ""
    notes = [
        f"events through {a.target} reach consumers in p99 {_fmt(m.p99_ms)} ms{rate}; "
        f"staleness budget {_fmt(a.threshold)} s: {'within' if verdict.ok else 'exceeded'}"
    ]
    ok = verdict.ok
    if m.lost:
        sent = f" of {m.requests}" if m.requests is not None else ""
        if _loss_ok(a.decision):
            notes.append(f"{m.lost}{sent} messages lost (the use case allows loss)")
        else:
            notes.append(f"{m.lost}{sent} messages lost; the use case allows no message loss")
            ok = False
    return (CheckStatus.OK if ok else CheckStatus.FAILED), "; ".join(notes)


def _loss_ok(decision: Decision) -> bool:
    value = decision_inputs(decision).get("message_loss_ok")
    return value if isinstance(value, bool) else UseCaseInput().message_loss_ok


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _start_next_probe(team: Team, provider: Any, recorded: set[int]) -> int | None:
    """The next probe a round needs, if the team's probe slot is free; returns its id.
    A probe that ends at once (refused, failed, done) adds its record to ``recorded``."""
    waiting = _hop_checks(
        AssumptionCheck.objects.filter(
            assumption__decision__team=team, status=CheckStatus.PENDING
        ).select_related("assumption")
    )
    if not waiting or any(c.probe_run_id for c in waiting) or provider.team_busy(team.pk):
        return None
    first = min(waiting, key=lambda c: c.pk)
    a = first.assumption
    kind = assumption_kind(a)
    same = [
        c
        for c in waiting
        if c.assumption.decision_id == a.decision_id
        and c.assumption.target == a.target
        and assumption_kind(c.assumption) == kind
    ]
    m = provider.start(
        team_id=team.pk, service=a.target, kind=kind, rate=a.rate, duration_s=a.duration_s
    )
    if m.state == "busy":
        return None
    if m.state == "running" or m.state == "done":
        AssumptionCheck.objects.filter(pk__in=[c.pk for c in same]).update(
            probe_run_id=m.run_id, probe_link=m.link
        )
        if m.state == "done":
            for c in same:
                c.probe_run_id = m.run_id
                _record(c, m, timezone.now())
            _fold_into_chain(same, m)
            recorded.add(a.decision_id)
        return m.run_id
    for c in same:
        _record(c, m, timezone.now())
    recorded.add(a.decision_id)
    return None


def _rounds_ready(team: Team, recorded: set[int]) -> list[Decision]:
    """Rounds whose hop checks are all in: only chain checks are still pending, or none
    is and the last came in during this step (a round that checks staleness alone has
    no chain check to wait for)."""
    pending = AssumptionCheck.objects.filter(
        assumption__decision__team=team, status=CheckStatus.PENDING
    ).select_related("assumption")
    waiting_hops = {c.assumption.decision_id for c in _hop_checks(pending)}
    ready = ({c.assumption.decision_id for c in pending} | recorded) - waiting_hops
    return list(Decision.objects.filter(pk__in=ready).select_related("team", "snapshot"))


def _round_finish(decision: Decision, now: datetime.datetime) -> None:
    """Chain numbers from the new evidence, the engine again, drift, and telling people."""
    engine = decision_reevaluate(decision=decision)
    round_checks = list(
        AssumptionCheck.objects.filter(
            assumption__decision=decision, status=CheckStatus.PENDING
        ).select_related("assumption")
    )
    unmeasured = _hops_not_measured(decision)
    for check in round_checks:
        a = check.assumption
        if unmeasured:
            # Judging the chain on older numbers for these hops would hide the gap.
            check.measured_at, check.status = now, CheckStatus.INVALID
            check.reason = f"{', '.join(unmeasured)} could not be measured in this check"
            check.save()
            continue
        value = check.value  # availability and throughput, folded in as the hops came in
        if a.metric == M.CHAIN_P95:
            value = engine["chain"].get("p95_ms") if engine["measured_hops"] else None
        elif a.metric == M.CHAIN_P99:
            value = engine["chain"].get("p99_ms") if engine["measured_hops"] else None
        check.measured_at = now
        if value is None:
            check.status = CheckStatus.INVALID
            check.reason = "no hop of the chain could be measured in this check"
            check.save()
            continue
        check.value = round(float(value), 3)
        check.save()
        _judge(check)
    decision_health_refresh(decision=decision, engine=engine, now=now)


def _hops_not_measured(decision: Decision) -> list[str]:
    """Hops whose latest check (this round's) could not measure them (a broker is no hop)."""
    latest: dict[int, AssumptionCheck] = {}
    checks = (
        AssumptionCheck.objects.filter(assumption__decision=decision)
        .exclude(assumption__target=CHAIN)
        .exclude(assumption__metric=M.STALENESS)
        .exclude(status=CheckStatus.PENDING)
        .select_related("assumption")
    )
    for check in checks:  # newest first
        latest.setdefault(check.assumption_id, check)
    return sorted({c.assumption.target for c in latest.values() if c.status == CheckStatus.INVALID})


def _checked_evidence(decision: Decision) -> dict[str, HopEvidence]:
    """Per hop, the latest valid p50 and p99 the record's own checks measured."""
    latest: dict[tuple[str, str], AssumptionCheck] = {}
    checks = AssumptionCheck.objects.filter(
        assumption__decision=decision,
        assumption__metric__in=HOP_METRICS,
        status__in=[CheckStatus.OK, CheckStatus.FAILED],
    ).select_related("assumption")
    for check in checks:  # newest first
        latest.setdefault((check.assumption.target, check.assumption.metric), check)
    found = {}
    for (service, metric), check in latest.items():
        if metric != M.HOP_P50 or (service, M.HOP_P99) not in latest:
            continue
        p99 = latest[service, M.HOP_P99]
        found[service] = HopEvidence(
            p50_ms=float(check.value or 0.0),
            p99_ms=float(p99.value or 0.0),
            source=f"check of {decision.label}, {p99.measured_at:%Y-%m-%d %H:%M} UTC",
        )
    return found


def decision_reevaluate(*, decision: Decision) -> dict[str, Any]:
    """The engine again on the snapshot's inputs with the latest valid evidence."""
    snapshot = decision.snapshot
    if snapshot is None:
        return {"top": "", "chain": {}, "measured_hops": []}
    use_case_input = snapshot_input(snapshot.inputs)
    evidence = evidence_for_input(decision.team_id, use_case_input)
    evidence.update(_checked_evidence(decision))
    answer = recommend(use_case_input, evidence)
    chain = answer.to_dict().get("chain_estimate") or {}
    return {
        "top": answer.options[0].pattern,
        "chain": chain,
        "measured_hops": sorted(evidence),
        "rule_pack_version": answer.to_dict()["rule_pack"]["version"],
    }


# --- drift and health --------------------------------------------------------------------


def _refresh_assumption(a: Assumption) -> Assumption:
    """Last status and the run of failures, from the assumption's own history."""
    checks = list(a.checks.exclude(status=CheckStatus.PENDING)[:10])
    if not checks:
        a.status = _idle_status(a.decision, a)
    else:
        a.status = checks[0].status
    failures = 0
    for check in checks:
        if check.status == CheckStatus.INVALID:
            continue  # could not measure: says nothing either way
        if check.status != CheckStatus.FAILED:
            break
        verdict = judge(
            comparator=a.comparator, threshold=a.threshold, tolerance_pct=a.tolerance_pct,
            value=float(check.value or 0.0),
        )  # fmt: skip
        failures += 2 if verdict.far else 1
    a.consecutive_failures = failures
    if checks and checks[0].status == CheckStatus.INVALID:
        a.status = CheckStatus.INVALID
    a.save(update_fields=["status", "consecutive_failures"])
    return a


def decision_health_refresh(
    *,
    decision: Decision,
    engine: Mapping[str, Any] | None = None,
    now: datetime.datetime | None = None,
    by: User | None = None,
) -> list[str]:
    """Judge drift from the assumptions' histories; returns the events it caused."""
    from decisions.living.notify import notify

    now = _now(now)
    assumptions = [_refresh_assumption(a) for a in decision.assumptions.all()]
    # Failures in a row, skipping checks that could not measure (they say nothing either way).
    risky = [a for a in assumptions if a.consecutive_failures >= 2]
    events: list[str] = []
    reason = ""
    if risky:
        risky.sort(key=lambda a: a.target == CHAIN)  # the hops first: they explain the chain
        parts = []
        for a in risky:
            last = a.checks.filter(status=CheckStatus.FAILED).first()
            if last is not None and a.metric == M.STALENESS and last.reason:
                parts.append(last.reason)  # the delivery and loss numbers of that check
            elif last is not None:
                parts.append(_failure_phrase(a, last.value))
        chain = (engine or {}).get("chain") or {}
        chosen = decision.chosen_pattern or (
            decision.snapshot.top_pattern if decision.snapshot else ""
        )
        if PATTERN_FAMILY.get(chosen) == "async":
            chain = {}  # the caller waits for the hand-off only: the chain's budget is not its
        for key, label in (("p99_ms", "p99"), ("p95_ms", "p95")):
            budget = chain.get(f"budget_{key}")
            if (
                budget
                and chain.get(key) is not None
                and chain[key] > budget
                and not any(a.target == CHAIN for a in risky)
            ):
                parts.append(
                    f"the chain now misses its {label} budget of {_fmt(budget)} ms "
                    f"(estimated {_fmt(chain[key])} ms)"
                )
                break
        reason = "; ".join(dict.fromkeys(parts))
    was_at_risk = bool(decision.at_risk_reason)
    fields = ["at_risk_reason", "at_risk_since", "last_checked_at"]
    decision.at_risk_reason = reason
    if reason and not was_at_risk:
        decision.at_risk_since = now
        events.append(NoticeKind.AT_RISK)
    elif not reason and was_at_risk:
        decision.at_risk_since = None
        events.append(NoticeKind.RECOVERED)
    if engine is not None:
        decision.last_checked_at = now
        top = engine.get("top") or ""
        chosen = decision.chosen_pattern or (
            decision.snapshot.top_pattern if decision.snapshot else ""
        )
        new = top if top and chosen and top != chosen else ""
        if new and new != decision.recommendation_now:
            events.append(NoticeKind.RECOMMENDATION_CHANGED)
        decision.recommendation_now = new
        decision.recommendation_note = (
            f"The recommendation would now be {PATTERN_NAMES.get(new, new)}." if new else ""
        )
        fields += ["recommendation_now", "recommendation_note"]
        if any(a.status == CheckStatus.INVALID for a in assumptions):
            events.append(NoticeKind.COULD_NOT_MEASURE)
    decision.save(update_fields=fields)
    for event in events:
        if event == NoticeKind.RECOVERED:
            _log(
                decision, by, "recovered", {"at_risk": [True, False]}, "Its assumptions hold again."
            )
        elif event == NoticeKind.AT_RISK:
            _log(decision, by, "at risk", {"at_risk": [False, True]}, reason)
        notify(decision=decision, kind=event)
    return events


def _failure_phrase(a: Assumption, value: float | None) -> str:
    """What failed, with the numbers: "payments p99 is 910 ms, assumed ≤ 450 ms"."""
    if a.target == CHAIN:
        return _chain_phrase(a, value)
    return (
        f"{a.target} {SHORT_METRIC[M(a.metric)]} is {_fmt(value)} {a.unit}, assumed "
        f"{'≤' if a.comparator == '<=' else '≥'} {_fmt(a.threshold)} {a.unit}"
    )


def _chain_phrase(a: Assumption, value: float | None) -> str:
    metric = SHORT_METRIC[M(a.metric)].replace("chain ", "")
    if a.metric in (M.CHAIN_P95, M.CHAIN_P99):
        return (
            f"the chain now misses its {metric} budget of {_fmt(a.threshold)} ms "
            f"(estimated {_fmt(value)} ms)"
        )
    return (
        f"the chain's {metric} is {_fmt(value)} {a.unit}, assumed "
        f"{'≤' if a.comparator == '<=' else '≥'} {_fmt(a.threshold)} {a.unit}"
    )


# --- acting on drift -----------------------------------------------------------------------


@transaction.atomic
def decision_supersede_with_evidence(*, decision: Decision, by: User | None) -> Decision:
    """A superseding draft made from the use case evaluated again with today's evidence."""
    from decisions.records.services import (
        DecisionError,
        decision_supersede,
        draft_from_recommendation,
    )
    from decisions.usecases.services import use_case_snapshot

    use_case = decision.use_case
    if decision.status != DecisionStatus.ACCEPTED:
        raise DecisionError(
            f"Only an accepted record can be superseded; {decision.label} is "
            f"{decision.get_status_display().lower()}."
        )
    if use_case is None:
        raise DecisionError(f"{decision.label} has no use case to evaluate again.")
    snapshot = use_case_snapshot(use_case=use_case, by=by)
    draft = draft_from_recommendation(
        use_case_name=use_case.name,
        description=use_case.description,
        inputs=snapshot.inputs,
        output=snapshot.output,
    )
    draft["snapshot"] = snapshot
    note = decision.at_risk_reason or decision.recommendation_note
    return decision_supersede(
        decision=decision,
        by=by,
        data=draft,
        note=f"Drafted from new evidence: {note}" if note else "Drafted from new evidence.",
    )


@transaction.atomic
def decision_to_next_review(*, decision: Decision, by: User) -> Any:
    """Put the record's superseding draft (made now if needed) on the next scheduled review."""
    from decisions.models import AgendaItem, ReviewSession, ReviewStatus
    from decisions.records.services import DecisionError

    session = (
        ReviewSession.objects.filter(
            team=decision.team, status=ReviewStatus.SCHEDULED, scheduled_for__gte=timezone.now()
        )
        .order_by("scheduled_for", "pk")
        .first()
    )
    if session is None:
        raise DecisionError("No review session is scheduled; schedule one first.")
    draft = decision.superseded_by or decision_supersede_with_evidence(decision=decision, by=by)
    if not session.items.filter(decision=draft).exists():
        position = (
            session.items.order_by("-position").values_list("position", flat=True).first() or 0
        ) + 1
        AgendaItem.objects.create(session=session, decision=draft, position=position)
        _log(
            decision, by, "to review", {}, f"{draft.label} put on the agenda of “{session.title}”."
        )
    return session
