"""/healthz: database, Redis and live workers, without a login and without team data."""

from __future__ import annotations

import random

import pytest
from django.test import Client

from tests.probes.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_200_when_the_database_and_redis_answer(acme):
    response = Client().get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    assert isinstance(body["workers"]["count"], int)
    # Anonymous, and nothing about any team.
    assert "acme" not in response.content.decode().lower()


def test_healthz_is_503_naming_redis_when_redis_does_not_answer(monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["redis"]["ok"] is False
    assert body["database"] == {"ok": True}
    assert body["workers"] == {"count": 0}


def test_healthz_counts_the_workers_that_answer_a_ping(monkeypatch, start_celery_worker):
    from config.celery import app

    # A Redis database of its own: workers of other test runs on the shared Redis
    # answer pings on their database's channels only.
    url = f"redis://127.0.0.1:6379/{random.randint(8, 15)}"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setattr(app.conf, "broker_url", url)
    # The app's broker connections are pooled per URL: new pools for the new URL.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    assert Client().get("/healthz").json()["workers"]["count"] == 0
    start_celery_worker("health-a")
    start_celery_worker("health-b")
    body = Client().get("/healthz").json()
    assert body["workers"]["count"] == 2
    assert body["status"] == "ok"
