"""The demo endpoints: acme's chain services, pointing at the demo service."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from decisions.models import ChainHop
from probes.models import Endpoint

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_acme_an_endpoint_for_every_service_its_chains_call(capsys):
    call_command("seed_demo")
    endpoints = Endpoint.objects.filter(team__slug="acme", kind="http")
    services = set(endpoints.values_list("service", flat=True))
    chain_services = set(
        ChainHop.objects.filter(use_case__team__slug="acme").values_list("service", flat=True)
    )
    assert (
        services
        == chain_services
        == {
            "inventory",
            "payments",
            "shipping",
            "notifications",
            "search",
        }
    )
    assert all(e.url.startswith("http://127.0.0.1:8001/") for e in endpoints)
    assert "endpoint 'Reserve stock'" in capsys.readouterr().out
    brokers = Endpoint.objects.exclude(kind="http").count()
    call_command("seed_demo")
    assert Endpoint.objects.count() == len(services) + brokers
    assert "already in place" in capsys.readouterr().out


def test_seed_demo_adds_broker_endpoints_beside_celery_not_on_it(settings):
    from probes.credentials import unseal
    from tests.probes.brokers import answers

    call_command("seed_demo")
    brokers = {e.kind: e for e in Endpoint.objects.filter(team__slug="acme").exclude(kind="http")}
    redis = brokers["redis"]
    celery_db = settings.REDIS_URL.rsplit("/", 1)[-1] or "0"
    assert redis.url.startswith("redis://127.0.0.1:6379/")
    assert redis.url.rsplit("/", 1)[-1] != celery_db
    assert ("amqp" in brokers) == answers(5672) and ("nats" in brokers) == answers(4222)
    if "amqp" in brokers:
        amqp = brokers["amqp"]
        assert "guest" not in amqp.url
        login = unseal(amqp.credentials_sealed, settings.PROBE_CREDENTIALS_KEY)
        assert login.username == "guest"
    assert all(e.confirmed_at is not None for e in brokers.values())


def test_the_demo_paths_exist_on_the_demo_service():
    from probes.demo import ENDPOINTS
    from probes.demo_service import build_app

    routes = {r.resource.canonical for r in build_app(seed=1).router.routes()}
    assert {path.split("?")[0] for _, _, _, path, _ in ENDPOINTS} <= routes
