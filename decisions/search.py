"""Text search over ADRs and use cases: PostgreSQL full-text search with GIN indexes when
the database is PostgreSQL, a plain case-insensitive substring search on SQLite.

On PostgreSQL every text field of a record is one ``to_tsvector('english', ...)``: the
migration ``search_gin_indexes`` builds a GIN index on exactly the expressions below
(``DECISION_FIELDS``, ``USE_CASE_FIELDS``, ``HOP_FIELDS``), so a search reads the index
instead of every row. The words typed become a prefix query (``order & paym:*``), so the
live search finds "payments" while "paym" is still being typed; English stemming finds
"queues" for "queue". On SQLite (one small team, a laptop) every word must appear,
case-insensitively, in one of the same fields (``icontains``, a scan).

``query_param`` reads the text from a page's query string first: PostgreSQL refuses a
NUL character in any string parameter, and nothing a person searches for needs one, nor
more than ``QUERY_MAX_CHARS`` characters.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest

from decisions.models import ChainHop, Decision, UseCase

QUERY_MAX_CHARS = 200
CONFIG = "english"
# Every text field of an ADR; the options' JSON (names, summaries, pros, cons) as its text.
# A change to these lists needs a migration that rebuilds its GIN index (see 0010).
DECISION_FIELDS = (
    "title",
    "decision_makers",
    "consulted",
    "informed",
    "context",
    "drivers",
    "considered_options",
    "chosen_option",
    "justification",
    "consequences",
    "confirmation",
    "more_information",
)
USE_CASE_FIELDS = ("name", "description")
HOP_FIELDS = ("service",)
# Longer searches are cut here: enough words for any real search, a bound for the query.
MAX_TERMS = 12

_WORD = re.compile(r"\w+")


def query_param(request: HttpRequest, name: str) -> str:
    """``request.GET[name]`` without NUL characters, trimmed, at most ``QUERY_MAX_CHARS``."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:QUERY_MAX_CHARS]


def full_text() -> bool:
    return connection.vendor == "postgresql"


def search_vector(fields: tuple[str, ...]) -> SearchVector:
    """The indexed expression (migration 0010 built its GIN index from the same fields)."""
    return SearchVector(*fields, config=CONFIG)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:MAX_TERMS]


def prefix_query(text: str) -> SearchQuery | None:
    """Every word must match, the last one as a prefix; None when no word is left.
    Only word characters reach the query, so nothing typed can be tsquery syntax."""
    words = _words(text)
    if not words:
        return None
    words[-1] += ":*"
    return SearchQuery(" & ".join(words), search_type="raw", config=CONFIG)


def _every_word_somewhere(fields: tuple[str, ...], text: str, extra=None) -> Q:
    """SQLite: each word in at least one of the fields (or ``extra(word)``)."""
    found = Q()
    for word in _words(text):
        anywhere = Q()
        for field in fields:
            anywhere |= Q(**{f"{field}__icontains": word})
        if extra is not None:
            anywhere |= extra(word)
        found &= anywhere
    return found


def decisions_matching(decisions: QuerySet[Decision], text: str) -> QuerySet[Decision]:
    if full_text():
        query = prefix_query(text)
        if query is None:
            return decisions
        return decisions.alias(search=search_vector(DECISION_FIELDS)).filter(search=query)
    plain = tuple(f for f in DECISION_FIELDS if f != "considered_options")
    return decisions.alias(options_text=Cast("considered_options", TextField())).filter(
        _every_word_somewhere((*plain, "options_text"), text)
    )


def use_cases_matching(use_cases: QuerySet[UseCase], text: str) -> QuerySet[UseCase]:
    if full_text():
        query = prefix_query(text)
        if query is None:
            return use_cases
        # Two id lists, each read from its own GIN index, rather than one OR over a join
        # (which no index can answer).
        by_text = UseCase.objects.alias(search=search_vector(USE_CASE_FIELDS)).filter(search=query)
        by_hop = ChainHop.objects.alias(search=search_vector(HOP_FIELDS)).filter(search=query)
        return use_cases.filter(
            Q(pk__in=by_text.values("pk")) | Q(pk__in=by_hop.values("use_case_id"))
        )

    def in_a_hop(word: str) -> Exists:
        return Exists(ChainHop.objects.filter(use_case=OuterRef("pk"), service__icontains=word))

    return use_cases.filter(_every_word_somewhere(USE_CASE_FIELDS, text, in_a_hop))
