"""Probe pages: who may see and do what, the guard and caps as form errors, live polling."""

from __future__ import annotations

from html import escape

import pytest
from django.test import Client
from django.urls import reverse

from probes.models import Endpoint, JobStatus, ProbeRun
from tests.factories import make_use_case
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import allow_loopback, finished_run, make_endpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def endpoint_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Reserve stock",
        "service": "inventory",
        "url": "http://127.0.0.1:8001/inventory/reserve",
        "method": "POST",
        "headers_text": "Content-Type: application/json\nX-Trace: on",
        "body": '{"sku": 1}',
        "expected_status": "200",
        "timeout_s": "2",
    }
    data.update(overrides)
    return data


def run_data(**overrides: str) -> dict[str, str]:
    data = {
        "model": "open",
        "rate": "20",
        "concurrency": "4",
        "duration_s": "2",
        "warmup_s": "0.5",
        "shards": "1",
        "use_case": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def endpoint(acme):
    return make_endpoint(acme, "http://127.0.0.1:8001/inventory/reserve", name="Reserve")


# --- access ---------------------------------------------------------------------------


def test_outsiders_get_404_for_every_probe_page(outsider_client, endpoint):
    run = finished_run(endpoint, measured_outcome())
    urls = [
        reverse("probes:endpoint-list", args=["acme"]),
        reverse("probes:endpoint-create", args=["acme"]),
        reverse("probes:endpoint-detail", args=["acme", endpoint.pk]),
        reverse("probes:endpoint-edit", args=["acme", endpoint.pk]),
        reverse("probes:run-create", args=["acme", endpoint.pk]),
        reverse("probes:run-detail", args=["acme", run.pk]),
    ]
    for url in urls:
        assert outsider_client.get(url).status_code == 404, url
    cancel = reverse("probes:run-cancel", args=["acme", run.pk])
    assert outsider_client.post(cancel).status_code == 404


def test_a_run_is_not_reachable_through_another_teams_url(outsider_client, outsider, endpoint):
    run = finished_run(endpoint, measured_outcome())
    assert (
        outsider_client.get(reverse("probes:run-detail", args=["globex", run.pk])).status_code
        == 404
    )


@pytest.mark.parametrize("who", ["member_client", "viewer_client"])
def test_members_and_viewers_read_but_may_not_manage_endpoints_or_start_probes(
    request, who, endpoint
):
    client = request.getfixturevalue(who)
    run = ProbeRun.objects.create(team=endpoint.team, endpoint=endpoint, url=endpoint.url, rate=1)
    assert client.get(reverse("probes:endpoint-list", args=["acme"])).status_code == 200
    assert (
        client.get(reverse("probes:endpoint-detail", args=["acme", endpoint.pk])).status_code == 200
    )
    assert client.get(reverse("probes:run-detail", args=["acme", run.pk])).status_code == 200
    assert client.get(reverse("probes:endpoint-create", args=["acme"])).status_code == 403
    assert (
        client.post(reverse("probes:endpoint-create", args=["acme"]), endpoint_data()).status_code
        == 403
    )
    assert (
        client.post(
            reverse("probes:endpoint-edit", args=["acme", endpoint.pk]), endpoint_data()
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("probes:run-create", args=["acme", endpoint.pk]), run_data()
        ).status_code
        == 403
    )
    assert client.post(reverse("probes:run-cancel", args=["acme", run.pk])).status_code == 403
    run.refresh_from_db()
    assert not run.cancel_requested
    assert Endpoint.objects.count() == 1


def test_posts_without_the_csrf_token_are_refused(owner, endpoint, settings):
    allow_loopback(settings)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("probes:endpoint-create", args=["acme"])
    assert client.post(url, endpoint_data()).status_code == 403
    assert Endpoint.objects.count() == 1
    client.get(url)  # sets the CSRF cookie, as a browser visiting the form would
    token = client.cookies["csrftoken"].value
    response = client.post(url, {**endpoint_data(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Endpoint.objects.count() == 2


def test_the_nav_links_to_the_probes(member_client, acme):
    body = member_client.get(reverse("usecase-list", args=["acme"])).content.decode()
    assert reverse("probes:endpoint-list", args=["acme"]) in body


# --- endpoints and the guard --------------------------------------------------------------


def test_a_facilitator_saves_an_endpoint_with_its_headers(owner_client, acme, settings):
    allow_loopback(settings)
    response = owner_client.post(reverse("probes:endpoint-create", args=["acme"]), endpoint_data())
    endpoint = Endpoint.objects.get(name="Reserve stock")
    assert response.status_code == 302 and response["Location"] == endpoint.get_absolute_url()
    assert endpoint.headers == {"Content-Type": "application/json", "X-Trace": "on"}
    assert endpoint.team == acme and endpoint.method == "POST"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://127.0.0.1:8001/", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("ftp://example.com/", "scheme 'ftp' is not allowed"),
    ],
)
def test_refused_targets_are_form_errors_naming_the_reason(owner_client, url, reason, settings):
    settings.PROBE_ALLOW = None
    response = owner_client.post(
        reverse("probes:endpoint-create", args=["acme"]), endpoint_data(url=url)
    )
    assert response.status_code == 400
    assert reason in response.context["form"].errors["url"][0]
    assert escape(reason) in response.content.decode()
    assert not Endpoint.objects.exists()


def test_metadata_stays_refused_even_when_the_allow_list_opens_link_local(owner_client, settings):
    from probes.egress import parse_allow_list

    settings.PROBE_ALLOW = parse_allow_list("169.254.0.0/16")
    response = owner_client.post(
        reverse("probes:endpoint-create", args=["acme"]),
        endpoint_data(url="http://169.254.169.254/"),
    )
    assert "cloud metadata address" in response.context["form"].errors["url"][0]


def test_headers_the_probe_sets_itself_are_a_form_error(owner_client, settings):
    allow_loopback(settings)
    response = owner_client.post(
        reverse("probes:endpoint-create", args=["acme"]),
        endpoint_data(headers_text="Host: evil.example"),
    )
    assert "sets Host itself" in response.context["form"].errors["headers_text"][0]


def test_the_probe_pages_say_when_the_allow_list_is_set_to_loopback(
    owner_client, endpoint, settings
):
    allow_loopback(settings)
    for url in (
        reverse("probes:endpoint-list", args=["acme"]),
        reverse("probes:run-create", args=["acme", endpoint.pk]),
    ):
        assert "The allow-list is set to loopback" in owner_client.get(url).content.decode()
    settings.PROBE_ALLOW = None
    body = owner_client.get(reverse("probes:endpoint-list", args=["acme"])).content.decode()
    assert "No allow-list is set" in body and "set to loopback" not in body


def test_facilitators_see_the_team_ownership_token_and_viewers_do_not(
    owner_client, viewer_client, acme
):
    body = owner_client.get(reverse("probes:endpoint-list", args=["acme"])).content.decode()
    acme.refresh_from_db()
    assert acme.probe_token and acme.probe_token in body
    assert (
        acme.probe_token
        not in viewer_client.get(reverse("probes:endpoint-list", args=["acme"])).content.decode()
    )


# --- starting probes ------------------------------------------------------------------


def test_starting_a_probe_creates_a_queued_run_and_opens_its_page(owner_client, endpoint, settings):
    allow_loopback(settings)
    use_case = make_use_case(endpoint.team, name="Checkout")
    response = owner_client.post(
        reverse("probes:run-create", args=["acme", endpoint.pk]),
        run_data(use_case=str(use_case.pk), shards="2"),
    )
    run = ProbeRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert (run.status, run.rate, run.shards, run.use_case) == (JobStatus.QUEUED, 20.0, 2, use_case)
    assert run.shard_rows.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate", "6000", "over the cap of 5000 requests/s"),
        ("concurrency", "65", "over the cap of 64 connections"),
        ("duration_s", "121", "over the cap of 120 s"),
        ("shards", "9", "over the cap of 8 shards"),
    ],
)
def test_over_cap_values_are_form_errors_not_silent_clamps(
    owner_client, endpoint, settings, field, value, message
):
    allow_loopback(settings)
    settings.PROBE_MAX_RATE, settings.PROBE_MAX_CONCURRENCY = 5000.0, 64
    settings.PROBE_MAX_DURATION_S, settings.PROBE_MAX_SHARDS = 120.0, 8
    response = owner_client.post(
        reverse("probes:run-create", args=["acme", endpoint.pk]),
        run_data(
            **{field: value, "concurrency": "64" if field == "shards" else "4"} | {field: value}
        ),
    )
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not ProbeRun.objects.exists()


