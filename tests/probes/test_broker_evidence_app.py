"""A broker probe as evidence for the asynchronous options: matched to a use case's
``broker_service``, shown against the staleness budget on the use case page, carried into
the ADR's confirmation and its "Measured against stated" table."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from decisions.models import Decision, UseCase
from decisions.records.exports.madr import to_madr
from decisions.records.exports.pdf import adr_pdf
from decisions.records.services import decision_create_from_use_case
from decisions.usecases.services import use_case_snapshot
from patterns.engine import Hop
from probes.models import Endpoint, JobStatus
from probes.services import execution, runs
from tests.decisions.test_usecase_views import answers
from tests.factories import make_use_case
from tests.probes.brokers import BROKER_PORTS, BROKER_URLS, loopback_proxy, require_broker
from tests.probes.outcomes import delivery_outcome
from tests.probes.probe_factories import allow_loopback, finished_run, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    monkeypatch.setattr(runs, "enqueue_shards", lambda *, run_id, shard_ids: None)


def _eventual_use_case(team, *, staleness_s: float = 5.0, **answers: object) -> UseCase:
    answers.setdefault("name", "Place order")
    return make_use_case(
        team,
        hops=[
            Hop("payments", 30.0, 120.0, role="needed"),
            Hop("mailer", 40.0, 200.0, role="side-effect"),
        ],
        consistency="eventual",
        staleness_s=staleness_s,
        broker_service="order-events",
        **answers,
    )


def _broker_endpoint(team, url: str = BROKER_URLS["redis"]) -> Endpoint:
    return Endpoint.objects.create(team=team, name="Order events", service="order-events", url=url)


def test_a_real_stream_probe_is_the_evidence_of_the_async_half(
    acme, owner, owner_client, enqueued, settings
):
    require_broker("redis")
    allow_loopback(settings)
    # Through a link of 100 ms each way, as a broker across a network: on loopback the
    # stream answers in about 2 ms, and a busy test machine's scheduler hiccups are then
    # late sends the probe's self-check rightly refuses to call valid.
    with loopback_proxy(BROKER_PORTS["redis"], delay_s=0.1) as port:
        endpoint = runs.endpoint_save(
            endpoint=Endpoint(
                team=acme,
                name="Order events",
                service="order-events",
                url=f"redis://127.0.0.1:{port}/7",
            ),
            by=owner,
            confirm=True,
        )
        for _attempt in range(3):  # a run a busy machine made late is not evidence: again
            run = start(endpoint, by=owner, rate=20.0, duration_s=1.0, warmup_s=0.2)
            assert execution.shard_execute(shard_id=run.shard_rows.get().pk, worker="here")
            run.refresh_from_db()
            assert run.status == JobStatus.SUCCEEDED, run.error
            if run.valid:
                break
    assert run.valid, run.invalid_reason
    measured_p99 = run.summary["p99_ms"]

    use_case = _eventual_use_case(acme, by=owner)
    snapshot = use_case.latest_snapshot
    broker = snapshot.output["broker"]
    assert broker["measured"] and broker["within_staleness"] is True
    assert broker["delivery_p99_ms"] == pytest.approx(measured_p99, abs=0.001)
    assert broker["confirm_p99_ms"] == pytest.approx(run.summary["confirm_p99_ms"], abs=0.001)
    assert f"probe #{run.pk} of Order events" in broker["source"]
    assert snapshot.evidence["order-events"]["kind"] == "broker"
    hybrid = next(o for o in snapshot.output["options"] if o["pattern"] == "request-event")
    assert hybrid["confirm_p99_ms"] == pytest.approx(run.summary["confirm_p99_ms"], abs=0.001)

    page = owner_client.get(use_case.get_absolute_url()).content.decode()
    assert 'id="async-path"' in page and 'id="evidence-broker"' in page
    assert "within the staleness budget" in page
    assert reverse("probes:run-detail", args=["acme", run.pk]) in page

    # A staleness budget below what was measured rules the asynchronous options out.
    use_case.staleness_s = measured_p99 / 2000.0
    use_case.save()
    output = use_case_snapshot(use_case=use_case, by=owner).output
    assert output["broker"]["within_staleness"] is False
    ruled_out = {
        miss["pattern"] for miss in output["ruled_out"] if miss["requirement"] == "staleness-budget"
    }
    assert {"request-event", "event-driven", "saga-choreography"} <= ruled_out
    page = owner_client.get(use_case.get_absolute_url()).content.decode()
    assert "over the staleness budget" in page


def test_losses_and_duplicates_of_a_stored_probe_are_risks_and_reach_the_adr(acme, owner):
    run = finished_run(_broker_endpoint(acme), delivery_outcome(lost=3, duplicates=2))
    use_case = _eventual_use_case(acme, by=owner)
    risks = {risk["id"]: risk for risk in use_case.latest_snapshot.output["risks"]}
    assert risks["broker-loss"]["severity"] == "high"
    assert "lost 3 of 1000 messages (0.3%) at 500 msg/s" in risks["broker-loss"]["text"]
    assert "2 of 1000 messages" in risks["broker-duplicates"]["text"]

    decision = decision_create_from_use_case(use_case=use_case, by=owner)
    assert "events reach consumers in p99" in decision.confirmation
    assert "3 lost, 2 duplicated" in decision.confirmation
    assert "### Measured against stated" in decision.more_information
    assert "| order-events: delivery (after the answer) | staleness budget 5 s |" in (
        decision.more_information
    )
    assert f"probe #{run.pk} of Order events" in decision.more_information
    markdown = to_madr(Decision.objects.get(pk=decision.pk))
    assert "* Broker of the asynchronous half: order-events" in markdown
    assert "| payments (before the answer) | p50 30 / p99 120 ms | not measured |" in markdown

    # The PDF carries the same table, read back as text.
    pdf = PdfReader(io.BytesIO(adr_pdf(Decision.objects.get(pk=decision.pk))))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Measured against stated" in text
    assert "order-events: delivery (after the answer)" in text and "staleness budget 5 s" in text
    assert "3 / 2 / 0 of 1,000 messages" in text


def test_an_unmeasured_broker_says_what_to_do(acme, owner, owner_client):
    use_case = _eventual_use_case(acme, by=owner)
    assert use_case.latest_snapshot.output["broker"]["measured"] is False
    page = owner_client.get(use_case.get_absolute_url()).content.decode()
    assert "order-events is not measured yet" in page
    add = reverse("probes:endpoint-create", args=["acme"]) + "?service=order-events"
    assert add in page and "Add broker endpoint" in page


def test_a_broker_endpoint_never_stands_in_for_a_hop_of_the_same_name(acme, owner, owner_client):
    broker = Endpoint.objects.create(
        team=acme, name="Payments stream", service="payments", url=BROKER_URLS["redis"]
    )
    finished_run(broker, delivery_outcome())
    use_case = _eventual_use_case(acme, by=owner)
    hop = use_case.latest_snapshot.output["chain_estimate"]["hops"][0]
    assert (hop["service"], hop["source"], hop["p99_ms"]) == ("payments", "stated", 120.0)
    page = owner_client.get(use_case.get_absolute_url()).content.decode()
    assert "Payments stream" not in page


def test_the_questionnaire_refuses_a_broker_named_like_a_hop(acme, member_client):
    create = reverse("usecase-create", args=["acme"])
    answer = member_client.post(
        create, answers(name="Clash", broker_service="inventory", consistency="eventual")
    )
    assert answer.status_code == 400
    assert "Name the broker apart from the chain" in answer.content.decode()
    assert not UseCase.objects.filter(name="Clash").exists()
