"""Staleness on living decisions: an asynchronous record's staleness budget is kept by the
broker its use case names, measured by that broker's probes (delivery p99 and losses).

The checks run against the scripted stand-in of ``test_living_checks.py`` (the seam the
probes app registers at); ``test_living_broker_worker.py`` runs a real Redis stream
through a real worker, and the last tests here ask the real provider which endpoints it
picks.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from decisions import evidence
from decisions.evidence import BROKER, CALL, Measurement
from decisions.living.derive import CHAIN, derive_assumptions
from decisions.living.services import assumption_save
from decisions.models import Assumption, AssumptionCheck, CheckStatus, Decision
from decisions.usecases.models import RecommendationSnapshot
from tests.decisions.living_support import accept, async_checkout
from tests.decisions.test_living_checks import NIGHT, Scripted, done, run_round

DAY = datetime.timedelta(days=1)


def delivered(
    p99_ms: float, *, lost: int = 0, requests: int = 200, rps: float = 20.0
) -> Measurement:
    """A broker probe's result: delivery latency, messages published and lost."""
    return Measurement(
        state="done", valid=True, p50_ms=p99_ms / 2, p95_ms=p99_ms, p99_ms=p99_ms,
        success_pct=100.0, rps=rps, measured_at=NIGHT, requests=requests, lost=lost,
        duplicates=0,
    )  # fmt: skip


@pytest.fixture
def stand_in():
    previous = evidence.remeasurer()
    scripted = Scripted(set(), brokers=frozenset({"order-events"}))
    evidence.register_remeasurer(scripted)
    yield scripted
    evidence.register_remeasurer(previous)


def staleness(decision: Decision) -> Assumption:
    return decision.assumptions.get(metric="staleness_s")


# --- what an accepted record assumes ------------------------------------------------------


def test_an_async_record_aims_its_staleness_budget_at_the_broker_its_use_case_names(
    acme, owner, stand_in
):
    decision = accept(async_checkout(acme, owner, staleness_s=5), owner)
    a = staleness(decision)
    assert (a.target, a.comparator, a.threshold) == ("order-events", "<=", 5)
    assert a.label == "order-events staleness ≤ 5 s"
    # Measurable (a broker endpoint is registered): stated until its first check.
    assert a.status == CheckStatus.STATED


def test_a_broker_named_without_a_broker_endpoint_is_not_measurable_until_one_is_registered(
    acme, owner, owner_client, stand_in
):
    stand_in.brokers = frozenset()
    decision = accept(async_checkout(acme, owner), owner)
    a = staleness(decision)
    assert (a.target, a.status) == ("order-events", CheckStatus.NOT_MEASURABLE)
    hint = "No broker endpoint is registered for “order-events”"
    page = owner_client.get(decision.get_absolute_url()).content.decode()
    assert "Not measurable yet" in page and hint in page
    health = owner_client.get(reverse("living-health", args=["acme"])).content.decode()
    assert hint in health

    # A check finds nothing to probe for it and leaves it as it is.
    decision = run_round(decision, NIGHT)
    assert stand_in.started == [] and staleness(decision).status == CheckStatus.NOT_MEASURABLE

    # Registered: the next check measures it, and the hint is gone.
    stand_in.brokers = frozenset({"order-events"})
    stand_in.script = [delivered(38)]
    decision = run_round(decision, NIGHT + DAY)
    assert stand_in.kinds == ["broker"]
    assert staleness(decision).status == CheckStatus.OK
    page = owner_client.get(decision.get_absolute_url()).content.decode()
    assert hint not in page and "0.038 s (delivery p99 38 ms)" in page


def test_without_a_broker_named_staleness_stays_on_the_chain_and_the_page_says_what_to_do(
    acme, owner, owner_client, stand_in
):
    decision = accept(async_checkout(acme, owner, broker_service=""), owner)
    a = staleness(decision)
    assert (a.target, a.status) == (CHAIN, CheckStatus.NOT_MEASURABLE)
    page = owner_client.get(decision.get_absolute_url()).content.decode()
    assert "No broker is named for this record" in page
    decision = run_round(decision, NIGHT)
    assert stand_in.started == []
    assert staleness(decision).status == CheckStatus.NOT_MEASURABLE


def test_an_older_snapshot_takes_the_broker_from_its_use_case_and_a_newer_one_names_its_own(
    acme, owner, stand_in
):
    older = async_checkout(acme, owner, broker_service="order-events")
    inputs = dict(older.snapshot.inputs)
    inputs.pop("broker_service", None)  # made before the engine took the broker's name
    RecommendationSnapshot.objects.filter(pk=older.snapshot_id).update(inputs=inputs)
    assert staleness(accept(older, owner)).target == "order-events"

    newer = async_checkout(acme, owner, broker_service="order-events")
    inputs = dict(newer.snapshot.inputs, broker_service="payment-events")
    RecommendationSnapshot.objects.filter(pk=newer.snapshot_id).update(inputs=inputs)
    a = staleness(accept(newer, owner))
    assert a.target == "payment-events"
    assert a.status == CheckStatus.NOT_MEASURABLE  # no broker endpoint of that name


