"""A probe in Chromium: the progress bar moves and the results arrive without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from probes.models import JobStatus, ProbeRun
from tests.probes.probe_factories import allow_loopback, make_endpoint
from tests.probes.servers import Behaviour, running

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_facilitator_watches_a_probe_live_and_gets_the_results_in_place(
    page_for, owner, acme, settings, monkeypatch, start_celery_worker
):
    allow_loopback(settings, monkeypatch)
    start_celery_worker("browser")
    with running(Behaviour(delay_ms=2)) as server:
        endpoint = make_endpoint(acme, server.url + "/quote", name="Quote shipping")
        page = page_for(owner)
        page.goto(f"/t/acme/probes/endpoints/{endpoint.pk}/probe/")
        expect(page.locator("#allow-note")).to_contain_text("The allow-list is set to loopback")
        page.fill("#id_rate", "30")
        page.fill("#id_concurrency", "4")
        page.fill("#id_duration_s", "3")
        page.fill("#id_warmup_s", "0.2")
        page.click("#start-probe")

        run = ProbeRun.objects.get()
        page.wait_for_url(f"**/probes/runs/{run.pk}/")
        page.evaluate("window.__sameDocument = true")
        # The bar moves while the load runs: a value strictly between 0 and 100.
        page.wait_for_function(
            "() => { const p = document.querySelector('#run-progress');"
            " return p && p.value > 0 && p.value < 100; }",
            timeout=30_000,
        )
        expect(page.locator("#live-sent")).not_to_have_text("0")
        # Then the results replace the live panel, plot included.
        expect(page.locator("#latency-plot svg")).to_be_visible(timeout=30_000)
    expect(page.locator("#series-plot svg")).to_be_visible()
    expect(page.locator("#run-body")).to_have_attribute("data-status", JobStatus.SUCCEEDED.value)
    expect(page.locator("#run-summary")).to_contain_text("Latency users saw")
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#run-progress").get_attribute("value") == "100.0"
