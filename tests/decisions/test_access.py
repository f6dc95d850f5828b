"""Team scoping: 404 outside the team, 403 for a viewer who writes, CSRF on every POST."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions.models import Membership, Role
from decisions.teams.access import user_memberships
from tests.decisions.test_usecase_views import answers
from tests.factories import add_member, make_team, make_use_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def use_case(acme):
    return make_use_case(acme, name="Checkout")


def team_urls(use_case) -> list[tuple[str, str]]:
    return [
        ("get", reverse("usecase-list", args=["acme"])),
        ("get", reverse("usecase-detail", args=["acme", use_case.pk])),
        ("get", reverse("usecase-edit", args=["acme", use_case.pk])),
        ("get", reverse("usecase-create", args=["acme"])),
        ("post", reverse("usecase-preview", args=["acme"])),
        ("post", reverse("usecase-validate", args=["acme"])),
        ("post", reverse("usecase-chain", args=["acme"])),
        ("post", reverse("usecase-reevaluate", args=["acme", use_case.pk])),
    ]


def test_outsiders_get_404_at_every_team_url(outsider_client, use_case):
    for method, url in team_urls(use_case):
        response = getattr(outsider_client, method)(url)
        assert response.status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(client, use_case):
    response = client.get(reverse("usecase-detail", args=["acme", use_case.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_use_case_is_not_reachable_through_another_teams_url(outsider_client, use_case, globex):
    response = outsider_client.get(reverse("usecase-detail", args=["globex", use_case.pk]))
    assert response.status_code == 404


def test_viewers_read_but_get_403_when_writing(viewer_client, use_case):
    assert (
        viewer_client.get(reverse("usecase-detail", args=["acme", use_case.pk])).status_code == 200
    )
    for method, url in team_urls(use_case)[2:]:
        response = getattr(viewer_client, method)(url)
        assert response.status_code == 403, url


def test_viewers_see_no_edit_controls(viewer_client, use_case):
    body = viewer_client.get(reverse("usecase-detail", args=["acme", use_case.pk])).content.decode()
    assert "Edit answers" not in body


def test_posts_without_a_csrf_token_are_refused(csrf_member_client):
    response = csrf_member_client.post(reverse("usecase-create", args=["acme"]), answers())
    assert response.status_code == 403


def test_htmx_posts_with_the_csrf_header_from_the_page_pass(csrf_member_client):
    page = csrf_member_client.get(reverse("usecase-create", args=["acme"]))
    token = page.content.decode().split('"x-csrftoken": "')[1].split('"')[0]
    response = csrf_member_client.post(
        reverse("usecase-preview", args=["acme"]),
        answers(),
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


def test_the_navigation_follows_a_change_of_role(member_client, member, acme, use_case):
    url = reverse("usecase-list", args=["acme"])
    assert "Acme Shop · member" in member_client.get(url).content.decode()
    member.memberships.filter(team=acme).update(role="viewer")
    assert "Acme Shop · viewer" in member_client.get(url).content.decode()


def test_someone_who_left_the_team_gets_404_on_their_next_request(member_client, member, acme):
    page = reverse("usecase-create", args=["acme"])
    assert member_client.get(page).status_code == 200
    Membership.objects.filter(user=member, team=acme).delete()
    assert member_client.get(page).status_code == 404


def test_a_member_demoted_to_viewer_gets_403_on_their_next_request(member_client, member, acme):
    page = reverse("usecase-create", args=["acme"])
    assert member_client.get(page).status_code == 200
    Membership.objects.filter(user=member, team=acme).update(role=Role.VIEWER)
    assert member_client.get(page).status_code == 403


def test_a_users_memberships_come_with_their_teams_by_name_in_one_query(
    member, django_assert_num_queries
):
    add_member(make_team("zeta", "Zeta Corp"), member, Role.VIEWER)
    add_member(make_team("beta", "Beta Ltd"), member, Role.FACILITATOR)
    with django_assert_num_queries(1):
        found = [(m.team.name, m.role) for m in user_memberships(member)]
    assert found == [
        ("Acme Shop", Role.MEMBER),
        ("Beta Ltd", Role.FACILITATOR),
        ("Zeta Corp", Role.VIEWER),
    ]