def _inputs(broker: object) -> dict:
    return {
        "chain": [{"service": "payments", "p50_ms": 100, "p99_ms": 150}],
        "staleness_s": 30,
        "broker_service": broker,
    }


def test_derive_measures_staleness_on_broker_endpoints_and_hops_on_call_endpoints_only():
    def specs(endpoints: set[tuple[str, str]], broker: object = "order-events") -> dict:
        found = derive_assumptions(
            inputs=_inputs(broker),
            output={},
            chosen_pattern="request-event",
            has_endpoint=lambda service, kind: (service, kind) in endpoints,
        )
        return {(s.metric, s.target): s.measurable for s in found}

    # An HTTP endpoint named like the broker, a broker endpoint named like the hop: neither.
    crossed = specs({("order-events", CALL), ("payments", BROKER)})
    assert crossed[("staleness_s", "order-events")] is False
    assert crossed[("hop_p99_ms", "payments")] is False
    right = specs({("order-events", BROKER), ("payments", CALL)})
    assert right[("staleness_s", "order-events")] is True
    assert right[("hop_p99_ms", "payments")] is True
    for unnamed in ("", "   ", None, 7):
        assert specs({("order-events", BROKER)}, unnamed)[("staleness_s", CHAIN)] is False
    synchronous = derive_assumptions(
        inputs=_inputs("order-events"),
        output={},
        chosen_pattern="rest",
        has_endpoint=lambda service, kind: True,
    )
    assert not [s for s in synchronous if s.metric == "staleness_s"]


# --- checks --------------------------------------------------------------------------------


def test_a_check_records_delivery_p99_in_the_budgets_unit_and_notes_it_in_milliseconds(
    acme, owner, owner_client, stand_in
):
    decision = accept(async_checkout(acme, owner, staleness_s=5), owner)
    stand_in.script = [delivered(38, rps=20)]
    decision = run_round(decision, NIGHT)
    # A round of staleness alone (no hop has an endpoint) still finishes.
    assert decision.last_checked_at == NIGHT
    check = staleness(decision).checks.get()
    assert (check.status, check.value) == (CheckStatus.OK, 0.038)
    assert check.reason == (
        "events through order-events reach consumers in p99 38 ms at 20 msg/s; "
        "staleness budget 5 s: within"
    )
    assert check.value_label == "0.038 s (delivery p99 38 ms)"
    assert staleness(decision).status == CheckStatus.OK and decision.at_risk_reason == ""


def test_a_broker_probe_is_started_for_staleness_and_never_feeds_the_chain(acme, owner, stand_in):
    stand_in.services = {"payments"}
    decision = accept(async_checkout(acme, owner), owner)
    # The broker delivers fewer messages a second than the chain's peak: were its probe a
    # hop's, the chain's throughput and availability would take its numbers.
    broker = Measurement(
        state="done", valid=True, p50_ms=20, p95_ms=30, p99_ms=38, success_pct=50.0, rps=5.0,
        measured_at=NIGHT, requests=100, lost=0,
    )  # fmt: skip
    stand_in.script = [done(100, 150), broker]
    decision = run_round(decision, NIGHT)
    assert list(zip(stand_in.started, stand_in.kinds, strict=True)) == [
        ("payments", "call"),
        ("order-events", "broker"),
    ]
    chain = {
        c.assumption.metric: c.value
        for c in AssumptionCheck.objects.filter(
            assumption__decision=decision, assumption__target=CHAIN
        ).select_related("assumption")
    }
    assert chain["peak_rps"] == 20.0 and chain["availability_pct"] == 100.0
    assert staleness(decision).checks.get().value == 0.038


def test_delivery_far_over_the_budget_puts_the_record_at_risk_with_the_numbers(
    acme, owner, stand_in
):
    decision = accept(async_checkout(acme, owner), owner)
    assumption_save(
        decision=decision, assumption=staleness(decision), data={"threshold": 0.01}, by=owner
    )
    stand_in.script = [delivered(38, rps=20)]
    decision = run_round(decision, NIGHT)
    assert staleness(decision).status == CheckStatus.FAILED
    assert decision.at_risk_reason.startswith(
        "events through order-events reach consumers in p99 38 ms at 20 msg/s; "
        "staleness budget 0.01 s: exceeded"
    )
    # Its payments hop is far over the chain's budget, but an event-driven caller waits
    # for the hand-off only, so the chain's budget is no part of why it is at risk.
    assert "the chain now misses" not in decision.at_risk_reason


