"""Demo endpoints for team acme, pointing at the demo service (`make run` starts it).

Idempotent: running it twice changes nothing the second time. The service
names match the chains in ``decisions/demo.py``, so once a demo probe has run,
the use cases that call these services show measured latency.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from decisions.models import Team
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
    return created
