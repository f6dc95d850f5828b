"""Scheduled checks and drift, step by step with an injected clock.

The probes are replaced by a scripted stand-in registered at the same seam the probes
app uses (``decisions.evidence.register_remeasurer``), so each test decides what a
probe measures; ``test_living_worker.py`` runs the real thing.
"""

from __future__ import annotations

import datetime
import itertools

import pytest

from decisions import evidence
from decisions.evidence import BROKER, EndpointKind, Measurement, Remeasurer
from decisions.living.services import (
    assumption_delete,
    assumption_save,
    checks_advance,
    checks_request,
)
from decisions.living.staleness import overdue_notify, rule_pack_recheck
from decisions.models import (
    Assumption,
    CheckStatus,
    Decision,
    DecisionChange,
    Notice,
    NoticeKind,
    Webhook,
    WebhookDelivery,
)
from tests.decisions.living_support import accepted_checkout

UTC = datetime.UTC
NIGHT = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Scripted(Remeasurer):
    """Measures ``services`` (call endpoints) and ``brokers`` (broker endpoints) with the
    next scripted numbers; a run finishes when asked twice."""

    def __init__(self, services: set[str], brokers: frozenset[str] = frozenset()) -> None:
        self.services = services
        self.brokers = brokers
        self.script: list[Measurement] = []
        self.started: list[str] = []
        self.kinds: list[str] = []
        self.busy = False
        self.runs: dict[int, Measurement] = {}
        self.asked: dict[int, int] = {}
        self._ids = itertools.count(1)

    def has_endpoint(self, team_id: int, service: str, *, kind: EndpointKind) -> bool:
        return service in (self.brokers if kind == BROKER else self.services)

    def team_busy(self, team_id: int) -> bool:
        return self.busy or any(self.asked.get(i, 0) < 1 for i in self.runs)

    def start(
        self, *, team_id: int, service: str, kind: EndpointKind, rate: float, duration_s: float
    ) -> Measurement:
        run_id = next(self._ids)
        self.started.append(service)
        self.kinds.append(kind)
        self.runs[run_id] = self.script.pop(0)
        self.asked[run_id] = 0
        return Measurement(state="running", run_id=run_id, link=f"/probe/{run_id}")

    def result(self, run_id: int) -> Measurement:
        self.asked[run_id] += 1
        return self.runs[run_id]


def done(p50: float, p99: float, *, valid: bool = True, reason: str = "") -> Measurement:
    return Measurement(
        state="done", valid=valid, reason=reason, p50_ms=p50, p95_ms=p99, p99_ms=p99,
        success_pct=100.0, rps=20.0, measured_at=NIGHT,
    )  # fmt: skip


@pytest.fixture
def scripted():
    previous = evidence.remeasurer()
    stand_in = Scripted({"payments"})
    evidence.register_remeasurer(stand_in)
    yield stand_in
    evidence.register_remeasurer(previous)


def run_round(decision: Decision, now: datetime.datetime) -> Decision:
    checks_request(team=decision.team, decision=decision, now=now)
    for _ in range(6):
        if not checks_advance(team=decision.team, now=now).pending:
            break
    return Decision.objects.get(pk=decision.pk)


def test_acceptance_records_what_the_adr_assumes(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    found = {(a.target, a.metric): a for a in decision.assumptions.all()}
    assert found["chain", "chain_p99_ms"].threshold == 400
    assert found["chain", "chain_p95_ms"].threshold == 300
    assert found["payments", "hop_p99_ms"].threshold == 150
    assert found["inventory", "hop_p50_ms"].threshold == 5
    assert found["chain", "availability_pct"].comparator == ">="
    assert found["chain", "peak_rps"].threshold == 20
    # REST is synchronous: no staleness budget to keep.
    assert ("chain", "staleness_s") not in found
    assert decision.review_by == decision.date + datetime.timedelta(days=365)
    assert decision.next_check_at is not None
    assert decision.changes.filter(action="assumptions").exists()


def test_one_failure_within_twice_the_tolerance_does_not_put_it_at_risk_but_two_do(
    acme, owner, scripted
):
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(100, 170)]  # p99 170 > 150 + 10 %, but < 150 + 20 %
    decision = run_round(decision, NIGHT)
    p99 = decision.assumptions.get(target="payments", metric="hop_p99_ms")
    assert p99.status == CheckStatus.FAILED
    assert decision.at_risk_reason == ""

    scripted.script = [done(100, 170)]
    decision = run_round(decision, NIGHT + datetime.timedelta(days=1))
    assert decision.at_risk_reason.startswith("payments p99 is 170 ms, assumed ≤ 150 ms")
    assert Notice.objects.filter(user=owner, kind=NoticeKind.AT_RISK).count() == 1


