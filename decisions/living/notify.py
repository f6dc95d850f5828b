"""Telling people about a decision's health: inbox, team webhooks and e-mail.

Events: an ADR turned at risk, recovered, became overdue, a check could not measure,
and the recommendation changed. Each goes to every member's inbox, to each active
webhook of the team (a Celery job per delivery, retried with backoff) and by e-mail
to members who have an address.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from decisions.evidence import guard_url
from decisions.models import (
    Decision,
    Membership,
    Notice,
    NoticeKind,
    Webhook,
    WebhookDelivery,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Archway-Signature"
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_ATTEMPTS = 5


def notice_text(decision: Decision, kind: str) -> str:
    label = f"{decision.label} {decision.title}"
    if kind == NoticeKind.AT_RISK:
        return f"{label} is at risk: {decision.at_risk_reason}."
    if kind == NoticeKind.RECOVERED:
        return f"{label} recovered: its measured assumptions hold again."
    if kind == NoticeKind.OVERDUE:
        return f"{label} was due for review on {decision.review_by:%Y-%m-%d}."
    if kind == NoticeKind.RECOMMENDATION_CHANGED:
        return f"{label}: {decision.recommendation_note}"
    problems = [
        f"{a.label}: {check.reason}"
        for a in decision.assumptions.all()
        if a.status == "invalid" and (check := a.checks.exclude(status="pending").first())
    ]
    return f"{label}: a check could not measure ({'; '.join(problems) or 'see the record'})."


def event_payload(decision: Decision, kind: str, text: str) -> dict[str, Any]:
    return {
        "event": kind,
        "team": decision.team.slug,
        "decision": {
            "number": decision.number,
            "label": decision.label,
            "title": decision.title,
            "at_risk_reason": decision.at_risk_reason,
            "recommendation_now": decision.recommendation_now,
            "review_by": decision.review_by.isoformat() if decision.review_by else None,
        },
        "text": text,
        "at": timezone.now().isoformat(),
    }


def notify(*, decision: Decision, kind: str) -> None:
    """Inbox entries now; webhooks and e-mail once the transaction commits."""
    team = decision.team
    text = notice_text(decision, kind)
    link = decision.get_absolute_url()
    members = list(Membership.objects.filter(team=team).select_related("user"))
    Notice.objects.bulk_create(
        Notice(user=m.user, team=team, decision=decision, kind=kind, text=text, link=link)
        for m in members
    )
    payload = event_payload(decision, kind, text)
    deliveries = [
        WebhookDelivery.objects.create(webhook=hook, event=kind, payload=payload)
        for hook in Webhook.objects.filter(team=team, active=True)
    ]
    if deliveries:
        transaction.on_commit(partial(enqueue_deliveries, [d.pk for d in deliveries]))
    addresses = [m.user.email for m in members if m.user.email]
    if addresses:
        subject = f"[Archway] {NoticeKind(kind).label}: {decision.label}"
        transaction.on_commit(partial(_mail, subject, f"{text}\n\n{link}\n", addresses))


def _mail(subject: str, body: str, addresses: list[str]) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
    except Exception:  # the inbox has it; a mail server being down is no reason to fail
        log.exception("Mail about %s not sent", subject)


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    from decisions.jobs import job_enqueue
    from decisions.living.tasks import deliver_webhook

    def fail(reason: str) -> None:
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status="queued").update(
            status="failed", error=reason
        )

    job_enqueue(deliver_webhook, [(pk, 0) for pk in delivery_ids], on_unavailable=fail)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_guard(url: str) -> Any:
    """The probes' egress guard on a webhook URL; ValueError with the reason."""
    return guard_url(url)


def post_json(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to the guarded address (no second DNS lookup); redirects are not followed."""
    target = webhook_guard(url)
    if target.scheme == "https":
        raw = socket.create_connection((target.address, target.port), timeout=WEBHOOK_TIMEOUT_S)
        context = ssl.create_default_context()
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=WEBHOOK_TIMEOUT_S, context=context
        )
        conn.sock = context.wrap_socket(raw, server_hostname=target.host)
    else:
        conn = http.client.HTTPConnection(target.address, target.port, timeout=WEBHOOK_TIMEOUT_S)
    try:
        conn.request(
            "POST",
            target.path_and_query or "/",
            body=body,
            headers={**headers, "Host": target.host_header},
        )
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def delivery_attempt(*, delivery_id: int) -> tuple[bool, bool]:
    """Send one delivery once; returns (delivered, worth retrying)."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status == "delivered":
        return True, False
    body = json.dumps(delivery.payload, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(delivery.webhook.secret, body),
        "User-Agent": "Archway-Webhook",
    }
    delivery.attempts += 1
    retry = False
    try:
        status = post_json(delivery.webhook.url, body, headers)
    except ValueError as exc:  # refused by the guard: retrying will not help
        delivery.status, delivery.error = "failed", f"Refused: {exc}"
    except OSError as exc:
        delivery.error, retry = f"{type(exc).__name__}: {exc}", True
    else:
        delivery.response_status = status
        if 200 <= status < 300:
            delivery.status, delivery.error = "delivered", ""
            delivery.delivered_at = timezone.now()
        elif 300 <= status < 400:
            delivery.status = "failed"
            delivery.error = f"answered {status}: redirects are not followed"
        else:
            delivery.error, retry = f"answered {status}", status >= 500 or status == 429
    if retry and delivery.attempts >= WEBHOOK_ATTEMPTS:
        delivery.status, retry = "failed", False
        delivery.error += f" (gave up after {delivery.attempts} attempts)"
    delivery.save()
    return delivery.status == "delivered", retry