def test_a_second_probe_while_one_runs_is_a_form_error(owner_client, endpoint, settings):
    allow_loopback(settings)
    ProbeRun.objects.create(
        team=endpoint.team, endpoint=endpoint, url=endpoint.url, rate=1, status=JobStatus.RUNNING
    )
    response = owner_client.post(
        reverse("probes:run-create", args=["acme", endpoint.pk]), run_data()
    )
    assert response.status_code == 400
    assert "already has 1 probe queued or running" in response.content.decode()
    assert ProbeRun.objects.count() == 1


def test_a_target_refused_since_it_was_saved_is_a_form_error_on_the_run_form(
    owner_client, endpoint, settings
):
    settings.PROBE_ALLOW = None  # the endpoint points at loopback, now closed
    response = owner_client.post(
        reverse("probes:run-create", args=["acme", endpoint.pk]), run_data()
    )
    assert response.status_code == 400
    assert "127.0.0.1 is a loopback address" in response.content.decode()


def test_a_public_host_without_proof_is_kept_to_one_request_a_second(
    owner_client, endpoint, settings, monkeypatch
):
    from probes.egress import GuardedTarget
    from probes.services import preconditions

    public = GuardedTarget(endpoint.url, "http", "api.example", 80, "93.184.216.34", "/", "public")
    monkeypatch.setattr(preconditions, "guard", lambda url: public)
    # No traffic leaves the machine in tests: the proof fetch answers "no token".
    monkeypatch.setattr(preconditions.TeamProof, "proven", lambda self, guarded: False)
    url = reverse("probes:run-create", args=["acme", endpoint.pk])
    response = owner_client.post(url, run_data(rate="5"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "has not proven" in body and "/.well-known/archway-probe.txt" in body
    response = owner_client.post(url, run_data(rate="1", duration_s="60", warmup_s="0"))
    assert response.status_code == 302


def test_the_run_form_preselects_the_use_case_it_was_opened_from(owner_client, endpoint):
    use_case = make_use_case(endpoint.team, name="Checkout")
    response = owner_client.get(
        reverse("probes:run-create", args=["acme", endpoint.pk]) + f"?use_case={use_case.pk}"
    )
    assert response.context["form"].initial["use_case"] == use_case


# --- the live page and the results ---------------------------------------------------


def test_an_active_run_polls_every_half_second(member_client, endpoint):
    run = ProbeRun.objects.create(
        team=endpoint.team,
        endpoint=endpoint,
        url=endpoint.url,
        rate=10,
        status=JobStatus.RUNNING,
        progress=42.0,
        sent=210,
        errors=3,
        p50_ms=4.25,
        p99_ms=18.5,
    )
    url = reverse("probes:run-detail", args=["acme", run.pk])
    response = member_client.get(url, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="run-body"') and "<html" not in body
    assert 'hx-trigger="every 500ms"' in body and f'hx-get="{url}"' in body
    assert 'value="42.0"' in body and "210" in body and "18.50 ms" in body


def test_the_poll_that_sees_the_run_finished_stops_polling_and_brings_the_results(
    member_client, endpoint
):
    run = finished_run(endpoint, measured_outcome())
    response = member_client.get(reverse("probes:run-detail", args=["acme", run.pk]), **HTMX)
    assert response.status_code == 286  # htmx: stop polling
    body = response.content.decode()
    assert "hx-trigger" not in body
    assert 'id="run-results"' in body and "<svg" in body


def test_the_results_page_shows_plots_errors_status_codes_and_validity(member_client, endpoint):
    outcome = measured_outcome(error_every=5)
    run = finished_run(endpoint, outcome)
    body = member_client.get(reverse("probes:run-detail", args=["acme", run.pk])).content.decode()
    assert body.count("<svg") == 2
    assert 'id="latency-plot"' in body and 'id="series-plot"' in body
    assert f"<td>5xx</td><td>{outcome['errors']['5xx']}</td>" in body
    assert "<td>500</td>" in body and "<td>200</td>" in body
    assert "Valid measurement." in body
    assert "w@test" in body  # the shard's worker


def test_an_invalid_run_says_why(member_client, endpoint):
    run = finished_run(
        endpoint, measured_outcome(), valid=False, invalid_reason="send lag p99 9 ms > 2 ms"
    )
    body = member_client.get(reverse("probes:run-detail", args=["acme", run.pk])).content.decode()
    assert "Not a valid measurement" in body and "send lag p99 9 ms &gt; 2 ms" in body


def test_redirects_are_listed_as_recorded_never_followed(member_client, endpoint):
    run = finished_run(
        endpoint, measured_outcome(error_every=0, redirect_to="http://169.254.169.254/")
    )
    body = member_client.get(reverse("probes:run-detail", args=["acme", run.pk])).content.decode()
    assert "Redirects (recorded, never followed)" in body
    assert "302 → <code>http://169.254.169.254/</code>" in body


def test_the_results_give_a_verdict_against_the_linked_use_cases_budget(member_client, endpoint):
    from patterns.engine import Hop

    use_case = make_use_case(
        endpoint.team,
        name="Checkout",
        latency_p95_ms=0.01,
        latency_p99_ms=0.02,
        hops=[Hop("inventory", 5, 20), Hop("payments", 40, 300)],
    )
    run = finished_run(endpoint, measured_outcome(), use_case=use_case)
    body = member_client.get(reverse("probes:run-detail", args=["acme", run.pk])).content.decode()
    assert "Against “Checkout”" in body
    assert "over budget" in body
    assert "The whole chain with this measurement" in body


def test_a_failed_run_without_an_outcome_shows_what_it_measured_before_it_stopped(
    member_client, endpoint
):
    run = ProbeRun.objects.create(
        team=endpoint.team,
        endpoint=endpoint,
        url=endpoint.url,
        rate=10,
        status=JobStatus.INTERRUPTED,
        sent=77,
        completed=70,
        errors=7,
        p50_ms=3.0,
        p99_ms=9.0,
        error="the worker w1 stopped reporting",
    )
    body = member_client.get(reverse("probes:run-detail", args=["acme", run.pk])).content.decode()
    assert "had sent 77 requests, 70 answered, 7 errors" in body
    assert "the worker w1 stopped reporting" in body


def test_cancel_is_a_post_that_stops_a_queued_run_at_once(owner_client, endpoint):
    from probes.models import ProbeShard

    run = ProbeRun.objects.create(team=endpoint.team, endpoint=endpoint, url=endpoint.url, rate=1)
    ProbeShard.objects.create(run=run, index=0)
    url = reverse("probes:run-cancel", args=["acme", run.pk])
    assert owner_client.get(url).status_code == 405
    response = owner_client.post(url, **HTMX)
    assert response.status_code == 200 and 'id="run-body"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and run.cancel_requested


# --- delete and archive -----------------------------------------------------------


def _cite(endpoint, run, by):
    """An ADR drafted from a use case whose recommendation used `run` as evidence."""
    from decisions.records.services import decision_create_from_use_case
    from patterns.engine import Hop

    endpoint.service = "inventory"
    endpoint.save()
    use_case = make_use_case(endpoint.team, hops=[Hop("inventory", 5, 20)], by=by)
    assert f"probe #{run.pk}" in str(use_case.latest_snapshot.evidence)
    return decision_create_from_use_case(use_case=use_case, by=by)


def test_a_facilitator_deletes_an_endpoint_nobody_cites(owner_client, endpoint, acme):
    from decisions.models import TeamActivity

    run = finished_run(endpoint, measured_outcome())
    delete_url = reverse("probes:endpoint-delete", args=["acme", endpoint.pk])
    page = owner_client.get(delete_url).content.decode()
    assert "Delete endpoint “Reserve”?" in page
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert owner_client.post(delete_url).status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert not ProbeRun.objects.filter(pk=run.pk).exists()
    assert TeamActivity.objects.get(team=acme).subject == "endpoint “Reserve”"


def test_an_endpoint_an_adr_cites_is_archived_and_restored(
    owner_client, viewer_client, endpoint, owner
):
    run = finished_run(endpoint, measured_outcome())
    adr = _cite(endpoint, run, owner)
    delete_url = reverse("probes:endpoint-delete", args=["acme", endpoint.pk])
    page = owner_client.get(delete_url).content.decode()
    assert "Archive endpoint" in page and adr.label in page
    owner_client.post(delete_url)
    endpoint.refresh_from_db()
    assert endpoint.is_archived and ProbeRun.objects.filter(pk=run.pk).exists()
    listed = viewer_client.get(reverse("probes:endpoint-list", args=["acme"])).content.decode()
    assert f'id="endpoint-{endpoint.pk}"' not in listed
    archived = viewer_client.get(
        reverse("probes:endpoint-list", args=["acme"]), {"archived": "1"}
    ).content.decode()
    assert f'id="endpoint-{endpoint.pk}"' in archived
    # An archived endpoint is not probed until it is restored.
    probe = owner_client.get(reverse("probes:run-create", args=["acme", endpoint.pk]))
    assert probe.status_code == 302
    owner_client.post(reverse("probes:endpoint-restore", args=["acme", endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.is_archived


def test_an_endpoint_with_a_running_probe_is_not_deleted(owner_client, endpoint):
    finished_run(endpoint, measured_outcome(), status=JobStatus.RUNNING)
    delete_url = reverse("probes:endpoint-delete", args=["acme", endpoint.pk])
    response = owner_client.post(delete_url)
    assert response.status_code == 409
    assert "still running" in response.content.decode()
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_members_cannot_delete_endpoints_and_outsiders_get_404(
    member_client, outsider_client, endpoint
):
    delete_url = reverse("probes:endpoint-delete", args=["acme", endpoint.pk])
    assert member_client.post(delete_url).status_code == 403
    assert outsider_client.get(delete_url).status_code == 404
    restore_url = reverse("probes:endpoint-restore", args=["acme", endpoint.pk])
    assert outsider_client.post(restore_url).status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