def test_one_failure_beyond_twice_the_tolerance_is_enough_and_names_the_chain(
    acme, owner, scripted
):
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    decision = run_round(decision, NIGHT)
    assert "payments p99 is 910 ms, assumed ≤ 150 ms" in decision.at_risk_reason
    assert "the chain now misses its p99 budget of 400 ms" in decision.at_risk_reason
    assert decision.at_risk_since == NIGHT


def test_an_invalid_measurement_never_puts_it_at_risk_and_says_why(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910, valid=False, reason="send lag p99 9 ms")]
    decision = run_round(decision, NIGHT)
    assert decision.at_risk_reason == ""
    p99 = decision.assumptions.get(target="payments", metric="hop_p99_ms")
    assert p99.status == CheckStatus.INVALID
    assert "send lag p99 9 ms" in p99.checks.first().reason
    assert Notice.objects.filter(kind=NoticeKind.COULD_NOT_MEASURE, user=owner).exists()


def test_invalid_checks_between_two_failures_still_count_them_in_a_row(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    for day, measurement in enumerate(
        [done(100, 170), done(1, 1, valid=False, reason="late"), done(100, 170)]
    ):
        scripted.script = [measurement]
        decision = run_round(decision, NIGHT + datetime.timedelta(days=day))
    assert decision.at_risk_reason


def test_a_hop_without_an_endpoint_is_stated_and_never_puts_it_at_risk(acme, owner, scripted):
    scripted.services = set()
    decision = accepted_checkout(acme, owner)
    decision = run_round(decision, NIGHT)
    assert scripted.started == []
    assert set(decision.assumptions.values_list("status", flat=True)) == {CheckStatus.STATED}
    assert decision.at_risk_reason == ""


def test_a_recovered_adr_tells_people_and_its_history_shows_it(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    decision = run_round(decision, NIGHT)
    scripted.script = [done(100, 120)]
    decision = run_round(decision, NIGHT + datetime.timedelta(days=1))
    assert decision.at_risk_reason == ""
    assert Notice.objects.filter(user=owner, kind=NoticeKind.RECOVERED).exists()
    assert list(
        decision.changes.filter(action__in=["at risk", "recovered"]).values_list(
            "action", flat=True
        )
    ) == ["at risk", "recovered"]


def test_a_check_waits_for_a_persons_probe_and_runs_one_probe_at_a_time(acme, owner, scripted):
    first = accepted_checkout(acme, owner)
    second = accepted_checkout(acme, owner)
    scripted.busy = True
    checks_request(team=acme, now=NIGHT)
    result = checks_advance(team=acme, now=NIGHT)
    assert sorted(result.started_rounds) == sorted([first.pk, second.pk])
    assert result.started_probes == [] and scripted.started == []

    scripted.busy = False
    scripted.script = [done(100, 120), done(100, 120)]
    result = checks_advance(team=acme, now=NIGHT)
    assert len(result.started_probes) == 1  # one probe at a time per team
    result = checks_advance(team=acme, now=NIGHT)  # the first has finished: the next starts
    assert len(scripted.started) == 2
    while checks_advance(team=acme, now=NIGHT).pending:
        pass
    assert Decision.objects.filter(pk__in=[first.pk, second.pk], last_checked_at=NIGHT).count() == 2


def test_checks_are_due_in_the_teams_night_and_never_when_told_so(acme, owner, scripted):
    acme.time_zone = "Asia/Tokyo"
    acme.save()
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(100, 120), done(100, 120)]
    run_round(decision, NIGHT)  # 21:00 in Tokyo
    decision.refresh_from_db()
    local = decision.next_check_at.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert local.date() == datetime.date(2026, 3, 3) and 1 <= local.hour < 5
    # Not due before then: nothing starts.
    assert checks_advance(team=acme, now=NIGHT + datetime.timedelta(hours=2)).started_rounds == []
    assert checks_advance(team=acme, now=decision.next_check_at).started_rounds == [decision.pk]

    acme.check_schedule = "never"
    acme.save()
    other = accepted_checkout(acme, owner)
    assert other.next_check_at is None


def test_a_facilitators_edits_go_into_the_history(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    p99 = decision.assumptions.get(target="payments", metric="hop_p99_ms")
    assumption_save(decision=decision, assumption=p99, data={"threshold": 500}, by=owner)
    added = assumption_save(
        decision=decision,
        data={"metric": "hop_p50_ms", "target": "search", "comparator": "<=", "threshold": 30},
        by=owner,
    )
    assumption_delete(assumption=added, by=owner)
    actions = list(
        DecisionChange.objects.filter(decision=decision, action__startswith="assumption ")
        .order_by("pk")
        .values_list("action", "diff")
    )
    assert actions[0] == ("assumption edited", {"threshold": [150.0, 500]})
    assert actions[1][0] == "assumption added"
    assert actions[2][0] == "assumption removed"
    assert not Assumption.objects.filter(pk=added.pk).exists()


def test_an_overdue_adr_is_told_once(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    Decision.objects.filter(pk=decision.pk).update(review_by=datetime.date(2026, 1, 1))
    assert overdue_notify(today=datetime.date(2026, 1, 2)) == [decision.pk]
    assert overdue_notify(today=datetime.date(2026, 1, 3)) == []
    assert Notice.objects.filter(user=owner, kind=NoticeKind.OVERDUE).count() == 1


def test_a_newer_rule_pack_lists_records_whose_recommendation_would_change(acme, owner, scripted):
    decision = accepted_checkout(acme, owner)
    snapshot = decision.snapshot
    snapshot.rule_pack_version = "0.0-old"
    snapshot.save()
    # Under the old pack the team chose another pattern than the engine picks today.
    Decision.objects.filter(pk=decision.pk).update(chosen_pattern="message-queue")
    changed = rule_pack_recheck(team=acme)
    assert [(d.pk, top) for d, top in changed] == [(decision.pk, "rest")]
    decision.refresh_from_db()
    assert "0.0-old" in decision.recommendation_note


def test_events_go_to_each_active_webhook_as_a_delivery(acme, owner, scripted):
    Webhook.objects.create(team=acme, url="http://127.0.0.1:9/hook")
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    run_round(decision, NIGHT)
    delivery = WebhookDelivery.objects.get(event="at_risk")
    assert delivery.payload["decision"]["number"] == decision.number
    assert "payments p99 is 910 ms" in delivery.payload["text"]


def test_a_hop_that_could_not_be_measured_leaves_the_chain_unjudged_and_the_risk_as_it_was(
    acme, owner, scripted
):
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    decision = run_round(decision, NIGHT)
    reason = decision.at_risk_reason
    scripted.script = [done(100, 120, valid=False, reason="late sends")]
    decision = run_round(decision, NIGHT + datetime.timedelta(days=1))
    chain_p99 = decision.assumptions.get(target="chain", metric="chain_p99_ms")
    assert chain_p99.status == CheckStatus.INVALID
    assert chain_p99.checks.first().reason == "payments could not be measured in this check"
    assert decision.at_risk_reason == reason


def test_members_with_an_address_get_mail_when_it_turns_at_risk(
    acme, owner, member, scripted, mailoutbox, django_capture_on_commit_callbacks
):
    owner.email = "olivia@example.test"
    owner.save()
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    with django_capture_on_commit_callbacks(execute=True):
        run_round(decision, NIGHT)
    at_risk = [m for m in mailoutbox if "ADR at risk" in m.subject]
    assert [m.to for m in at_risk] == [["olivia@example.test"]]
    assert "payments p99 is 910 ms" in at_risk[0].body


def test_the_superseding_draft_goes_on_the_next_scheduled_review(acme, owner, scripted):
    from decisions.living.services import decision_to_next_review
    from decisions.models import ReviewSession

    decision = accepted_checkout(acme, owner)
    later = ReviewSession.objects.create(
        team=acme, title="Later", scheduled_for=NIGHT.replace(year=2099, month=2)
    )
    sooner = ReviewSession.objects.create(
        team=acme, title="Sooner", scheduled_for=NIGHT.replace(year=2099, month=1)
    )
    assert decision_to_next_review(decision=decision, by=owner) == sooner
    decision.refresh_from_db()
    assert list(sooner.items.values_list("decision", flat=True)) == [decision.superseded_by_id]
    assert not later.items.exists()
