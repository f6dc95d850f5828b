"""The engine's judgement in the app: the questionnaire's new answers, the panel's
"Ruled out" and "What would change the answer", availability stated and measured, the
ADR draft and its exports."""

from __future__ import annotations

import io
import re

import pytest
from django.apps import apps
from django.urls import reverse
from pypdf import PdfReader

from decisions.models import ChainHop, RecommendationSnapshot, UseCase
from decisions.records.exports.madr import to_madr
from decisions.records.exports.pdf import adr_pdf
from decisions.records.services import decision_create_from_use_case
from decisions.usecases.services import use_case_snapshot
from patterns.engine import FIELD_HELP, Hop, UseCaseInput
from probes.selectors import evidence_from_run
from tests.decisions.test_usecase_views import answers
from tests.factories import make_use_case
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

# A four-nines target through a three-nines dependency, with no room for a retry and
# strong consistency (so no cached answer): nothing meets every requirement.
PRESCRIPTION = {
    "name": "Prescription",
    "availability": "99.99",
    "latency_p95_ms": "200",
    "latency_p99_ms": "300",
    "hops-TOTAL_FORMS": "1",
    "hops-0-service": "pharmacy-stock",
    "hops-0-p50_ms": "40",
    "hops-0-p99_ms": "200",
    "hops-0-role": "needed",
    "hops-0-availability": "99.9",
    "hops-1-service": None,
    "hops-1-p50_ms": None,
    "hops-1-p99_ms": None,
    "hops-1-role": None,
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_questionnaire_asks_for_roles_availability_operation_and_long_running(
    member_client,
):
    body = member_client.get(reverse("usecase-create", args=["acme"])).content.decode()
    assert 'name="operation"' in body and 'name="long_running"' in body
    assert FIELD_HELP["operation"] in body and FIELD_HELP["long_running"] in body
    # The chain editor offers the role as a select and says where availability comes from.
    added = member_client.post(
        reverse("usecase-chain", args=["acme"]),
        {"op": "add", "hops-TOTAL_FORMS": "0", "hops-INITIAL_FORMS": "0"},
        **HTMX,
    ).content.decode()
    assert '<select name="hops-0-role"' in added
    assert 'value="side-effect"' in added and 'name="hops-0-availability"' in added
    assert "SLO" in added and "last quarter" in added


def test_saving_keeps_roles_availability_and_the_new_answers(member_client):
    data = answers(operation="write", long_running="on", **{"hops-1-availability": "99.95"})
    data["hops-1-role"] = "side-effect"
    response = member_client.post(reverse("usecase-create", args=["acme"]), data)
    assert response.status_code == 302
    use_case = UseCase.objects.get(name="Checkout")
    assert use_case.long_running and use_case.operation == "write"
    inventory, payments = use_case.hops.all()
    assert (inventory.role, inventory.critical, inventory.availability) == ("needed", True, None)
    assert (payments.role, payments.critical, payments.availability) == (
        "side-effect",
        False,
        99.95,
    )
    snapshot = use_case.latest_snapshot
    assert snapshot.inputs["long_running"] is True
    assert snapshot.inputs["chain"][1]["role"] == "side-effect"
    assert snapshot.inputs["chain"][1]["availability"] == 99.95
    assert {"ruled_out", "meets_all", "relaxations", "sensitivity"} <= set(snapshot.output)
    # A synchronous call cannot wait for a person: the snapshot says so.
    assert ("rest", "no-long-wait") in {
        (item["pattern"], item["requirement"]) for item in snapshot.output["ruled_out"]
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hops-0-availability", "150", "less than or equal to 100"),
        ("hops-0-role", "optional", "Select a valid choice"),
        ("hops-0-p99_ms", "500", "at most 20 times p50"),
        ("description", "d" * 10_001, "under 10,000 characters"),
    ],
)
def test_bad_answers_get_a_field_error_not_a_500(member_client, field, value, message):
    response = member_client.post(
        reverse("usecase-create", args=["acme"]), answers(**{field: value})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not UseCase.objects.filter(name="Checkout").exists()


def test_the_panel_shows_what_is_ruled_out_and_what_would_change_the_answer(member_client):
    response = member_client.post(
        reverse("usecase-preview", args=["acme"]), answers(**PRESCRIPTION), **HTMX
    )
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "No option meets every requirement." in text
    assert "Ruled out" in text
    assert "waits for pharmacy-stock at 99.9%: at most 99.9% against 99.99%" in text
    assert "What would change the answer" in text
    assert "If the availability target drops below 99.9% (now 99.99%)" in text
    assert "pharmacy-stock: p50 40 / p99 200 ms" in text
    assert "availability 99.9% stated" in text
    assert "At most 99.9% against a target of 99.99%: misses it" in text
    assert "answer before pharmacy-stock, which then lags by up to its event delay" in text


def test_measured_availability_from_a_probe_replaces_the_stated_figure(member_client, acme):
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/stock", service="pharmacy-stock")
    outcome = measured_outcome()  # a real probe of a local server, every fifth answer a 500
    run = finished_run(endpoint, outcome)
    evidence = evidence_from_run(run)
    errors = sum(outcome["errors"].values())
    assert errors > 0
    assert evidence.samples == outcome["requests"]
    assert evidence.successes == outcome["requests"] - errors
    assert evidence.availability_lower_pct < 100 * evidence.success_ratio

    use_case = make_use_case(
        acme,
        name="Stock check",
        availability=99.9,
        hops=[Hop("pharmacy-stock", 40, 200, availability=99.99)],
    )
    snapshot = use_case_snapshot(use_case=use_case, by=None)
    hop = snapshot.output["chain_estimate"]["hops"][0]
    assert hop["availability_source"] == "measured"
    assert hop["samples"] == evidence.samples and hop["stated_availability"] == 99.99
    assert hop["availability"] == pytest.approx(evidence.availability_lower_pct, abs=1e-3)

    page = member_client.get(use_case.get_absolute_url()).content.decode()
    text = _text(page)
    assert f"of {evidence.samples} requests succeeded; 95% lower bound; stated 99.99%" in text
    assert f"of {evidence.samples} requests; 95% lower bound" in text  # the evidence table


def test_an_old_snapshot_keeps_reading(member_client, acme):
    """A snapshot saved before roles, availability and the judgement existed."""
    use_case = make_use_case(acme, name="Legacy", hops=[Hop("inventory", 10, 50)])
    old = RecommendationSnapshot.objects.create(
        use_case=use_case,
        inputs={
            # Every field an old UseCaseInput had, none of those added since.
            **{
                key: value
                for key, value in UseCaseInput(name="Legacy").to_dict().items()
                if key not in ("description", "operation", "long_running")
            },
            "chain": [{"service": "inventory", "p50_ms": 10, "p99_ms": 50, "critical": False}],
        },
        output={
            "rule_pack": {"name": "archway-default", "version": "2026.11.1"},
            "options": [
                {
                    "pattern": "rest",
                    "family": "sync",
                    "name": "Synchronous REST over HTTP",
                    "score": 2.0,
                    "because": [],
                    "strengths": ["Familiar."],
                    "weaknesses": ["Latency accumulates."],
                }
            ],
            "supporting": [],
            "risks": [],
            "chain_estimate": {
                "hops": [
                    {
                        "service": "inventory",
                        "p50_ms": 10,
                        "p99_ms": 50,
                        "critical": True,
                        "source": "stated",
                    }
                ],
                "p50_ms": 10,
                "p95_ms": 30,
                "p99_ms": 50,
                "budget_p95_ms": 300,
                "budget_p99_ms": 800,
                "within_budget": True,
                "critical_hops": 1,
            },
            "fired_rules": [],
            "derived": {},
        },
        rule_pack_version="2026.11.1",
        top_pattern="rest",
        within_budget=True,
    )
    use_case.latest_snapshot = old
    use_case.save(update_fields=["latest_snapshot"])
    page = member_client.get(use_case.get_absolute_url())
    assert page.status_code == 200
    text = _text(page.content.decode())
    assert "Synchronous REST over HTTP" in text and "2026.11.1" in text
    assert "No option meets every requirement" not in text
    decision = decision_create_from_use_case(use_case=use_case, by=None)
    assert "inventory (p50 10 / p99 50 ms, side-effect, after the answer)" in decision.context
    assert "What would make us revisit this" not in decision.more_information


def test_hops_saved_before_roles_get_them_from_critical(acme):
    migration = __import__(
        "decisions.migrations.0007_hop_roles_availability_and_operation_kind",
        fromlist=["roles_from_critical"],
    )
    use_case = make_use_case(acme, name="Before roles")
    ChainHop.objects.bulk_create(
        [
            ChainHop(use_case=use_case, position=0, service="a", p50_ms=1, p99_ms=2),
            ChainHop(
                use_case=use_case, position=1, service="b", p50_ms=1, p99_ms=2, critical=False
            ),
        ]
    )
    migration.roles_from_critical(apps, None)
    assert [(h.service, h.role) for h in use_case.hops.all()] == [
        ("a", "needed"),
        ("b", "side-effect"),
    ]


def _prescription_adr(acme, owner):
    use_case = make_use_case(
        acme,
        name="Prescription",
        caller="browser",
        consistency="strong",
        availability=99.99,
        latency_p95_ms=200,
        latency_p99_ms=300,
        hops=[Hop("pharmacy-stock", 40, 200, availability=99.9)],
    )
    return decision_create_from_use_case(use_case=use_case, by=owner)


def test_the_adr_draft_says_what_is_ruled_out_and_what_would_make_us_revisit(acme, owner):
    decision = _prescription_adr(acme, owner)
    assert "pharmacy-stock (p50 40 / p99 200 ms, needed, availability 99.9%)" in decision.context
    assert "### What would make us revisit this" in decision.more_information
    assert "If the availability target drops below 99.9% (now 99.99%)" in decision.more_information
    assert "### Ruled out" in decision.more_information
    assert "at most 99.9% against 99.99%" in decision.more_information
    assert "No option meets every requirement" in decision.justification
    first = decision.considered_options[0]
    assert "Ruled out: availability-target." in first["summary"]
    assert any("at most 99.9% against 99.99%" in con for con in first["cons"])


def test_the_markdown_and_the_pdf_carry_the_new_sections(acme, owner):
    decision = _prescription_adr(acme, owner)
    markdown = to_madr(decision)
    for heading in ("### What would make us revisit this", "### Ruled out", "### Availability"):
        assert heading in markdown
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(adr_pdf(decision))).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "What would make us revisit this" in flat
    assert "Ruled out" in flat
    assert "at most 99.9% against 99.99%" in flat
