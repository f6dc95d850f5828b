"""Whole pages kept per viewer, for pages that read the same on every visit until their
data changes (the questionnaire before any answer is typed).

The page is rendered once with a placeholder where the CSRF token goes, and each response
gets the visitor's own token, freshly masked by Django as for any page. The key holds
everything else the page shows: the user and their teams and roles (the navigation key),
the template, and what the view says the content depends on. Access is checked before
the cache is consulted, and a page with messages waiting is rendered afresh so that they
are shown once, as usual.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string

from decisions.teams.context_processors import teams

PAGE_TIMEOUT_S = 600
# A fresh value per process, so no page text can spell it by chance or on purpose.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}".encode()


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    depends_on: Iterable[object],
) -> HttpResponse:
    """``render(request, template, context)``, served from the cache when nothing that
    ``depends_on`` names has changed for this viewer."""
    if len(messages.get_messages(request)):
        return render(request, template, context)
    shape = repr((template, teams(request)["nav_key"], request.user.get_username(), *depends_on))
    key = "page:" + hashlib.blake2b(shape.encode(), digest_size=16).hexdigest()
    page = cache.get(key)
    if page is None:
        context = {**context, "csrf_token": CSRF_PLACEHOLDER.decode()}
        page = render_to_string(template, context, request).encode()
        cache.set(key, page, PAGE_TIMEOUT_S)
    return HttpResponse(page.replace(CSRF_PLACEHOLDER, get_token(request).encode()))
