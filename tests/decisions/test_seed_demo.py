from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from decisions.models import Membership, Team, UseCase

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_demo_teams_and_logins():
    call_command("seed_demo")
    assert set(Team.objects.values_list("slug", flat=True)) >= {"acme", "globex"}
    roles = dict(Membership.objects.filter(team__slug="acme").values_list("user__username", "role"))
    assert roles == {"alice": "facilitator", "bob": "member", "carol": "viewer"}
    assert Membership.objects.get(user__username="dave").team.slug == "globex"
    # Login throttling (axes) needs the request: it keys failures on the address.
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="alice", password="archway-demo") is not None
    assert UseCase.objects.filter(team__slug="acme").count() >= 3
    assert all(uc.latest_snapshot_id for uc in UseCase.objects.all())


def test_seed_demo_is_safe_to_run_twice(capsys):
    call_command("seed_demo")
    counts = (Team.objects.count(), UseCase.objects.count(), Membership.objects.count())
    capsys.readouterr()
    call_command("seed_demo")
    assert (Team.objects.count(), UseCase.objects.count(), Membership.objects.count()) == counts
    assert "already in place" in capsys.readouterr().out
