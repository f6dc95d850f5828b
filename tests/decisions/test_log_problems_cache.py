"""The log page's lint is kept in the cache under the log's state: a change to any record,
or a link added, gives the new answer at once."""

from __future__ import annotations

from decisions.models import Decision, DecisionLink, DecisionStatus
from decisions.records.selectors import decision_log_problems
from tests.decisions.adr_support import drafted

NO_REPLACEMENT = "ADR-0001: superseded, but it names no replacement."


def test_the_cached_lint_follows_a_saved_record(acme, owner):
    old = drafted(acme, owner)
    old.status = DecisionStatus.SUPERSEDED
    old.save()
    assert decision_log_problems(team=acme) == [NO_REPLACEMENT]
    assert decision_log_problems(team=acme) == [NO_REPLACEMENT]  # from the cache
    old.status = DecisionStatus.ACCEPTED
    old.save()
    assert decision_log_problems(team=acme) == []


def test_the_cached_lint_follows_a_new_record_and_a_new_link(acme, owner):
    old = drafted(acme, owner)
    old.status = DecisionStatus.SUPERSEDED
    old.save()
    assert decision_log_problems(team=acme) == [NO_REPLACEMENT]
    new = drafted(acme, owner)
    Decision.objects.filter(pk=old.pk).update(superseded_by=new)  # as an import might
    DecisionLink.objects.create(source=new, target=old, kind="amends")
    problems = decision_log_problems(team=acme)
    assert NO_REPLACEMENT not in problems
