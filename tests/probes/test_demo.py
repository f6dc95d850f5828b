"""The demo endpoints: acme's chain services, pointing at the demo service."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from decisions.models import ChainHop
from probes.models import Endpoint

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_acme_an_endpoint_for_every_service_its_chains_call(capsys):
    call_command("seed_demo")
    endpoints = Endpoint.objects.filter(team__slug="acme")
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
    call_command("seed_demo")
    assert Endpoint.objects.count() == len(services)
    assert "already in place" in capsys.readouterr().out


def test_the_demo_paths_exist_on_the_demo_service():
    from probes.demo import ENDPOINTS
    from probes.demo_service import build_app

    routes = {r.resource.canonical for r in build_app(seed=1).router.routes()}
    assert {path.split("?")[0] for _, _, _, path, _ in ENDPOINTS} <= routes
