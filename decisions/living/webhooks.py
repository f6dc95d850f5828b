"""Adding a team webhook: its URL passes the probes' egress guard (through the seam)."""

from __future__ import annotations

from decisions.living.notify import webhook_guard
from decisions.models import Team, Webhook


class WebhookRefused(Exception):  # noqa: N818 - reads as what happened
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def webhook_add(*, team: Team, url: str) -> Webhook:
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookRefused("a webhook URL starts with http:// or https://")
    try:
        webhook_guard(url)
    except ValueError as exc:
        raise WebhookRefused(str(exc)) from None
    return Webhook.objects.create(team=team, url=url)