def test_lost_messages_fail_the_check_when_the_use_case_allows_no_loss(acme, owner, stand_in):
    decision = accept(async_checkout(acme, owner, message_loss_ok=False), owner)
    stand_in.script = [delivered(38, lost=3, requests=200)]
    decision = run_round(decision, NIGHT)
    check = staleness(decision).checks.get()
    assert check.status == CheckStatus.FAILED and check.value == 0.038  # within the budget
    assert check.reason.endswith(
        "staleness budget 5 s: within; 3 of 200 messages lost; the use case allows no message loss"
    )
    # One failure within the tolerance, as for any metric; the second in a row puts it at risk.
    assert decision.at_risk_reason == ""
    stand_in.script = [delivered(40, lost=1, requests=200)]
    decision = run_round(decision, NIGHT + DAY)
    assert "1 of 200 messages lost; the use case allows no message loss" in decision.at_risk_reason


def test_lost_messages_are_noted_but_hold_when_the_use_case_allows_loss(acme, owner, stand_in):
    decision = accept(async_checkout(acme, owner, message_loss_ok=True), owner)
    stand_in.script = [delivered(38, lost=3, requests=200)]
    decision = run_round(decision, NIGHT)
    check = staleness(decision).checks.get()
    assert check.status == CheckStatus.OK
    assert check.reason.endswith("3 of 200 messages lost (the use case allows loss)")


# --- the probes app's provider: which endpoint a check probes ----------------------------


def test_the_probe_provider_picks_broker_endpoints_for_staleness_and_calls_for_hops(
    acme, owner, settings
):
    from probes.living import ProbeRemeasurer
    from probes.models import Endpoint, JobStatus, ProbeRun
    from probes.services.runs import endpoint_save
    from tests.probes.brokers import BROKER_URLS
    from tests.probes.outcomes import measured_outcome
    from tests.probes.probe_factories import allow_loopback, finished_run, make_endpoint

    allow_loopback(settings)
    provider = ProbeRemeasurer()
    # Named first, so a pick by name alone would take the HTTP endpoint.
    make_endpoint(acme, "http://127.0.0.1:9/events", name="A events", service="order-events")
    stream = endpoint_save(
        endpoint=Endpoint(
            team=acme, name="B events", service="order-events", url=BROKER_URLS["redis"]
        ),
        by=owner,
        confirm=True,
    )
    payments_stream = endpoint_save(
        endpoint=Endpoint(team=acme, name="Payments", service="payments", url=BROKER_URLS["redis"]),
        by=owner,
        confirm=True,
    )
    assert provider.has_endpoint(acme.pk, "order-events", kind=BROKER)
    assert provider.has_endpoint(acme.pk, "order-events", kind=CALL)
    assert provider.has_endpoint(acme.pk, "payments", kind=BROKER)
    assert not provider.has_endpoint(acme.pk, "payments", kind=CALL)

    started = provider.start(
        team_id=acme.pk, service="order-events", kind=BROKER, rate=20.0, duration_s=2.0
    )
    run = ProbeRun.objects.get(pk=started.run_id)
    # As a person's probe from the run form: the open model at the rate, within the caps.
    assert run.endpoint == stream and run.url == BROKER_URLS["redis"]
    assert (run.model, run.rate, run.concurrency, run.duration_s, run.shards) == (
        "open", 20.0, 20, 2.0, 1,
    )  # fmt: skip
    ProbeRun.objects.filter(pk=run.pk).update(status=JobStatus.CANCELLED)

    refused = provider.start(team_id=acme.pk, service="payments", kind=CALL, rate=20, duration_s=2)
    assert refused.state == "refused"
    assert refused.reason == "no HTTP or gRPC endpoint is registered for payments"

    # The latest measurement of a hop is never a broker's.
    finished_run(payments_stream, measured_outcome())
    assert provider.latest(acme.pk, "payments", kind=CALL) is None
    assert provider.latest(acme.pk, "payments", kind=BROKER).state == "done"


def test_check_decisions_reports_staleness_in_seconds_with_the_delivery_numbers(
    acme, owner, stand_in
):
    import json
    from io import StringIO

    from django.core.management import call_command

    decision = accept(async_checkout(acme, owner), owner)
    stand_in.script = [delivered(38, rps=20)]
    run_round(decision, NIGHT)
    out = StringIO()
    call_command("check_decisions", "--team", "acme", "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())["decisions"][0]["assumptions"]
    row = next(r for r in rows if r["metric"] == "staleness_s")
    assert (row["target"], row["unit"], row["measured"], row["ok"]) == (
        "order-events", "s", 0.038, True,
    )  # fmt: skip
    assert "reach consumers in p99 38 ms at 20 msg/s" in row["reason"]
