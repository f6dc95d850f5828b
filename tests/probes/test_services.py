"""Starting, executing, finalizing and reaping runs, in this process against real local servers.

These tests run a shard in the test process (no Celery) so they can look at
each step; tests/probes/test_tasks.py and friends do the same through a real
worker. ``enqueue_shards`` is replaced by a recorder here so nothing reaches
the broker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from decisions import jobs
from probes import tasks
from probes.egress import GuardedTarget
from probes.engine import ProbeOutcome, Progress
from probes.models import JobStatus, ProbeRun, ProbeShard
from probes.services import execution, preconditions, reaper, runs
from tests.probes.probe_factories import allow_loopback, make_endpoint, start
from tests.probes.servers import Behaviour, running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    sent: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(
        runs, "enqueue_shards", lambda *, run_id, shard_ids: sent.append((run_id, shard_ids))
    )
    return sent


def test_starting_a_probe_creates_the_run_and_a_shard_row_per_shard_and_enqueues_them(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    run = start(endpoint, by=owner, shards=3, concurrency=3)
    assert run.status == JobStatus.QUEUED and run.created_by == owner
    shard_ids = list(run.shard_rows.values_list("pk", flat=True))
    assert len(shard_ids) == 3
    assert enqueued == [(run.pk, shard_ids)]


def test_a_second_probe_for_the_same_team_is_refused_while_one_is_active(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    start(endpoint, by=owner)
    with pytest.raises(preconditions.ProbeRefused, match="already has 1 probe"):
        start(endpoint, by=owner)
    assert ProbeRun.objects.count() == 1


def test_a_shard_runs_the_load_and_the_run_keeps_the_merged_outcome(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    with running(Behaviour(delay_ms=2)) as server:
        endpoint = make_endpoint(acme, server.url + "/stock")
        run = start(endpoint, by=owner, rate=50.0, duration_s=1.0, warmup_s=0.2)
        shard = run.shard_rows.get()
        assert execution.shard_execute(shard_id=shard.pk, worker="here") is True
    run.refresh_from_db()
    shard.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert shard.status == JobStatus.SUCCEEDED and shard.worker == "here"
    assert run.summary["requests"] == run.outcome["requests"] > 30
    # A loaded test machine may make the generator late; then it must say so.
    assert run.valid is True or "late" in run.invalid_reason or "CPU" in run.invalid_reason
    assert run.progress == 100.0
    assert run.summary["p50_ms"] >= 2.0  # the server's injected delay
    assert run.outcome["status_counts"] == {"200": run.summary["requests"]}
    assert server.paths[-1] == "/stock"
    assert run.finished_at and run.started_at and run.heartbeat_at


def test_a_second_delivery_of_the_same_task_finds_the_shard_claimed_and_sends_nothing(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    with running() as server:
        endpoint = make_endpoint(acme, server.url)
        run = start(endpoint, by=owner, rate=20.0, duration_s=0.5, warmup_s=0)
        shard = run.shard_rows.get()
        assert tasks.run_probe_shard(shard.pk) is True
        hits = server.hits
        assert tasks.run_probe_shard(shard.pk) is False
        assert server.hits == hits > 0
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED


def test_the_guard_runs_again_before_the_load_and_a_refusal_fails_the_run(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    with running() as server:
        endpoint = make_endpoint(acme, server.url)
        run = start(endpoint, by=owner)
        settings.PROBE_ALLOW = None  # the administrator closed loopback since it was queued
        execution.shard_execute(shard_id=run.shard_rows.get().pk)
        assert server.hits == 0
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "127.0.0.1 is a loopback address" in run.error


def test_a_crash_marks_the_run_failed_and_keeps_what_was_measured(
    acme, owner, enqueued, settings, monkeypatch
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    run = start(endpoint, by=owner)

    def crash(target, plan, *, on_progress, should_stop, progress_interval_s):
        on_progress(Progress(40.0, 25, 24, 1, 3.5, 9.0, 0.5))
        import time

        time.sleep(execution.REPORT_INTERVAL_S * 3)  # let the reporter write it
        raise RuntimeError("generator exploded")

    monkeypatch.setattr(execution, "run_probe_sync", crash)
    execution.shard_execute(shard_id=run.shard_rows.get().pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "RuntimeError: generator exploded" in run.error
    assert (run.sent, run.completed, run.errors) == (25, 24, 1)
    assert (run.p50_ms, run.p99_ms) == (3.5, 9.0)


def _outcome(requests: int, **extra: object) -> dict:
    from probes.engine import encode_histogram, new_histogram

    h = new_histogram()
    for i in range(requests):
        h.record_value(1000 + i)
    encoded = encode_histogram(h)
    return ProbeOutcome(
        model="open",
        requests=requests,
        completed=requests,
        errors={},
        status_counts={"200": requests},
        duration_s=1.0,
        rps=float(requests),
        histogram=encoded,
        service_histogram=encoded,
        **extra,
    ).to_dict()


def test_only_the_last_shard_to_finish_finalizes_and_it_does_so_once(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    run = start(make_endpoint(acme, "http://127.0.0.1:9/"), by=owner, shards=2, concurrency=2)
    first, second = run.shard_rows.all()
    ProbeShard.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED, outcome=_outcome(30))
    assert execution.run_finalize(run_id=run.pk) is False  # the other shard is still queued
    ProbeShard.objects.filter(pk=second.pk).update(status=JobStatus.SUCCEEDED, outcome=_outcome(20))
    assert execution.run_finalize(run_id=run.pk) is True
    assert execution.run_finalize(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.summary["requests"] == 50
    assert run.outcome["status_counts"] == {"200": 50}


def test_cancel_before_a_worker_starts_cancels_the_queued_shards_at_once(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    run = start(make_endpoint(acme, "http://127.0.0.1:9/"), by=owner)
    runs.probe_cancel(run=run)
    assert run.status == JobStatus.CANCELLED and run.cancel_requested
    assert execution.shard_execute(shard_id=run.shard_rows.get().pk) is False


def test_the_reaper_interrupts_runs_whose_worker_went_quiet_and_keeps_their_numbers(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    quiet = start(endpoint, by=owner)
    long_ago = timezone.now() - timedelta(minutes=5)
    ProbeShard.objects.filter(run=quiet).update(
        status=JobStatus.RUNNING, worker="w1@box", heartbeat_at=long_ago, sent=120, errors=2
    )
    ProbeRun.objects.filter(pk=quiet.pk).update(status=JobStatus.RUNNING, sent=120, p99_ms=12.0)
    settings.PROBE_MAX_RUNNING_PER_TEAM = 2
    alive = start(endpoint, by=owner)
    ProbeShard.objects.filter(run=alive).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )

    assert reaper.reap_stale_runs(stale_after_s=30) == [quiet.pk]
    quiet.refresh_from_db()
    alive.refresh_from_db()
    assert quiet.status == JobStatus.INTERRUPTED
    assert "w1@box stopped reporting" in quiet.error
    assert (quiet.sent, quiet.errors, quiet.p99_ms) == (120, 2, 12.0)
    assert alive.status == JobStatus.QUEUED  # its heartbeat is fresh


def test_the_reaper_closes_a_run_whose_shards_all_ended_but_nobody_finalized_it(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    run = start(make_endpoint(acme, "http://127.0.0.1:9/"), by=owner)
    ProbeRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    run.shard_rows.update(status=JobStatus.SUCCEEDED, outcome=_outcome(12))
    assert reaper.reap_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED and run.summary["requests"] == 12


def test_the_reaper_fails_a_run_whose_queue_message_was_lost_and_frees_the_slot(
    acme, owner, enqueued, settings
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    lost = start(endpoint, by=owner)
    too_long = jobs.queued_too_long_s() + 60
    ProbeRun.objects.filter(pk=lost.pk).update(created=timezone.now() - timedelta(seconds=too_long))

    assert reaper.reap_stale_runs() == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == JobStatus.FAILED
    assert "no worker started it" in lost.error
    assert start(endpoint, by=owner).status == JobStatus.QUEUED  # the team may probe again


def test_the_reaper_leaves_a_freshly_queued_run_alone(acme, owner, enqueued, settings):
    allow_loopback(settings)
    run = start(make_endpoint(acme, "http://127.0.0.1:9/"), by=owner)
    assert reaper.reap_stale_runs() == []
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED


def test_the_reaper_runs_every_thirty_seconds_in_celery_beat_and_reaps_probes_too():
    from config.celery import app
    from decisions.tasks import reap_stale_jobs

    entry = app.conf.beat_schedule["decisions-reap-stale-jobs"]
    assert entry["task"] == reap_stale_jobs.name
    assert entry["schedule"] == 30.0
    assert jobs._reapers["probes"] is reaper.reap_stale_runs


@pytest.mark.parametrize(
    ("allowed_by", "model", "rate", "duration", "warmup", "needed"),
    [
        ("public", "open", 1.0, 60.0, 0.0, False),
        ("public", "open", 1.0, 59.0, 1.0, False),
        ("public", "open", 1.0, 60.0, 1.0, True),  # the warm-up is load too
        ("public", "open", 2.0, 10.0, 0.0, True),
        ("public", "open", 1.0, 61.0, 0.0, True),
        ("public", "closed", None, 5.0, 0.0, True),
        ("allow-list", "open", 500.0, 100.0, 1.0, False),
    ],
)
def test_only_public_hosts_pushed_past_one_request_a_second_for_a_minute_need_proof(
    allowed_by, model, rate, duration, warmup, needed
):
    guarded = GuardedTarget("http://x/", "http", "x", 80, "93.184.216.34", "/", allowed_by)
    load = runs.RunRequest(
        model=model, rate=rate, concurrency=1, duration_s=duration, warmup_s=warmup, shards=1
    )
    assert preconditions.needs_ownership_proof(guarded, load) is needed


def test_ownership_is_proven_only_by_the_teams_own_token_on_the_host(acme):
    token = preconditions.team_probe_token(acme)
    assert token.startswith("archway-") and preconditions.team_probe_token(acme) == token
    with running(Behaviour(body=token.encode() + b"\n")) as right:
        guarded = GuardedTarget(
            right.url, "http", "owned.example", right.port, "127.0.0.1", "/", "public"
        )
        assert preconditions.TeamProof(acme).proven(guarded) is True
        assert right.paths == ["/.well-known/archway-probe.txt"]
    with running(Behaviour(body=b"archway-someone-else")) as wrong:
        guarded = GuardedTarget(
            wrong.url, "http", "owned.example", wrong.port, "127.0.0.1", "/", "public"
        )
        assert preconditions.TeamProof(acme).proven(guarded) is False


# --- preconditions in one place -------------------------------------------------------


def _as_public(monkeypatch, server) -> None:
    """Treat the local server as a public host outside the allow-list (no traffic leaves)."""
    public = GuardedTarget(
        server.url, "http", "owned.example", server.port, "127.0.0.1", "/", "public"
    )
    monkeypatch.setattr(preconditions, "guard", lambda url: public)


def test_starting_a_probe_of_a_public_host_fetches_the_ownership_proof_once(
    acme, owner, enqueued, monkeypatch
):
    token = preconditions.team_probe_token(acme)
    with running(Behaviour(body=token.encode())) as server:
        _as_public(monkeypatch, server)
        endpoint = make_endpoint(acme, server.url)
        run = start(endpoint, by=owner, rate=5.0)
        assert server.paths == ["/.well-known/archway-probe.txt"]
    assert run.status == JobStatus.QUEUED and len(enqueued) == 1


def test_the_run_form_checks_shape_only_and_makes_no_network_call(acme, monkeypatch):
    from probes.forms import RunForm

    preconditions.team_probe_token(acme)  # a token exists, so the proof is worth fetching
    with running(Behaviour(body=b"not the token")) as server:
        _as_public(monkeypatch, server)
        endpoint = make_endpoint(acme, server.url)
        data = dict(model="open", rate="5", concurrency="4", duration_s="2", warmup_s="0")
        form = RunForm({**data, "shards": "1"}, endpoint=endpoint)
        assert form.is_valid(), form.errors
        assert server.hits == 0
        with pytest.raises(preconditions.ProbeRefused, match="has not proven"):
            runs.probe_start(endpoint=endpoint, request=form.run_request(), by=None)
        assert server.paths == ["/.well-known/archway-probe.txt"]
    assert not ProbeRun.objects.exists()


def test_every_cap_is_one_refusal_naming_each_field(acme, owner, enqueued, settings):
    allow_loopback(settings)
    settings.PROBE_MAX_RATE, settings.PROBE_MAX_SHARDS = 100.0, 2
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    with pytest.raises(preconditions.ProbeRefused) as refused:
        start(endpoint, by=owner, rate=500.0, shards=3, concurrency=3)
    assert set(refused.value.fields) == {"rate", "shards"}
    assert "ARCHWAY_PROBE_MAX_RATE" in refused.value.reason
    assert not ProbeRun.objects.exists() and enqueued == []


def test_saving_an_endpoint_runs_the_guard_in_the_service(acme, owner, settings):
    from probes.models import Endpoint

    settings.PROBE_ALLOW = None
    endpoint = Endpoint(team=acme, name="metadata", url="http://169.254.169.254/latest/")
    with pytest.raises(preconditions.ProbeRefused) as refused:
        runs.endpoint_save(endpoint=endpoint, by=owner)
    assert "cloud metadata address" in refused.value.fields["url"]
    assert not Endpoint.objects.exists()
