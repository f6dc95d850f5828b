"""Redis down: starting a probe says the job queue is unavailable; other pages still work.

The broker URL is pointed at a closed port on 127.0.0.1 for this test only;
the shared Redis keeps running for everyone else.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from probes.models import JobStatus, ProbeRun
from tests.probes.probe_factories import allow_loopback, make_endpoint
from tests.probes.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")


def test_starting_a_probe_with_the_broker_down_fails_the_run_and_says_why(
    owner_client, acme, settings, broker_down
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    response = owner_client.post(
        reverse("probes:run-create", args=["acme", endpoint.pk]),
        {
            "model": "open",
            "rate": "5",
            "concurrency": "2",
            "duration_s": "1",
            "warmup_s": "0",
            "shards": "2",
        },
        follow=True,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "the job queue is unavailable" in body
    run = ProbeRun.objects.get()
    assert run.status == JobStatus.FAILED
    assert run.error.startswith("the job queue is unavailable")
    assert set(run.shard_rows.values_list("status", flat=True)) == {JobStatus.FAILED}
    # A failed start does not hold the team's one probe slot.
    assert not ProbeRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()


def test_every_other_page_keeps_working_with_the_broker_down(
    owner_client, acme, settings, broker_down
):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    for url in (
        reverse("usecase-list", args=["acme"]),
        reverse("probes:endpoint-list", args=["acme"]),
        reverse("probes:endpoint-detail", args=["acme", endpoint.pk]),
        reverse("probes:run-create", args=["acme", endpoint.pk]),
    ):
        assert owner_client.get(url).status_code == 200, url
