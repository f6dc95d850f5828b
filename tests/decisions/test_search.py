"""Search covers every text field of an ADR and of a use case; on PostgreSQL it is full-text
search that reads a GIN index (run with DATABASE_URL=postgres://...), on SQLite a substring
search."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from decisions.models import Decision, UseCase
from decisions.records.selectors import decision_list
from decisions.records.services import decision_create
from decisions.search import decisions_matching, full_text, prefix_query, use_cases_matching
from decisions.usecases.selectors import use_case_list
from patterns.engine import Hop
from tests.factories import make_use_case

ADR_FIELDS = {
    "title": "Adopt zeppelin tracing",
    "context": "Support tickets mention quasar timeouts.",
    "drivers": "* nebula latency budget",
    "chosen_option": "Pulsar fan-out",
    "justification": "The walrus benchmark favoured it.",
    "consequences": "Good, because kestrel teams can reuse it.",
    "confirmation": "A flamingo dashboard checks it weekly.",
    "more_information": "See the marmoset runbook.",
}


def adr(team, by, **fields) -> Decision:
    data = {"title": "Plain record", **fields}
    return decision_create(team=team, data=data, by=by)


def numbers(team, query: str) -> list[int]:
    return [d.number for d in decision_list(team=team, query=query)]


@pytest.mark.parametrize(
    ("field", "word"),
    [
        ("title", "zeppelin"),
        ("context", "quasar"),
        ("drivers", "nebula"),
        ("chosen_option", "pulsar"),
        ("justification", "walrus"),
        ("consequences", "kestrel"),
        ("confirmation", "flamingo"),
        ("more_information", "marmoset"),
    ],
)
def test_every_text_field_of_an_adr_is_searched(acme, owner, field, word):
    adr(acme, owner, title="Something else")
    wanted = adr(acme, owner, **{"title": "Record", field: ADR_FIELDS[field]})
    assert numbers(acme, word) == [wanted.number]
    assert numbers(acme, word.upper()) == [wanted.number]


def test_the_options_pros_and_cons_are_searched(acme, owner):
    adr(acme, owner)
    options = [
        {"name": "Outbox", "summary": "Write then relay", "pros": ["survives a crash"],
         "cons": ["needs a poller process"]},
    ]  # fmt: skip
    wanted = adr(acme, owner, title="Relay events", considered_options=options)
    assert numbers(acme, "poller") == [wanted.number]
    assert numbers(acme, "crash") == [wanted.number]


def test_a_search_stays_inside_the_team(acme, globex, owner, outsider):
    adr(globex, outsider, title="Adopt zeppelin tracing")
    assert numbers(acme, "zeppelin") == []


def test_every_word_must_match_and_the_last_may_be_a_prefix(acme, owner):
    both = adr(acme, owner, title="Payments through a queue")
    adr(acme, owner, title="Payments over REST")
    assert numbers(acme, "queue payments") == [both.number]
    assert numbers(acme, "queue paym") == [both.number]


def test_search_syntax_typed_by_a_user_is_only_words(acme, owner):
    wanted = adr(acme, owner, title="Payments through a queue")
    for typed in ["payments & !", "payments:* | (", "'payments'", "payments\\"]:
        assert numbers(acme, typed) == [wanted.number], typed
    assert prefix_query("&|!():*") is None


def test_a_use_case_is_found_by_name_description_or_a_hop_service(acme):
    make_use_case(acme, name="Refund a payment")
    by_name = make_use_case(acme, name="Reserve stock for a basket")
    by_text = make_use_case(acme, name="Cancel", description="Voids the invoice right away")
    by_hop = make_use_case(acme, name="Ship", hops=[Hop("warehouse-robotics", 5, 40)])

    def found(query: str) -> list[int]:
        return sorted(u.pk for u in use_case_list(team=acme, query=query))

    assert found("basket") == [by_name.pk]
    assert found("invoice") == [by_text.pk]
    assert found("robotics") == [by_hop.pk]
    assert found("warehouse") == [by_hop.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search: PostgreSQL")
def test_on_postgresql_the_search_reads_the_gin_indexes(acme, owner):
    assert full_text()
    adr(acme, owner, title="Payments through a queue")
    make_use_case(acme, name="Reserve stock", hops=[Hop("warehouse", 5, 40)])
    with transaction.atomic(), connection.cursor() as cursor:
        # A tiny table is read whole otherwise, and plain index scans (which walk a whole
        # btree in the order a list wants) would hide whether the GIN index is usable.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        decisions = decisions_matching(Decision.objects.order_by(), "queue").explain()
        use_cases = use_cases_matching(UseCase.objects.order_by(), "stock").explain()
    assert "decision_search_gin" in decisions, decisions
    assert "usecase_search_gin" in use_cases and "chainhop_search_gin" in use_cases, use_cases


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search: PostgreSQL")
def test_on_postgresql_a_word_matches_its_other_forms(acme, owner):
    wanted = adr(acme, owner, title="Publish events through queues")
    assert numbers(acme, "queue") == [wanted.number]
    assert numbers(acme, "published") == [wanted.number]
