"""The questionnaire served from its cached copy: still checked, still per viewer, still fresh.

Also the two prepared lookups every page makes (the user and their memberships), which
must give what the ORM gives."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from decisions.models import Membership, Role
from decisions.pages import CSRF_PLACEHOLDER
from decisions.teams.access import user_memberships
from decisions.usecases.services import use_case_save
from patterns.engine import Hop
from tests.decisions.test_usecase_views import answers
from tests.factories import add_member, make_team, make_use_case
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = pytest.mark.django_db

NEW = reverse("usecase-create", args=["acme"])
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _as_values(membership: Membership) -> dict[str, object]:
    team = membership.team
    return {
        "id": membership.pk,
        "role": membership.role,
        "user_id": membership.user_id,
        **{f"team.{f.attname}": getattr(team, f.attname) for f in team._meta.concrete_fields},
    }


def test_memberships_come_back_as_the_orm_gives_them_in_one_query(
    member, acme, django_assert_num_queries
):
    add_member(make_team("zeta", "Zeta Corp"), member, Role.VIEWER)
    add_member(make_team("beta", "Beta Ltd"), member, Role.FACILITATOR)
    expected = Membership.objects.select_related("team").filter(user=member)
    with django_assert_num_queries(1):
        found = [_as_values(m) for m in user_memberships(member)]
    # Ordered by team name, every field converted as the ORM converts it (the team's
    # creation time is an aware datetime on SQLite too, not the stored text).
    assert found == sorted((_as_values(m) for m in expected), key=lambda v: v["team.name"])
    assert [v["team.name"] for v in found] == ["Acme Shop", "Beta Ltd", "Zeta Corp"]
    assert all(v["team.created"].tzinfo is not None for v in found)


def test_a_deactivated_user_is_logged_out_on_the_next_request(member_client, member):
    assert member_client.get(NEW).status_code == 200
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    response = member_client.get(NEW)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_cached_page_is_not_served_to_someone_who_left_the_team(member_client, member, acme):
    assert member_client.get(NEW).status_code == 200
    Membership.objects.filter(user=member, team=acme).delete()
    assert member_client.get(NEW).status_code == 404


def test_a_member_demoted_to_viewer_gets_403_from_the_cached_page(member_client, member, acme):
    assert member_client.get(NEW).status_code == 200
    Membership.objects.filter(user=member, team=acme).update(role=Role.VIEWER)
    assert member_client.get(NEW).status_code == 403


def test_each_viewer_sees_their_own_name_and_role(member_client, owner_client):
    for client, name, role, other in (
        (member_client, "max", "member", "olivia"),
        (owner_client, "olivia", "facilitator", "max"),
    ):
        for _ in range(2):  # rendered, then from the cache
            body = client.get(NEW).content.decode()
            assert f'<span class="muted">{name}</span>' in body
            assert f"Acme Shop · {role}" in body
            assert f'<span class="muted">{other}</span>' not in body


def test_the_cached_page_carries_a_fresh_working_csrf_token(csrf_member_client):
    first = csrf_member_client.get(NEW).content.decode()
    second = csrf_member_client.get(NEW).content.decode()
    tokens = TOKEN.findall(second)
    assert len(tokens) == 2  # the questionnaire and the log-out form
    assert CSRF_PLACEHOLDER.decode() not in second
    assert tokens[0] != TOKEN.findall(first)[0]  # masked afresh for every response
    assert f'"x-csrftoken": "{tokens[0]}"' in second
    saved = csrf_member_client.post(NEW, {**answers(), "csrfmiddlewaretoken": tokens[0]})
    assert saved.status_code == 302


def test_a_waiting_message_shows_once_and_is_not_cached(member_client, acme):
    use_case = make_use_case(acme, name="Checkout")
    member_client.get(NEW)  # cached before the message exists
    member_client.post(reverse("usecase-reevaluate", args=["acme", use_case.pk]))
    assert "Evaluated again" in member_client.get(NEW).content.decode()
    assert "Evaluated again" not in member_client.get(NEW).content.decode()


def test_the_edit_page_follows_the_saved_use_case(member_client, acme):
    use_case = make_use_case(acme, name="Checkout", hops=[Hop("inventory", 8, 40)])
    url = reverse("usecase-edit", args=["acme", use_case.pk])
    assert 'value="inventory"' in member_client.get(url).content.decode()
    use_case.name = "Checkout v2"
    use_case_save(use_case=use_case, hops=[Hop("ledger", 5, 20)], by=None)
    body = member_client.get(url).content.decode()
    assert "Checkout v2" in body and 'value="ledger"' in body and 'value="inventory"' not in body


def test_the_edit_page_follows_new_probe_evidence_for_an_unchanged_use_case(member_client, acme):
    use_case = make_use_case(acme, name="Checkout", hops=[Hop("payments", 400, 900)])
    url = reverse("usecase-edit", args=["acme", use_case.pk])
    assert "(stated 400 / 900)" not in member_client.get(url).content.decode()
    payments = make_endpoint(acme, "http://127.0.0.1:8001/payments", service="payments")
    finished_run(payments, measured_outcome())  # the use case itself is not saved again
    assert "(stated 400 / 900)" in member_client.get(url).content.decode()
