"""manage.py seed_scale builds a varied team through the app's services, and refuses clearly."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from decisions.models import ChainHop, Decision, DecisionStatus, Membership, Role, UseCase


def test_seed_scale_builds_a_team_with_varied_use_cases_and_records(db, capsys):
    call_command("seed_scale", team="bigco", use_cases=40, adrs=30)
    use_cases = UseCase.objects.filter(team__slug="bigco")
    assert use_cases.count() == 40
    assert use_cases.filter(latest_snapshot__isnull=True).count() == 0  # all evaluated
    assert len(set(use_cases.values_list("name", flat=True))) == 40
    assert len(set(use_cases.values_list("caller", flat=True))) > 1
    assert len(set(use_cases.values_list("latest_snapshot__top_pattern", flat=True))) > 2
    assert ChainHop.objects.filter(use_case__team__slug="bigco").exists()

    decisions = Decision.objects.filter(team__slug="bigco")
    assert decisions.count() == 30
    assert sorted(decisions.values_list("number", flat=True)) == list(range(1, 31))
    statuses = set(decisions.values_list("status", flat=True))
    assert {DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED} <= statuses
    assert all(d.changes.exists() for d in decisions)  # made by the services, with history
    assert Membership.objects.get(team__slug="bigco").role == Role.FACILITATOR
    err = capsys.readouterr().err
    assert "use cases: 40 of 40" in err and "decision records: 30 of 30" in err


def test_seed_scale_refuses_an_existing_team(acme):
    with pytest.raises(CommandError, match="exists already") as raised:
        call_command("seed_scale", team="acme", use_cases=3)
    assert raised.value.returncode == 2
    assert not UseCase.objects.filter(team=acme).exists()


@pytest.mark.parametrize(
    ("use_cases", "adrs", "message"),
    [(-1, 0, "--use-cases must be"), (10, 60_000, "--adrs must be"), (0, 5, "needs at least")],
)
def test_seed_scale_names_the_limit_for_bad_numbers(db, use_cases, adrs, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("seed_scale", team="x", use_cases=use_cases, adrs=adrs)
    assert raised.value.returncode == 2
