"""Review session pages: access by role, the poll's "nothing changed", minutes downloads."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from decisions.models import Outcome, ReviewSession, ReviewStatus, Vote
from decisions.reviews.services import comment_add, item_decide, vote_cast
from tests.decisions.review_support import make_proposals, make_session

pytestmark = pytest.mark.django_db


HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, session: ReviewSession, team: str = "acme") -> str:
    return reverse(name, args=[team, session.pk])


def poll(client: Client, session: ReviewSession, since: str = "", **headers: str):
    return client.get(url("review-poll", session), {"since": since} if since else {}, **headers)


def token_of(response) -> str:
    """The token the live region sends back in its next poll (``?since=``)."""
    return re.search(r"\?since=([^\"&]+)", response.content.decode()).group(1)


def test_outsiders_get_404_at_every_session_url(outsider_client, live_session):
    names = ["review-detail", "review-poll", "review-minutes-md", "review-minutes-pdf"]
    for name in names:
        assert outsider_client.get(url(name, live_session)).status_code == 404, name
    for name in ["review-start", "review-advance", "review-vote", "review-comment"]:
        assert outsider_client.post(url(name, live_session)).status_code == 404, name
    assert outsider_client.get(reverse("review-list", args=["acme"])).status_code == 404


def test_a_session_is_not_reachable_through_another_teams_url(outsider_client, live_session):
    response = outsider_client.get(url("review-detail", live_session, team="globex"))
    assert response.status_code == 404


def test_viewers_watch_but_get_403_for_voting_and_commenting(
    viewer_client, live_session, first_item
):
    page = viewer_client.get(url("review-detail", live_session))
    assert page.status_code == 200
    assert 'id="vote-form"' not in page.content.decode()
    assert 'id="comment-form"' not in page.content.decode()
    vote = {"item": first_item.pk, "choice": "approve"}
    assert viewer_client.post(url("review-vote", live_session), vote).status_code == 403
    comment = {"item": first_item.pk, "body": "hi"}
    assert viewer_client.post(url("review-comment", live_session), comment).status_code == 403
    assert not first_item.votes.exists() and not first_item.comments.exists()


def test_members_get_403_for_running_the_session(member_client, live_session, first_item):
    page = member_client.get(url("review-detail", live_session)).content.decode()
    assert 'id="vote-form"' in page
    assert 'id="facilitator-controls"' not in page
    for name, data in [
        ("review-start", {}),
        ("review-advance", {"direction": "next"}),
        ("review-decide", {"item": first_item.pk, "outcome": "accepted", "rationale": "x"}),
        ("review-close", {}),
    ]:
        assert member_client.post(url(name, live_session), data).status_code == 403, name
    assert member_client.get(reverse("review-create", args=["acme"])).status_code == 403


def test_a_member_votes_through_htmx_and_the_page_is_told_to_refresh(
    member_client, live_session, first_item, member
):
    response = member_client.post(
        url("review-vote", live_session), {"item": first_item.pk, "choice": "concerns"}, **HTMX
    )
    assert response.status_code == 204
    assert "reviewChanged" in json.loads(response["HX-Trigger"])
    assert Vote.objects.get(item=first_item, user=member).choice == "concerns"


def test_a_vote_on_a_decided_item_is_refused_with_a_message(
    member_client, live_session, first_item, owner
):
    item_decide(item=first_item, by=owner, outcome="rejected", rationale="Too slow.")
    response = member_client.post(
        url("review-vote", live_session), {"item": first_item.pk, "choice": "approve"}, **HTMX
    )
    assert response.status_code == 409
    assert "already decided (rejected)" in response.content.decode()
    assert not first_item.votes.exists()


def test_the_poll_says_nothing_changed_until_someone_votes(
    viewer_client, live_session, first_item, member
):
    first = poll(viewer_client, live_session, **HTMX)
    assert first.status_code == 200
    assert 'id="review-live"' in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    token = token_of(first)

    unchanged = poll(viewer_client, live_session, since=token, **HTMX)
    assert unchanged.status_code == 204
    assert unchanged.content == b""

    vote_cast(item=first_item, by=member, choice="block")
    changed = poll(viewer_client, live_session, since=token, **HTMX)
    assert changed.status_code == 200
    assert token_of(changed) != token
    body = changed.content.decode()
    assert 'data-choice="block" data-count="1"' in body
    assert "max" in body


def test_someone_arriving_changes_the_token_of_everyone_else(
    viewer_client, member_client, live_session
):
    token = token_of(poll(viewer_client, live_session))
    assert poll(viewer_client, live_session, since=token).status_code == 204
    poll(member_client, live_session)  # max opens the page
    arrived = poll(viewer_client, live_session, since=token)
    assert arrived.status_code == 200
    assert "max" in arrived.content.decode()


def test_the_poll_stops_once_the_session_is_closed(owner_client, viewer_client, live_session):
    token = token_of(poll(viewer_client, live_session))
    assert owner_client.post(url("review-close", live_session), **HTMX).status_code == 204
    stopped = poll(viewer_client, live_session, since=token, **HTMX)
    assert stopped.status_code == 286
    body = stopped.content.decode()
    assert 'data-status="closed"' in body
    assert "hx-trigger" not in body
    assert "minutes.pdf" in body


def test_comments_are_rendered_inert(member_client, live_session, first_item, member):
    comment_add(
        item=first_item,
        by=member,
        body='**Fine** <button hx-post="/t/acme/reviews/" onclick="x()">go</button>'
        "<script>alert(1)</script>",
    )
    body = member_client.get(url("review-detail", live_session)).content.decode()
    thread = body[body.index('id="comment-list"') :]
    thread = thread[: thread.index("</ol>")]
    assert "<strong>Fine</strong>" in thread
    assert "hx-post" not in thread and "<button" not in thread
    assert "<script" not in thread and "onclick" not in thread


def test_the_facilitator_schedules_a_session_with_an_ordered_agenda(owner_client, acme, owner):
    first, second, third = make_proposals(acme, owner, count=3)
    response = owner_client.post(
        reverse("review-create", args=["acme"]),
        {
            "title": "Checkout review",
            "scheduled_for": "2026-11-25T14:00",
            f"agenda_{first.pk}": "2",
            f"agenda_{third.pk}": "1",
        },
    )
    session = ReviewSession.objects.get(title="Checkout review")
    assert response.status_code == 302
    assert response["Location"] == session.get_absolute_url()
    assert [i.decision for i in session.items.order_by("position")] == [third, first]
    assert session.status == ReviewStatus.SCHEDULED


def test_an_empty_agenda_is_refused_with_a_reason(owner_client, proposals):
    response = owner_client.post(
        reverse("review-create", args=["acme"]),
        {"title": "Nothing", "scheduled_for": "2026-11-25T14:00"},
    )
    assert response.status_code == 400
    assert "at least one ADR" in response.content.decode()


def test_the_facilitator_runs_a_session_from_start_to_minutes(
    owner_client, member_client, acme, owner, proposals
):
    session = make_session(acme, owner, proposals, start=False)
    assert owner_client.post(url("review-start", session), **HTMX).status_code == 204
    session.refresh_from_db()
    item = session.current_item
    assert member_client.get(url("review-detail", session)).status_code == 200  # attends
    member_client.post(url("review-vote", session), {"item": item.pk, "choice": "approve"})
    member_client.post(url("review-comment", session), {"item": item.pk, "body": "Ship it."})
    response = owner_client.post(
        url("review-decide", session),
        {"item": item.pk, "outcome": "accepted", "rationale": "Within budget."},
        **HTMX,
    )
    assert response.status_code == 204
    item.refresh_from_db()
    assert item.outcome == Outcome.ACCEPTED
    owner_client.post(url("review-advance", session), {"direction": "next"}, **HTMX)
    session.refresh_from_db()
    assert session.current_item.position == 2
    owner_client.post(url("review-close", session))

    markdown = member_client.get(url("review-minutes-md", session))
    assert markdown.status_code == 200
    text = markdown.content.decode()
    assert "**Outcome:** Accepted by olivia" in text
    assert "* max: approve" in text
    assert "> Ship it." in text
    assert "* max (member)" in text

    pdf = member_client.get(url("review-minutes-pdf", session))
    assert pdf["Content-Type"] == "application/pdf"
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in [
        "Minutes: Architecture review",
        "Accepted by olivia",
        "max: approve",
        "max (member)",
    ]:
        assert expected in pdf_text
    assert "Within budget." in pdf_text
    assert "not decided" in pdf_text


def test_minutes_exist_only_once_the_session_is_closed(member_client, live_session):
    assert member_client.get(url("review-minutes-md", live_session)).status_code == 404


def test_the_team_nav_links_to_reviews(viewer_client, live_session):
    page = viewer_client.get(reverse("review-list", args=["acme"])).content.decode()
    assert reverse("review-list", args=["acme"]) in page
    assert live_session.title in page
