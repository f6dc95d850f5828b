"""Probes through a real Celery worker process, real Redis and a real local HTTP server."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from probes.models import ACTIVE, JobStatus, ProbeRun
from tests.probes.probe_factories import allow_loopback, make_endpoint, run_status, start, wait_for
from tests.probes.servers import Behaviour, running

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_runs_the_probe_reports_progress_and_stores_the_merged_result(
    acme, owner, settings, monkeypatch, start_celery_worker
):
    allow_loopback(settings, monkeypatch)
    start_celery_worker("probe")
    with running(Behaviour(delay_ms=3)) as server:
        endpoint = make_endpoint(acme, server.url + "/stock")
        run = start(endpoint, by=owner, rate=40.0, duration_s=2.0, warmup_s=0.2)
        seen: set[int] = set()

        def finished() -> bool:
            values = ProbeRun.objects.values("status", "sent").get(pk=run.pk)
            if values["status"] == JobStatus.RUNNING:
                seen.add(values["sent"])
            return values["status"] not in ACTIVE

        wait_for(finished, timeout=60, what="the probe to finish")
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    # Progress reached the database several times while the load ran.
    assert len(seen - {0}) >= 3
    shard = run.shard_rows.get()
    assert shard.worker.startswith("probe-0@")
    assert run.summary["requests"] == run.outcome["requests"] >= 60
    assert server.hits >= run.summary["requests"]
    assert run.summary["p50_ms"] >= 3.0
    assert run.outcome["status_counts"] == {"200": run.summary["requests"]}


def test_cancel_stops_the_load_within_about_a_second(
    acme, owner, owner_client, settings, monkeypatch, start_celery_worker
):
    allow_loopback(settings, monkeypatch)
    start_celery_worker("probe")
    with running() as server:
        endpoint = make_endpoint(acme, server.url)
        run = start(endpoint, by=owner, rate=50.0, duration_s=30.0, warmup_s=0)
        wait_for(lambda: ProbeRun.objects.get(pk=run.pk).sent >= 20, timeout=60, what="load")
        owner_client.post(reverse("probes:run-cancel", args=["acme", run.pk]))
        # Within ~1 s the load stops: at 50/s that is at most ~50 more requests
        # (the bound is generous for a loaded test machine).
        hits_at_cancel = server.hits
        wait_for(lambda: run_status(run) not in ACTIVE, timeout=30, what="the run to stop")
        hits_when_stopped = server.hits
        time.sleep(0.5)
        assert server.hits == hits_when_stopped  # nothing more after it says cancelled
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert hits_when_stopped - hits_at_cancel <= 100
    assert hits_when_stopped < 50 * 30 / 4
    # What it measured before the stop is kept and labelled.
    assert run.outcome["stopped"] is True and run.summary["requests"] > 0
