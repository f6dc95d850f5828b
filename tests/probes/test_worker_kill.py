"""A worker killed mid-run: the reaper interrupts the run and keeps what was measured."""

from __future__ import annotations

import time

import pytest

from probes.models import JobStatus, ProbeRun
from probes.services.reaper import reap_stale_runs
from tests.probes.probe_factories import allow_loopback, make_endpoint, start, wait_for
from tests.probes.servers import running

pytestmark = pytest.mark.django_db(transaction=True)


def test_killing_the_worker_mid_run_leaves_an_interrupted_run_with_its_partial_numbers(
    acme, owner, settings, monkeypatch, start_celery_worker
):
    allow_loopback(settings, monkeypatch)
    worker = start_celery_worker("doomed")
    with running() as server:
        endpoint = make_endpoint(acme, server.url)
        run = start(endpoint, by=owner, rate=40.0, duration_s=30.0, warmup_s=0)
        wait_for(lambda: ProbeRun.objects.get(pk=run.pk).sent >= 30, timeout=60, what="load")
        worker.kill()
        hits = server.hits
        time.sleep(0.5)
        assert server.hits == hits  # the load died with the worker

        # Nothing reports any more, so the reaper (here with a short limit) gives up on it.
        reaped = wait_for(lambda: reap_stale_runs(stale_after_s=1.0), timeout=30, what="the reaper")
    assert reaped == [run.pk]
    run.refresh_from_db()
    assert run.status == JobStatus.INTERRUPTED
    assert "stopped reporting" in run.error and "doomed-0@" in run.error
    assert run.sent >= 30 and run.completed > 0 and run.p50_ms is not None
    assert run.finished_at is not None
    shard = run.shard_rows.get()
    assert shard.status == JobStatus.INTERRUPTED and shard.sent >= 30
