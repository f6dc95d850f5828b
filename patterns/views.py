"""Public catalog pages: every pattern, and one pattern in detail."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from patterns.catalog import FAMILY_NAMES, pattern_get, pattern_list


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    patterns = pattern_list()
    families = [
        (FAMILY_NAMES[family], [p for p in patterns if p.family == family])
        for family in ("sync", "async", "hybrid")
    ]
    return render(request, "patterns/catalog.html", {"patterns": patterns, "families": families})


@require_GET
def detail(request: HttpRequest, pattern_id: str) -> HttpResponse:
    pattern = pattern_get(pattern_id)
    if pattern is None:
        raise Http404("No such pattern")
    others = [p for p in pattern_list() if p.family == pattern.family and p.id != pattern.id]
    return render(request, "patterns/detail.html", {"pattern": pattern, "others": others})
