"""Two workers share a sharded probe; the shard histograms merge exactly."""

from __future__ import annotations

import pytest

from probes.engine import decode_histogram
from probes.models import ACTIVE, JobStatus
from tests.probes.probe_factories import allow_loopback, make_endpoint, run_status, start, wait_for
from tests.probes.servers import Behaviour, running

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_workers_each_run_a_shard_and_the_last_one_merges_them(
    acme, owner, settings, monkeypatch, start_celery_worker
):
    allow_loopback(settings, monkeypatch)
    start_celery_worker("left")
    start_celery_worker("right")
    with running(Behaviour(delay_ms=2)) as server:
        endpoint = make_endpoint(acme, server.url)
        run = start(
            endpoint, by=owner, rate=40.0, duration_s=2.0, warmup_s=0.2, shards=2, concurrency=4
        )
        wait_for(lambda: run_status(run) not in ACTIVE, timeout=90, what="both shards")
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    shards = list(run.shard_rows.all())
    assert [s.status for s in shards] == [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED]
    # Each worker runs one task at a time and holds one message, so each took a shard.
    assert {s.worker.split("@")[0] for s in shards} == {"left-0", "right-1"}
    per_shard = [s.outcome["requests"] for s in shards]
    assert all(n > 0 for n in per_shard)
    # The merge is exact: counts add up, and so do the histograms.
    assert run.summary["requests"] == sum(per_shard)
    merged = decode_histogram(run.outcome["histogram"])
    assert merged.get_total_count() == sum(
        decode_histogram(s.outcome["histogram"]).get_total_count() for s in shards
    )
    # Together the shards sent the whole schedule: 40/s for 2 s.
    assert 70 <= run.summary["requests"] <= 82
