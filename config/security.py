"""The Content-Security-Policy header, and how login throttling (django-axes) sees a client.

The policy is one fixed string, so a small middleware sets it: no nonces, no per-view
exceptions, nothing to configure (docs/security.md says why not django-csp).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Images in Markdown are data: URIs only (decisions/markdown.py).
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Documents a browser renders as a page: HTML, and SVG opened on its own.
DOCUMENT_TYPES = ("text/html", "image/svg+xml")


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every HTML (or SVG) response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith(DOCUMENT_TYPES):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def client_ip(request: HttpRequest) -> str:
    """The address a login attempt came from, as axes keys it.

    Behind ``ARCHWAY_TRUSTED_PROXIES`` proxies the client is that many entries from the
    right of X-Forwarded-For (each proxy appends the address it saw); entries further
    left are whatever the client chose to send, so they are never used.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.ARCHWAY_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The login page again, saying why the attempt was refused and for how long."""
    message = (
        f"Too many failed logins for this user from your address. "
        f"Logging in is paused for {_minutes(settings.AXES_COOLOFF_TIME)}; "
        f"others, and this user from elsewhere, can still log in."
    )
    return render(
        request,
        "registration/login.html",
        {
            "form": AuthenticationForm(request),
            "locked_out": message,
            "next": request.POST.get("next", ""),
        },
        status=429,
    )
