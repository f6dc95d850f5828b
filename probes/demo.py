"""Demo endpoints for team acme, pointing at the demo service (`make run` starts it).

Also a Redis stream endpoint (in a Redis database other than Celery's) and,
when they answer on their default loopback ports, RabbitMQ and NATS
endpoints; the demo confirms them as operated by the team.

Idempotent: running it twice changes nothing the second time. The service
names match the chains in ``decisions/demo.py``, so once a demo probe has run,
the use cases that call these services show measured latency.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from decisions.models import Team
from probes.credentials import seal
from probes.egress import Credentials
from probes.models import Endpoint

DEMO_SERVICE = "http://127.0.0.1:8001"

# (name, service, method, path, expected status)
ENDPOINTS: list[tuple[str, str, str, str, int | None]] = [
    ("Reserve stock", "inventory", "POST", "/inventory/reserve", 200),
    ("Authorise payment", "payments", "POST", "/payments/authorize", 200),
    ("Quote shipping", "shipping", "GET", "/shipping/quote", 200),
    ("Send notification", "notifications", "POST", "/notifications/send", 200),
    ("Search suggestions", "search", "GET", "/search?q=lamp", 200),
]


def demo_redis_db() -> int:
    """A Redis database the demo's stream may use: never the one Celery uses."""
    celery_db = urlsplit(settings.REDIS_URL).path.strip("/") or "0"
    return 3 if celery_db != "3" else 4


def answers_on_loopback(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def broker_endpoints() -> list[tuple[str, str, str, Credentials | None]]:
    """(name, service, URL, login) of the demo brokers: Redis always, the others when they
    answer. The Redis stream carries "order-events", the broker the demo's "Order
    notifications" use case names for its asynchronous half."""
    found: list[tuple[str, str, str, Credentials | None]] = [
        (
            "Order events (Redis stream)",
            "order-events",
            f"redis://127.0.0.1:6379/{demo_redis_db()}",
            None,
        )
    ]
    if answers_on_loopback(5672):
        found.append(
            (
                "Order events (RabbitMQ)",
                "order-events-rabbitmq",
                "amqp://127.0.0.1:5672/",
                Credentials("guest", "guest"),
            )
        )
    if answers_on_loopback(4222):
        found.append(
            (
                "Order events (NATS JetStream)",
                "order-events-nats",
                "nats://127.0.0.1:4222?jetstream=1",
                None,
            )
        )
    return found


@transaction.atomic
def seed_demo() -> list[str]:
    """Create the demo endpoints acme is missing; return a line per endpoint created."""
    team = Team.objects.filter(slug="acme").first()
    if team is None:  # decisions' demo makes the team; nothing to attach to without it
        return []
    author = get_user_model().objects.filter(username="alice").first()
    created: list[str] = []
    for name, service, method, path, expected in ENDPOINTS:
        _, made = Endpoint.objects.get_or_create(
            team=team,
            name=name,
            defaults={
                "service": service,
                "url": DEMO_SERVICE + path,
                "method": method,
                "headers": {"Content-Type": "application/json"} if method == "POST" else {},
                "body": '{"demo": true}' if method == "POST" else "",
                "expected_status": expected,
                "timeout_s": 2.0,
                "created_by": author,
            },
        )
        if made:
            created.append(f"endpoint {name!r}")
    for name, service, url, login in broker_endpoints():
        _, made = Endpoint.objects.get_or_create(
            team=team,
            name=name,
            defaults={
                "service": service,
                "url": url,
                "credentials_sealed": seal(login, settings.PROBE_CREDENTIALS_KEY) if login else "",
                "timeout_s": 2.0,
                "created_by": author,
                "confirmed_by": author,
                "confirmed_at": timezone.now(),
            },
        )
        if made:
            created.append(f"endpoint {name!r}")
    return created
