"""The job-shape migrations keep existing rows: times renamed, "done" becomes "succeeded"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("decisions", "0001_initial"), ("probes", "0001_initial")]
AFTER = [("decisions", "0003_exportjob_status_succeeded"), ("probes", "0002_job_shape")]
STARTED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
FINISHED = datetime(2026, 3, 1, 9, 31, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_export_jobs_and_probe_shards_survive_the_job_shape_migrations():
    old = migrate(BEFORE)
    team = old.get_model("decisions", "Team").objects.create(slug="acme", name="Acme")
    export = old.get_model("decisions", "ExportJob")
    done = export.objects.create(
        team=team, status="done", progress=100, started=STARTED, finished=FINISHED
    )
    failed = export.objects.create(team=team, status="failed", error="disk full", progress=40)
    endpoint = old.get_model("probes", "Endpoint").objects.create(
        team=team, name="e", url="http://127.0.0.1:9/"
    )
    run = old.get_model("probes", "ProbeRun").objects.create(
        team=team, endpoint=endpoint, url=endpoint.url, status="succeeded", progress=100.0
    )
    old.get_model("probes", "ProbeShard").objects.create(
        run=run, index=0, status="succeeded", worker="w@box", started_at=STARTED
    )

    try:
        new = migrate(AFTER)
        export = new.get_model("decisions", "ExportJob")
        done = export.objects.get(pk=done.pk)
        assert (done.status, done.progress) == ("succeeded", 100)
        assert (done.started_at, done.finished_at) == (STARTED, FINISHED)
        assert (done.worker, done.heartbeat_at) == ("", None)
        failed = export.objects.get(pk=failed.pk)
        assert (failed.status, failed.error, failed.progress) == ("failed", "disk full", 40)
        shard = new.get_model("probes", "ProbeShard").objects.get(run_id=run.pk)
        assert (shard.status, shard.worker, shard.started_at) == ("succeeded", "w@box", STARTED)
        assert shard.created is not None

        # And back: the old names and "done" return.
        old = migrate(BEFORE)
        done = old.get_model("decisions", "ExportJob").objects.get(pk=done.pk)
        assert (done.status, done.started, done.finished) == ("done", STARTED, FINISHED)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
