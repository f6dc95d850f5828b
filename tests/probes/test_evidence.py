"""Measured evidence: the latest valid probe of a hop's endpoint replaces the stated numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.evidence import evidence_for
from decisions.usecases.services import use_case_snapshot
from patterns.engine import Hop
from probes.models import JobStatus
from probes.services.execution import run_finalize
from tests.factories import make_team, make_use_case
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments(acme):
    return make_endpoint(acme, "http://127.0.0.1:8001/payments/authorize", service="payments")


def test_the_latest_valid_finished_probe_is_the_evidence_for_its_service(acme, payments):
    older = finished_run(
        payments, measured_outcome(), finished_at=timezone.now() - timedelta(hours=1)
    )
    newest = finished_run(payments, measured_outcome())
    finished_run(payments, measured_outcome(), valid=False, invalid_reason="late")
    finished_run(payments, measured_outcome(), status=JobStatus.CANCELLED)
    found = evidence_for(acme.pk, ["payments", "inventory"])
    assert set(found) == {"payments"}
    assert found["payments"].p50_ms == newest.summary["p50_ms"]
    assert found["payments"].p99_ms == newest.summary["p99_ms"]
    assert f"probe #{newest.pk}" in found["payments"].source
    assert older.pk != newest.pk


def test_another_teams_probes_are_never_evidence(acme, payments):
    other = make_team("initech")
    theirs = make_endpoint(other, "http://127.0.0.1:8001/p", service="payments")
    finished_run(theirs, measured_outcome())
    assert evidence_for(acme.pk, ["payments"]) == {}


def test_the_recommendation_uses_measured_latency_and_shows_it_against_the_stated(
    acme, payments, member_client
):
    use_case = make_use_case(
        acme, name="Checkout", hops=[Hop("inventory", 8, 40), Hop("payments", 400, 900)]
    )
    run = finished_run(payments, measured_outcome())
    snapshot = use_case_snapshot(use_case=use_case, by=None)
    hops = {h["service"]: h for h in snapshot.output["chain_estimate"]["hops"]}
    assert hops["payments"]["source"] == "measured"
    assert hops["payments"]["p50_ms"] == pytest.approx(run.summary["p50_ms"], abs=0.01)
    assert hops["inventory"]["source"] == "stated"
    body = member_client.get(use_case.get_absolute_url()).content.decode()
    assert "measured" in body and "(stated 400 / 900)" in body


def test_a_finished_probe_evaluates_the_use_cases_that_call_its_service_again(
    acme, owner, payments
):
    use_case = make_use_case(acme, name="Checkout", hops=[Hop("payments", 400, 900)])
    unrelated = make_use_case(acme, name="Search", hops=[Hop("search", 10, 50)])
    before = (use_case.snapshots.count(), unrelated.snapshots.count())
    # A generator that kept its schedule (a loaded test machine may not have).
    outcome = {**measured_outcome(), "valid": True, "invalid_reason": ""}
    run = finished_run(payments, outcome, status=JobStatus.RUNNING, valid=None)
    run.shard_rows.update(status=JobStatus.SUCCEEDED)
    assert run_finalize(run_id=run.pk) is True
    assert use_case.snapshots.count() == before[0] + 1
    assert unrelated.snapshots.count() == before[1]
    use_case.refresh_from_db()
    assert "payments" in use_case.latest_snapshot.evidence


def test_the_use_case_page_shows_each_hops_endpoint_and_latest_probe(
    acme, payments, owner_client, viewer_client
):
    use_case = make_use_case(
        acme, name="Checkout", hops=[Hop("payments", 40, 450), Hop("shipping", 25, 120)]
    )
    run = finished_run(payments, measured_outcome())
    body = owner_client.get(use_case.get_absolute_url()).content.decode()
    assert 'id="probe-evidence"' in body
    assert payments.get_absolute_url() in body and run.get_absolute_url() in body
    assert "40 / 450 ms" in body  # stated, beside the measured numbers
    probe_it = reverse("probes:run-create", args=["acme", payments.pk]) + f"?use_case={use_case.pk}"
    assert probe_it in body
    assert "no endpoint linked" in body  # shipping has none
    assert reverse("probes:endpoint-create", args=["acme"]) + "?service=shipping" in body
    # Viewers see the numbers but no button to start a probe.
    body = viewer_client.get(use_case.get_absolute_url()).content.decode()
    assert run.get_absolute_url() in body and probe_it not in body
