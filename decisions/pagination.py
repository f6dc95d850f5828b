"""One page of a list, with its count and the links to the pages around it.

Every list page (use cases, the decision log, probe runs, endpoints, review sessions)
shows at most ``per_page`` rows through Django's ``Paginator``: the page's rows are one
query with LIMIT/OFFSET and the count one ``COUNT(*)``, so the page costs the same at
100 rows as at 10,000. The links keep the rest of the query string (search, filters),
so a page of search results stays a page of the same search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, QueryDict

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class ListPage:
    """``page`` (Django's, iterable) and the query strings of its neighbours ("" if none)."""

    page: Page
    param: str
    first: str
    previous: str
    next: str
    last: str

    def __iter__(self):
        return iter(self.page)

    def __len__(self) -> int:
        return len(self.page)

    def __bool__(self) -> bool:
        return self.page.paginator.count > 0

    @property
    def count(self) -> int:
        return self.page.paginator.count

    @property
    def is_split(self) -> bool:
        return self.page.paginator.num_pages > 1


def _per_page(request: HttpRequest, default: int) -> int:
    asked = request.GET.get("per_page", "")
    if asked.isdigit() and int(asked) > 0:
        return min(int(asked), MAX_PER_PAGE)
    return default


def _query(request: HttpRequest, param: str, number: int) -> str:
    query: QueryDict = request.GET.copy()
    query[param] = str(number)
    return f"{request.path}?{query.urlencode()}"


def paginate(
    request: HttpRequest, items: Any, *, param: str = "page", per_page: int = PER_PAGE
) -> ListPage:
    """The page of ``items`` (a queryset, ordered) that ``request.GET[param]`` names.

    A missing, non-numeric or too-large page number gives the first or last page rather
    than an error (``Paginator.get_page``); ``?per_page=`` asks for up to MAX_PER_PAGE."""
    paginator = Paginator(items, _per_page(request, per_page))
    page = paginator.get_page(request.GET.get(param))
    last = paginator.num_pages
    return ListPage(
        page=page,
        param=param,
        first=_query(request, param, 1) if page.number > 1 else "",
        previous=_query(request, param, page.number - 1) if page.has_previous() else "",
        next=_query(request, param, page.number + 1) if page.has_next() else "",
        last=_query(request, param, last) if page.number < last else "",
    )
