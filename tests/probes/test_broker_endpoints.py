"""Broker and gRPC endpoints in the app: stored login, confirmation, runs, results, reaper, CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from probes.credentials import unseal
from probes.egress import Credentials
from probes.engine import shard_tag
from probes.models import Endpoint, JobStatus, ProbeRun, ProbeShard
from probes.services import execution, preconditions, reaper, runs
from tests.probes.brokers import BROKER_URLS, require_broker
from tests.probes.probe_factories import allow_loopback, make_endpoint, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    sent: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(
        runs, "enqueue_shards", lambda *, run_id, shard_ids: sent.append((run_id, shard_ids))
    )
    return sent


def _form(url: str, **extra: str) -> dict[str, str]:
    data = {"name": "Orders queue", "service": "orders", "url": url, "method": "GET"}
    data |= {"body": "", "expected_status": "", "timeout_s": "2", "headers_text": ""}
    return data | extra


def test_a_login_in_a_broker_url_is_sealed_apart_and_never_shown_again(
    acme, owner_client, settings
):
    allow_loopback(settings)
    create = reverse("probes:endpoint-create", args=["acme"])
    answer = owner_client.post(
        create, _form("amqp://orders-app:S3cret-pw@127.0.0.1:5672/", confirm_operated="on")
    )
    assert answer.status_code == 302
    endpoint = Endpoint.objects.get(name="Orders queue")
    assert (endpoint.url, endpoint.kind) == ("amqp://127.0.0.1:5672/", "amqp")
    assert "S3cret-pw" not in endpoint.credentials_sealed
    login = unseal(endpoint.credentials_sealed, settings.PROBE_CREDENTIALS_KEY)
    assert login == Credentials("orders-app", "S3cret-pw")
    assert endpoint.confirmed_at is not None and endpoint.confirmed_by.username == "olivia"
    for page in ("probes:endpoint-edit", "probes:endpoint-detail"):
        html = owner_client.get(reverse(page, args=["acme", endpoint.pk])).content.decode()
        assert "S3cret-pw" not in html and "orders-app" not in html
    # Saving again without a login keeps the stored one; a new host drops the confirmation.
    edit = reverse("probes:endpoint-edit", args=["acme", endpoint.pk])
    owner_client.post(edit, _form("amqp://127.0.0.2:5672/"))
    endpoint.refresh_from_db()
    assert unseal(endpoint.credentials_sealed, settings.PROBE_CREDENTIALS_KEY).username == (
        "orders-app"
    )
    assert endpoint.confirmed_at is None


def test_a_metadata_broker_url_is_a_field_error_not_a_500(acme, owner_client, settings):
    settings.PROBE_ALLOW = None
    create = reverse("probes:endpoint-create", args=["acme"])
    answer = owner_client.post(create, _form("redis://[64:ff9b:1::a9fe:a9fe]:6379/0"))
    assert answer.status_code == 400
    assert "cloud metadata address" in answer.content.decode()
    assert not Endpoint.objects.exists()


def test_an_unconfirmed_broker_endpoint_does_not_start(acme, owner, enqueued, settings):
    allow_loopback(settings)
    endpoint = make_endpoint(acme, "redis://127.0.0.1:6379/7")
    assert endpoint.kind == "redis"
    with pytest.raises(preconditions.ProbeRefused, match="has not confirmed"):
        start(endpoint, by=owner)
    assert not ProbeRun.objects.exists()


def test_a_broker_run_measures_deliveries_and_the_results_page_shows_them(
    acme, owner, owner_client, enqueued, settings
):
    require_broker("redis")
    allow_loopback(settings)
    endpoint = runs.endpoint_save(
        endpoint=Endpoint(team=acme, name="Events", service="events", url=BROKER_URLS["redis"]),
        by=owner,
        confirm=True,
    )
    run = start(endpoint, by=owner, rate=100.0, duration_s=0.6, warmup_s=0.1)
    assert execution.shard_execute(shard_id=run.shard_rows.get().pk, worker="here")
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.summary["requests"] == 60 and run.summary["lost"] == 0
    assert run.summary["confirm_p99_ms"] > 0
    html = owner_client.get(run.get_absolute_url()).content.decode()
    assert 'id="run-deliveries"' in html and "publish confirm p99" in html


def test_a_wrong_login_fails_the_run_without_showing_it(acme, owner, enqueued, settings):
    require_broker("amqp")
    allow_loopback(settings)
    endpoint = runs.endpoint_save(
        endpoint=Endpoint(team=acme, name="Q", url="amqp://127.0.0.1:5672/"),
        by=owner,
        credentials=Credentials("guest", "Not-The-Pw"),
        confirm=True,
    )
    run = start(endpoint, by=owner, duration_s=0.3, warmup_s=0.0)
    execution.shard_execute(shard_id=run.shard_rows.get().pk, worker="here")
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "could not be used" in run.error and "Not-The-Pw" not in run.error


async def _stream_exists(name: str) -> bool:
    import redis.asyncio as redis

    client = redis.Redis.from_url(BROKER_URLS["redis"])
    try:
        return bool(await client.exists(name))
    finally:
        await client.aclose()


async def _make_stream(name: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(BROKER_URLS["redis"])
    try:
        await client.xgroup_create(name, "archway-probe", id="$", mkstream=True)
    finally:
        await client.aclose()


def test_the_reaper_deletes_what_a_killed_broker_run_left(acme, owner, enqueued, settings):
    require_broker("redis")
    allow_loopback(settings)
    endpoint = runs.endpoint_save(
        endpoint=Endpoint(team=acme, name="Events", url=BROKER_URLS["redis"]),
        by=owner,
        confirm=True,
    )
    run = start(endpoint, by=owner)
    # What a worker killed mid-run leaves: its stream, and a shard that stopped reporting.
    stream = f"archway-probe:{shard_tag(execution.broker_run_id(run), 0)}"
    asyncio.run(_make_stream(stream))
    assert asyncio.run(_stream_exists(stream))
    ProbeShard.objects.filter(run=run).update(
        status=JobStatus.RUNNING,
        worker="w@gone",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    assert reaper.reap_stale_runs(stale_after_s=30) == [run.pk]
    assert not asyncio.run(_stream_exists(stream))
    run.refresh_from_db()
    assert run.status == JobStatus.INTERRUPTED


def test_manage_probe_accepts_broker_urls_and_prints_delivery_fields(settings):
    require_broker("nats")
    allow_loopback(settings)
    out = StringIO()
    call_command(
        "probe", BROKER_URLS["jetstream"], "--rate", "100", "--duration", "0.5",
        "--warmup", "0.1", "--format", "json", stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    assert {"lost", "duplicates", "reordered", "confirm_p99_ms"} <= set(result)
    assert result["requests"] == 50 and result["lost"] == 0


def test_manage_probe_refuses_a_public_broker_without_confirmation(settings):
    from django.core.management.base import CommandError

    settings.PROBE_ALLOW = None
    with pytest.raises(CommandError, match="--confirm-operated") as info:
        call_command("probe", "amqp://u:Pw-9@93.184.215.14/", "--rate", "1", "--duration", "1")
    assert info.value.returncode == 2 and "Pw-9" not in str(info.value)


def test_a_use_case_names_its_broker_by_service_name_in_the_questionnaire(acme, member_client):
    """Like a hop's HTTP endpoint, the broker is matched by the service name its endpoint
    carries, so decisions holds no link to a probes row."""
    from decisions.models import UseCase
    from tests.decisions.test_usecase_views import answers

    create = reverse("usecase-create", args=["acme"])
    too_long = member_client.post(create, answers(name="Bad", broker_service="x" * 81))
    assert too_long.status_code == 400 and not UseCase.objects.filter(name="Bad").exists()
    saved = member_client.post(create, answers(name="Checkout", broker_service="order-events"))
    assert saved.status_code == 302
    use_case = UseCase.objects.get(name="Checkout")
    assert use_case.broker_service == "order-events"
    page = member_client.get(use_case.get_absolute_url()).content.decode()
    assert "order-events" in page
