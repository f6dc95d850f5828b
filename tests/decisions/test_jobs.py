"""The one job shape (decisions.jobs): claims, heartbeats, takeovers and the export reaper."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from decisions import jobs
from decisions.jobs import JobStatus
from decisions.models import ExportJob
from decisions.records.exports.jobs import reap_stale_exports
from probes.models import Endpoint, ProbeRun, ProbeShard

pytestmark = pytest.mark.django_db


def long_ago() -> timezone.datetime:
    return timezone.now() - timedelta(minutes=5)


def test_a_queued_job_is_claimed_once_and_records_its_worker_and_a_heartbeat(acme):
    job = ExportJob.objects.create(team=acme)
    assert ExportJob.claim(job.pk, worker="w1 pid 1") is True
    assert ExportJob.claim(job.pk, worker="w2 pid 2") is False
    job.refresh_from_db()
    assert (job.status, job.worker) == (JobStatus.RUNNING, "w1 pid 1")
    assert job.heartbeat_at is not None and job.started_at is not None


def test_a_running_job_is_claimed_again_only_once_its_heartbeat_is_stale(acme):
    job = ExportJob.objects.create(team=acme)
    ExportJob.claim(job.pk, worker="w1 pid 1")
    assert ExportJob.claim(job.pk, worker="w2 pid 2", stale_after_s=30) is False  # fresh
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago())
    assert ExportJob.claim(job.pk, worker="w2 pid 2", stale_after_s=30) is True
    job.refresh_from_db()
    assert job.worker == "w2 pid 2"
    # The first worker, if it was only slow, can no longer beat or finish the job.
    assert ExportJob.beat(job.pk, worker="w1 pid 1") is False
    assert ExportJob.finish(job.pk, worker="w1 pid 1", status=JobStatus.SUCCEEDED) is False
    assert ExportJob.finish(job.pk, worker="w2 pid 2", status=JobStatus.SUCCEEDED) is True
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.finished_at is not None


def test_a_finished_job_is_never_claimed(acme):
    job = ExportJob.objects.create(team=acme, status=JobStatus.FAILED, heartbeat_at=long_ago())
    assert ExportJob.claim(job.pk, worker="w1 pid 1", stale_after_s=1) is False


def test_a_probe_shard_whose_worker_died_is_never_claimed_again(acme):
    endpoint = Endpoint.objects.create(team=acme, name="e", url="http://127.0.0.1:9/")
    run = ProbeRun.objects.create(team=acme, endpoint=endpoint, url=endpoint.url, rate=1)
    shard = ProbeShard.objects.create(run=run, index=0)
    assert ProbeShard.claim(shard.pk, worker="w1 pid 1") is True
    ProbeShard.objects.filter(pk=shard.pk).update(heartbeat_at=long_ago())
    assert ProbeShard.claim(shard.pk, worker="w2 pid 2", stale_after_s=1) is False


@pytest.mark.django_db(transaction=True)
def test_of_many_deliveries_claiming_at_once_exactly_one_wins(acme):
    job = ExportJob.objects.create(team=acme, status=JobStatus.RUNNING, heartbeat_at=long_ago())
    results: dict[int, bool] = {}
    gate = threading.Barrier(6)

    def deliver(n: int) -> None:
        try:
            gate.wait()
            results[n] = ExportJob.claim(job.pk, worker=f"w{n} pid {n}", stale_after_s=30)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, won in results.items() if won]
    assert len(results) == 6 and len(winners) == 1
    job.refresh_from_db()
    assert job.worker == f"w{winners[0]} pid {winners[0]}"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_running_job_fresh(acme):
    job = ExportJob.objects.create(team=acme)
    ExportJob.claim(job.pk, worker="w1 pid 1")
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago())
    with jobs.Heartbeat(ExportJob, job.pk, worker="w1 pid 1", every_s=0.05) as beat:
        deadline = timezone.now() + timedelta(seconds=10)
        while timezone.now() < deadline:
            job.refresh_from_db()
            if job.heartbeat_at > timezone.now() - timedelta(seconds=5):
                break
    assert not beat.is_alive()
    assert job.heartbeat_at > timezone.now() - timedelta(seconds=5)


def test_the_reaper_fails_an_export_whose_worker_went_quiet(acme):
    quiet = ExportJob.objects.create(team=acme, total=4)
    ExportJob.claim(quiet.pk, worker="w1@box pid 7")
    ExportJob.objects.filter(pk=quiet.pk).update(heartbeat_at=long_ago(), done=2, progress=35)
    alive = ExportJob.objects.create(team=acme)
    ExportJob.claim(alive.pk, worker="w2@box pid 8")

    assert reap_stale_exports(stale_after_s=30) == [quiet.pk]
    quiet.refresh_from_db()
    alive.refresh_from_db()
    assert quiet.status == JobStatus.FAILED and quiet.finished_at is not None
    assert "w1@box pid 7 stopped reporting" in quiet.error
    assert "nothing was written" in quiet.error
    assert (quiet.done, quiet.progress) == (2, 35)  # the progress made is kept
    assert quiet.file == ""  # a file is saved, and named, only when the job ends
    assert alive.status == JobStatus.RUNNING


def test_the_reaper_fails_an_export_whose_queue_message_was_lost(acme):
    lost = ExportJob.objects.create(team=acme)
    fresh = ExportJob.objects.create(team=acme)
    too_long = jobs.queued_too_long_s() + 60
    ExportJob.objects.filter(pk=lost.pk).update(
        created=timezone.now() - timedelta(seconds=too_long)
    )
    assert reap_stale_exports() == [lost.pk]
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == JobStatus.FAILED and "no worker started it" in lost.error
    assert fresh.status == JobStatus.QUEUED


def test_one_reaper_in_celery_beat_reaps_every_kind_of_job(acme):
    from config.celery import app

    entry = app.conf.beat_schedule["decisions-reap-stale-jobs"]
    assert (entry["task"], entry["schedule"]) == ("decisions.reap_stale_jobs", jobs.REAP_EVERY_S)
    job = ExportJob.objects.create(team=acme)
    ExportJob.claim(job.pk, worker="w1 pid 1")
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago())
    reaped = jobs.reap_stale_jobs(stale_after_s=30)
    assert set(reaped) == {"exports", "probes"}
    assert reaped["exports"] == [job.pk]
