from __future__ import annotations

import json

import pytest
from django.urls import reverse

from decisions.models import UseCase
from decisions.usecases.services import use_case_save
from patterns.engine import Hop
from tests.factories import make_use_case
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def answers(**overrides: object) -> dict[str, object]:
    """A complete questionnaire POST: a browser checkout with two hops."""
    data: dict[str, object] = {
        "name": "Checkout",
        "description": "",
        "caller": "browser",
        "caller_waits": "on",
        "latency_p95_ms": "300",
        "latency_p99_ms": "800",
        "consistency": "strong",
        "staleness_s": "0",
        "availability": "99.9",
        "when_dependency_down": "fail-fast",
        "peak_rps": "100",
        "avg_rps": "20",
        "consumers": "1",
        "ordering": "none",
        "delivery": "at-least-once",
        "streaming": "none",
        "hops-TOTAL_FORMS": "2",
        "hops-INITIAL_FORMS": "0",
        "hops-0-service": "inventory",
        "hops-0-p50_ms": "10",
        "hops-0-p99_ms": "50",
        "hops-0-critical": "on",
        "hops-1-service": "payments",
        "hops-1-p50_ms": "40",
        "hops-1-p99_ms": "300",
        "hops-1-critical": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_list_shows_each_use_cases_current_recommendation(member_client, acme):
    make_use_case(acme, name="Order feed", caller_waits=False, consumers=5)
    response = member_client.get(reverse("usecase-list", args=["acme"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body and "Order feed" in body
    use_case = UseCase.objects.get(name="Order feed")
    assert use_case.latest_snapshot.output["options"][0]["name"] in body


def test_the_list_answers_htmx_with_only_the_table(member_client, acme):
    make_use_case(acme, name="Order feed")
    make_use_case(acme, name="Search")
    response = member_client.get(reverse("usecase-list", args=["acme"]), {"q": "feed"}, **HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="usecase-table">')
    assert "Order feed" in body and "Search" not in body


def test_creating_a_use_case_saves_its_chain_and_a_snapshot(member_client, member):
    response = member_client.post(reverse("usecase-create", args=["acme"]), answers())
    use_case = UseCase.objects.get(name="Checkout")
    assert response.status_code == 302
    assert response["Location"] == use_case.get_absolute_url()
    assert [h.service for h in use_case.hops.all()] == ["inventory", "payments"]
    snapshot = use_case.latest_snapshot
    assert snapshot.created_by == member
    assert snapshot.inputs["chain"][1]["service"] == "payments"
    assert snapshot.rule_pack_version == snapshot.output["rule_pack"]["version"]
    assert snapshot.top_pattern == snapshot.output["options"][0]["pattern"]


def test_bad_answers_show_field_errors_and_keep_what_was_typed(member_client):
    response = member_client.post(
        reverse("usecase-create", args=["acme"]),
        answers(latency_p99_ms="100", **{"hops-1-p99_ms": "5"}),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The p99 budget must be at least the p95 budget" in body
    assert "p99 must be at least p50" in body
    assert 'value="payments"' in body  # nothing typed is lost
    assert not UseCase.objects.exists()


def test_validating_one_field_returns_that_field_with_its_error(member_client):
    response = member_client.post(
        reverse("usecase-validate", args=["acme"]),
        answers(_field="latency_p99_ms", latency_p99_ms="10"),
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    url = reverse("usecase-validate", args=["acme"])
    assert '<div class="field has-error" id="field-latency_p99_ms"' in body
    assert f'hx-post="{url}"' in body  # the swapped-in field is checked again on change
    assert "at least the p95 budget" in body
    fine = member_client.post(
        reverse("usecase-validate", args=["acme"]), answers(_field="latency_p99_ms"), **HTMX
    )
    assert "has-error" not in fine.content.decode()


def test_validating_an_unknown_field_is_a_400(member_client):
    response = member_client.post(
        reverse("usecase-validate", args=["acme"]), answers(_field="nope")
    )
    assert response.status_code == 400


def test_an_unknown_field_name_comes_back_as_plain_text_never_as_markup(member_client):
    hostile = "<img src=x onerror=alert(1)>"
    response = member_client.post(
        reverse("usecase-validate", args=["acme"]), answers(_field=hostile), **HTMX
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert hostile in response.content.decode()


def test_the_preview_follows_the_answers(member_client):
    url = reverse("usecase-preview", args=["acme"])
    waiting = member_client.post(url, answers(), **HTMX).content.decode()
    not_waiting = member_client.post(
        url,
        answers(
            caller_waits=None,
            consistency="eventual",
            consumers="6",
            caller="internal",
            when_dependency_down="accept-and-defer",
        ),
        **HTMX,
    ).content.decode()
    assert "<html" not in waiting
    assert 'data-top="' in waiting and 'data-top="' in not_waiting
    top = waiting.split('data-top="')[1].split('"')[0]
    other_top = not_waiting.split('data-top="')[1].split('"')[0]
    assert top != other_top


def test_the_preview_lists_what_stops_a_recommendation(member_client):
    response = member_client.post(
        reverse("usecase-preview", args=["acme"]), answers(availability="120"), **HTMX
    )
    body = response.content.decode()
    assert "Fix these answers" in body and "Availability target" in body


def test_the_chain_editor_adds_removes_and_reorders_hops(member_client):
    url = reverse("usecase-chain", args=["acme"])
    added = member_client.post(url, answers(op="add"), **HTMX)
    assert "chainChanged" in json.loads(added["HX-Trigger-After-Swap"])
    assert added.content.decode().count('class="hop"') == 3
    moved = member_client.post(url, answers(op="up", index="1"), **HTMX).content.decode()
    assert moved.index('value="payments"') < moved.index('value="inventory"')
    removed = member_client.post(url, answers(op="remove", index="0"), **HTMX).content.decode()
    assert 'value="inventory"' not in removed and 'value="payments"' in removed


def test_the_chain_editor_rejects_unknown_operations(member_client):
    response = member_client.post(reverse("usecase-chain", args=["acme"]), answers(op="explode"))
    assert response.status_code == 400
    assert b"op must be one of" in response.content


def test_a_saved_chain_over_budget_is_shown_as_such(member_client, acme):
    use_case = make_use_case(
        acme,
        name="Slow chain",
        latency_p95_ms=100,
        latency_p99_ms=150,
        hops=[Hop("a", 60, 400), Hop("b", 60, 400), Hop("c", 60, 400)],
    )
    body = member_client.get(use_case.get_absolute_url()).content.decode()
    assert "over budget" in body
    assert use_case.latest_snapshot.within_budget is False


def test_evaluating_again_keeps_a_new_snapshot(member_client, acme):
    use_case = make_use_case(acme, name="Again")
    response = member_client.post(reverse("usecase-reevaluate", args=["acme", use_case.pk]))
    assert response.status_code == 302
    assert use_case.snapshots.count() == 2


def test_the_list_costs_the_same_queries_however_many_use_cases(
    member_client, acme, django_assert_max_num_queries
):
    url = reverse("usecase-list", args=["acme"])
    make_use_case(acme, name="First")
    member_client.get(url)  # a first visit, so both measured visits start alike
    with django_assert_max_num_queries(6) as few:
        member_client.get(url)
    for i in range(5):
        make_use_case(acme, name=f"More {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = member_client.get(url).content.decode()
    assert "More 4" in body


def test_the_edit_page_shows_the_use_case_as_last_saved(member_client, acme):
    use_case = make_use_case(acme, name="Checkout", hops=[Hop("inventory", 8, 40)])
    url = reverse("usecase-edit", args=["acme", use_case.pk])
    assert 'value="inventory"' in member_client.get(url).content.decode()
    use_case.name = "Checkout v2"
    use_case_save(use_case=use_case, hops=[Hop("ledger", 5, 20)], by=None)
    body = member_client.get(url).content.decode()
    assert "Checkout v2" in body and 'value="ledger"' in body and 'value="inventory"' not in body


def test_the_edit_page_uses_new_probe_evidence_without_a_save(member_client, acme):
    use_case = make_use_case(acme, name="Checkout", hops=[Hop("payments", 400, 900)])
    url = reverse("usecase-edit", args=["acme", use_case.pk])
    assert "(stated 400 / 900)" not in member_client.get(url).content.decode()
    payments = make_endpoint(acme, "http://127.0.0.1:8001/payments", service="payments")
    finished_run(payments, measured_outcome())
    assert "(stated 400 / 900)" in member_client.get(url).content.decode()


def _with_blank_hop(**overrides: object) -> dict[str, object]:
    """Answers as the chain editor leaves them after "Add a hop": the new row is blank."""
    blank = {"hops-TOTAL_FORMS": "3", "hops-INITIAL_FORMS": "3", "hops-2-service": "",
             "hops-2-p50_ms": "", "hops-2-p99_ms": "", "hops-2-critical": "on"}  # fmt: skip
    return answers(**{**blank, **overrides})


def test_a_blank_new_hop_does_not_blank_the_recommendation(member_client):
    response = member_client.post(
        reverse("usecase-preview", args=["acme"]), _with_blank_hop(), **HTMX
    )
    body = response.content.decode()
    assert 'id="recommendation-body"' in body and "recommendation-problems" not in body
    assert response.context["recommendation"]["chain_estimate"]["critical_hops"] == 2


def test_a_half_filled_hop_still_says_what_is_missing(member_client):
    response = member_client.post(
        reverse("usecase-preview", args=["acme"]), _with_blank_hop(**{"hops-2-service": "tax"}),
        **HTMX,
    )  # fmt: skip
    assert "Hop 3 p50_ms" in response.content.decode()


def test_saving_with_a_blank_new_hop_keeps_the_filled_ones(member_client):
    response = member_client.post(reverse("usecase-create", args=["acme"]), _with_blank_hop())
    assert response.status_code == 302
    use_case = UseCase.objects.get(name="Checkout")
    assert [hop.service for hop in use_case.hops.all()] == ["inventory", "payments"]
