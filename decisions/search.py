"""Text from a page's query string, made safe to put in a database filter.

PostgreSQL refuses a NUL character in any string parameter (a 500 before this), and
nothing a person searches for needs one, nor more than ``QUERY_MAX_CHARS`` characters.
"""

from __future__ import annotations

from django.http import HttpRequest

QUERY_MAX_CHARS = 200


def query_param(request: HttpRequest, name: str) -> str:
    """``request.GET[name]`` without NUL characters, trimmed, at most ``QUERY_MAX_CHARS``."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:QUERY_MAX_CHARS]
