"""The endpoint list, the team's probe runs and an endpoint's runs are paginated, with the
query count of a page independent of the page size."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from probes.models import Endpoint, ProbeRun
from probes.selectors import run_list
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run


def queries_for(client, url: str) -> tuple[int, str]:
    client.get(url)  # first visits make the team's probe token once
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def more_endpoints(team, count: int, owner) -> list[Endpoint]:
    start = Endpoint.objects.filter(team=team).count()
    endpoints = Endpoint.objects.bulk_create(
        Endpoint(
            team=team,
            name=f"Stock lookup {start + i:04d}",
            url=f"http://127.0.0.1:9/stock/{start + i}",
            service="inventory",
        )
        for i in range(count)
    )
    model = finished_run(endpoints[0], measured_outcome(), created_by=owner)
    runs = []
    for endpoint in endpoints[1:]:
        for _ in range(2):  # the list shows the newest of each endpoint's runs
            run = ProbeRun.objects.get(pk=model.pk)
            run.pk = None
            run.endpoint = endpoint
            runs.append(run)
    ProbeRun.objects.bulk_create(runs)
    return endpoints


@pytest.mark.parametrize("url", ["/t/acme/probes/", "/t/acme/probes/?runs=2"])
def test_the_probes_page_costs_the_same_queries_at_10_and_100_rows(owner_client, owner, acme, url):
    joiner = "&" if "?" in url else "?"
    more_endpoints(acme, 12, owner)
    at_10, _ = queries_for(owner_client, f"{url}{joiner}per_page=10")
    more_endpoints(acme, 110, owner)
    at_100, page = queries_for(owner_client, f"{url}{joiner}per_page=100")
    assert at_100 == at_10
    assert page.count('<tr id="endpoint-') == 100
    assert page.count('<tr id="run-row-') == 100


def test_an_endpoints_runs_cost_the_same_queries_at_10_and_100_rows(viewer_client, owner, acme):
    endpoint = more_endpoints(acme, 1, owner)[0]
    model = ProbeRun.objects.get(endpoint=endpoint)
    url = f"/t/acme/probes/endpoints/{endpoint.pk}/"

    def add(count: int) -> None:
        copies = []
        for _ in range(count):
            model.pk = None
            copies.append(
                ProbeRun(
                    **{f.attname: getattr(model, f.attname) for f in ProbeRun._meta.concrete_fields}
                )
            )
        ProbeRun.objects.bulk_create(copies)

    add(12)
    at_10, _ = queries_for(viewer_client, f"{url}?per_page=10")
    add(110)
    at_100, page = queries_for(viewer_client, f"{url}?per_page=100")
    assert at_100 == at_10
    assert "1–100 of 123" in page


def test_the_two_lists_on_the_probes_page_page_separately(viewer_client, owner, acme):
    more_endpoints(acme, 60, owner)
    _, page = queries_for(viewer_client, "/t/acme/probes/?page=2&runs=3")
    assert "51–60 of 60" in page  # endpoints, page 2
    assert "31–45 of 119" in page  # runs, 15 a page, page 3
    assert "Stock lookup 0055" in page and "Stock lookup 0001" not in page
    assert "page=2" in page.split('id="recent-runs"')[1]  # the runs' links keep the endpoints' page


def test_a_page_of_the_teams_runs_is_read_in_the_order_of_its_index(owner, acme):
    more_endpoints(acme, 20, owner)
    page = run_list(team=acme)[:15]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A tiny table is read whole and sorted otherwise; the question is whether an
            # index gives the page in order (without one, a sort stays in the plan).
            for method in ("seqscan", "bitmapscan", "sort"):
                cursor.execute(f"SET LOCAL enable_{method} = off")
        plan = page.explain()
    assert "probe_run_team_created" in plan, plan
    # No sort: the index gives the list's order (newest first, ties by id) as it is read.
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
