"""Staleness end to end: a real Celery worker probes a Redis stream on 127.0.0.1 (a
database other than Celery's, reached over a slow link so that the probe's self-check
has room on a busy machine) for an event-driven record, and the check compares the
measured delivery p99 with the record's staleness budget."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions.living.services import assumption_save
from decisions.models import Assumption, CheckStatus, Decision
from probes.models import Endpoint, ProbeRun
from probes.services.runs import endpoint_save
from tests.decisions.living_support import accept, async_checkout, slow_link
from tests.factories import wait_for
from tests.probes.brokers import BROKER_PORTS, BROKER_URLS, require_broker
from tests.probes.probe_factories import allow_loopback, make_endpoint

pytestmark = pytest.mark.django_db(transaction=True)


def _ms(value: float) -> str:
    """A number as the check's note writes it (three figures, whole from 100 up)."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _staleness(decision: Decision) -> Assumption:
    return decision.assumptions.get(metric="staleness_s")


def _check(decision: Decision, client) -> Decision:
    """ "Check now" until the probe's self-check accepts the measurement (on a busy machine
    the generator may fall behind, and then the run is rightly not a valid measurement)."""
    pk = decision.pk
    for _ in range(3):
        before = Decision.objects.get(pk=pk).last_checked_at
        response = client.post(reverse("living-run-one", args=["acme", decision.number]))
        assert response.status_code == 302
        wait_for(
            lambda before=before: Decision.objects.get(pk=pk).last_checked_at != before,
            timeout=90,
            what="the check to finish",
        )
        decision = Decision.objects.get(pk=pk)
        last = _staleness(decision).checks.first()
        if last.status != CheckStatus.INVALID:
            return decision
    raise AssertionError(f"no valid measurement in three checks: {last.reason}")


@pytest.fixture
def redis_url():
    """The test Redis database, 100 ms away each way."""
    require_broker("redis")
    redis_port = BROKER_PORTS["redis"]
    with slow_link(redis_port, 0.1) as port:
        yield BROKER_URLS["redis"].replace(f":{redis_port}/", f":{port}/")


def test_a_redis_stream_keeps_the_staleness_budget_and_misses_one_below_its_delivery_p99(
    acme, owner, owner_client, settings, monkeypatch, start_celery_worker, redis_url
):
    allow_loopback(settings, monkeypatch)
    settings.LIVING_CHECK_DURATION_S = 2.0
    start_celery_worker("staleness")
    # An HTTP endpoint of the same service name, first by name: the check must not take it.
    make_endpoint(acme, "http://127.0.0.1:9/events", name="A events", service="order-events")
    stream = endpoint_save(
        endpoint=Endpoint(team=acme, name="Order events", service="order-events", url=redis_url),
        by=owner,
        confirm=True,
    )
    # A stream named like a hop of the chain is no endpoint of that hop.
    endpoint_save(
        endpoint=Endpoint(team=acme, name="Payments", service="payments", url=stream.url),
        by=owner,
        confirm=True,
    )
    decision = accept(async_checkout(acme, owner, staleness_s=60), owner)
    assert _staleness(decision).status == CheckStatus.STATED
    payments_p99 = decision.assumptions.get(target="payments", metric="hop_p99_ms")

    decision = _check(decision, owner_client)
    check = _staleness(decision).checks.first()
    run = ProbeRun.objects.get(pk=check.probe_run_id)
    assert run.endpoint == stream and run.rate == 20.0
    p99_ms = run.summary["p99_ms"]
    # Each message crosses the slow link twice (publish, then delivery): 200 ms at least.
    assert run.summary["lost"] == 0 and p99_ms >= 200
    # Recorded in the budget's unit, noted in milliseconds as measured.
    assert check.status == CheckStatus.OK and check.value == pytest.approx(p99_ms / 1000)
    assert f"reach consumers in p99 {_ms(p99_ms)} ms" in check.reason
    assert check.reason.endswith("staleness budget 60 s: within")
    assert decision.at_risk_reason == ""
    payments_p99.refresh_from_db()
    assert payments_p99.status == CheckStatus.STATED and not payments_p99.checks.exists()
    assert set(ProbeRun.objects.values_list("endpoint", flat=True)) == {stream.pk}

    # A budget the delivery p99 certainly exceeds: far past it, so at risk at once.
    assumption_save(
        decision=decision, assumption=_staleness(decision), data={"threshold": 0.0}, by=owner
    )
    decision = _check(decision, owner_client)
    check = _staleness(decision).checks.first()
    run = ProbeRun.objects.get(pk=check.probe_run_id)
    assert check.status == CheckStatus.FAILED
    assert check.value == pytest.approx(run.summary["p99_ms"] / 1000)
    expected = f"p99 {_ms(run.summary['p99_ms'])} ms at"
    assert expected in check.reason and "staleness budget 0 s: exceeded" in check.reason
    assert expected in decision.at_risk_reason
    page = owner_client.get(decision.get_absolute_url()).content.decode()
    assert "staleness budget 0 s: exceeded" in page
