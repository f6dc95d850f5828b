"""``/healthz``: is this instance able to serve? For load balancers and `make prod`.

No login and no team data: the database and Redis each answer or not, and how many
Celery workers answered a ping. Workers are reported but do not decide the status:
pages work without them, and only actions that need the queue say so.
"""

from __future__ import annotations

import redis
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app

WORKER_PING_TIMEOUT_S = 0.5
REDIS_TIMEOUT_S = 1.0


def _database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200] or type(exc).__name__}


def _redis() -> dict[str, object]:
    client = redis.Redis.from_url(
        app.conf.broker_url,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
    )
    try:
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc)[:200] or type(exc).__name__}
    finally:
        client.close()


def _workers() -> dict[str, object]:
    try:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any broker failure means "none answered"
        return {"count": 0, "error": str(exc)[:200] or type(exc).__name__}
    return {"count": len(replies or [])}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {"database": _database(), "redis": _redis()}
    failing = [name for name, check in checks.items() if not check["ok"]]
    checks["workers"] = _workers() if checks["redis"]["ok"] else {"count": 0}
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, **checks},
        status=503 if failing else 200,
    )
