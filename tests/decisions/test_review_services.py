"""Review session services: the agenda, votes, comments, outcomes and the ADR they move."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db.models import RestrictedError
from django.utils import timezone

from decisions.models import (
    DecisionStatus,
    Outcome,
    Presence,
    ReviewSession,
    ReviewStatus,
    Vote,
)
from decisions.records.services import decision_transition
from decisions.reviews.services import (
    ReviewError,
    comment_add,
    item_decide,
    presence_touch,
    session_advance,
    session_close,
    session_create,
    session_start,
    vote_cast,
)
from tests.decisions.review_support import make_members, make_proposals, make_session

pytestmark = pytest.mark.django_db


def test_a_session_starts_scheduled_with_its_agenda_in_order(acme, owner, proposals):
    session = make_session(acme, owner, list(reversed(proposals)), start=False)
    assert session.status == ReviewStatus.SCHEDULED
    assert [i.decision for i in session.items.order_by("position")] == list(reversed(proposals))
    assert session.current_item is None


def test_only_proposed_adrs_of_the_team_go_on_an_agenda(acme, owner, globex, outsider, proposals):
    decision_transition(decision=proposals[0], to=DecisionStatus.REJECTED, by=owner)
    proposals[0].refresh_from_db()
    with pytest.raises(ReviewError, match="only proposed ADRs"):
        make_session(acme, owner, proposals, start=False)
    [foreign] = make_proposals(globex, outsider, count=1)
    with pytest.raises(ReviewError, match="another team"):
        make_session(acme, owner, [proposals[1], foreign], start=False)


def test_members_cannot_create_or_run_a_session(acme, member, owner, proposals):
    with pytest.raises(PermissionDenied):
        session_create(
            team=acme,
            title="Sneaky",
            scheduled_for=timezone.now(),
            decisions=proposals,
            by=member,
        )
    session = make_session(acme, owner, proposals, start=False)
    with pytest.raises(PermissionDenied):
        session_start(session=session, by=member)


def test_starting_goes_live_on_the_first_item_and_bumps_the_version(acme, owner, proposals):
    session = make_session(acme, owner, proposals, start=False)
    before = session.version
    session = session_start(session=session, by=owner)
    assert session.status == ReviewStatus.LIVE
    assert session.current_item.position == 1
    assert session.version > before
    with pytest.raises(ReviewError, match="already live"):
        session_start(session=session, by=owner)


def test_the_facilitator_moves_the_room_forward_and_back(live_session, owner):
    session = session_advance(session=live_session, by=owner, step=1)
    assert session.current_item.position == 2
    with pytest.raises(ReviewError, match="last item"):
        session_advance(session=session, by=owner, step=1)
    session = session_advance(session=session, by=owner, step=-1)
    assert session.current_item.position == 1
    with pytest.raises(ReviewError, match="first item"):
        session_advance(session=session, by=owner, step=-1)


def test_a_member_changes_their_vote_and_it_counts_once(first_item, member):
    vote_cast(item=first_item, by=member, choice="concerns")
    vote_cast(item=first_item, by=member, choice="approve")
    assert list(Vote.objects.filter(item=first_item).values_list("choice", flat=True)) == [
        "approve"
    ]


def test_viewers_cannot_vote_or_comment(first_item, viewer):
    with pytest.raises(PermissionDenied):
        vote_cast(item=first_item, by=viewer, choice="approve")
    with pytest.raises(PermissionDenied):
        comment_add(item=first_item, by=viewer, body="hi")
    assert not first_item.votes.exists()


def test_a_vote_after_the_item_is_decided_is_refused_with_a_message(first_item, owner, member):
    item_decide(item=first_item, by=owner, outcome="deferred", rationale="Need numbers.")
    with pytest.raises(ReviewError, match="already decided \\(deferred\\)"):
        vote_cast(item=first_item, by=member, choice="approve")
    assert not first_item.votes.exists()


def test_nothing_is_voted_before_the_start_or_after_the_close(acme, owner, member, proposals):
    session = make_session(acme, owner, proposals, start=False)
    item = session.items.first()
    with pytest.raises(ReviewError, match="not started"):
        vote_cast(item=item, by=member, choice="approve")
    session = session_start(session=session, by=owner)
    session_close(session=session, by=owner)
    with pytest.raises(ReviewError, match="closed"):
        vote_cast(item=item, by=member, choice="approve")
    with pytest.raises(ReviewError, match="closed"):
        comment_add(item=item, by=member, body="Too late")


def test_accepting_moves_the_adr_and_names_approvers_and_commenters(
    acme, first_item, owner, member
):
    [other] = make_members(acme, 1)
    vote_cast(item=first_item, by=member, choice="approve")
    vote_cast(item=first_item, by=other, choice="concerns")
    comment_add(item=first_item, by=other, body="What about retries?")
    comment_add(item=first_item, by=owner, body="Covered in the supporting decisions.")
    comment_add(item=first_item, by=other, body="OK then.")
    item = item_decide(item=first_item, by=owner, outcome="accepted", rationale="Fits the budget.")
    assert item.outcome == Outcome.ACCEPTED
    assert item.decided_by == owner
    decision = item.decision
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.ACCEPTED
    assert decision.people("decision_makers") == ["max"]
    assert decision.people("consulted") == [other.username, "olivia"]
    assert "Fits the budget." in decision.changes.last().note


def test_rejecting_rejects_the_adr_and_deferring_leaves_it_proposed(live_session, owner):
    first, second = live_session.items.order_by("position")
    item_decide(item=first, by=owner, outcome="rejected", rationale="Too slow.")
    item_decide(item=second, by=owner, outcome="deferred", rationale="Needs a probe run.")
    first.decision.refresh_from_db()
    second.decision.refresh_from_db()
    assert first.decision.status == DecisionStatus.REJECTED
    assert second.decision.status == DecisionStatus.PROPOSED


def test_a_block_vote_stops_an_accept_without_an_override_and_its_reason(first_item, owner, member):
    vote_cast(item=first_item, by=member, choice="block")
    with pytest.raises(ReviewError, match="max voted block"):
        item_decide(item=first_item, by=owner, outcome="accepted", rationale="We must ship.")
    with pytest.raises(ReviewError, match="why the block vote is overridden"):
        item_decide(item=first_item, by=owner, outcome="accepted", rationale="Ship.", override=True)
    first_item.refresh_from_db()
    assert first_item.outcome == Outcome.PENDING
    first_item.decision.refresh_from_db()
    assert first_item.decision.status == DecisionStatus.PROPOSED

    item = item_decide(
        item=first_item,
        by=owner,
        outcome="accepted",
        rationale="Ship.",
        override=True,
        override_reason="The concern is covered by a follow-up ADR.",
    )
    assert item.outcome == Outcome.ACCEPTED
    assert item.override_reason == "The concern is covered by a follow-up ADR."


def test_an_item_is_decided_once(first_item, owner):
    item_decide(item=first_item, by=owner, outcome="deferred", rationale="Later.")
    with pytest.raises(ReviewError, match="already decided"):
        item_decide(item=first_item, by=owner, outcome="accepted", rationale="Now.")


def test_a_refused_adr_transition_rolls_the_outcome_back(first_item, owner):
    # Someone accepted the ADR on its own page while it sat on the agenda.
    decision_transition(decision=first_item.decision, to=DecisionStatus.ACCEPTED, by=owner)
    with pytest.raises(ReviewError, match="accepted and cannot become rejected"):
        item_decide(item=first_item, by=owner, outcome="rejected", rationale="No.")
    first_item.refresh_from_db()
    assert first_item.outcome == Outcome.PENDING


def test_an_outcome_needs_a_rationale(first_item, owner):
    with pytest.raises(ReviewError, match="rationale"):
        item_decide(item=first_item, by=owner, outcome="accepted", rationale="  ")


def test_every_change_bumps_the_version(live_session, first_item, owner, member):
    versions = [live_session.version]
    for act in (
        lambda: vote_cast(item=first_item, by=member, choice="approve"),
        lambda: comment_add(item=first_item, by=member, body="Looks good"),
        lambda: session_advance(session=live_session, by=owner, step=1),
        lambda: item_decide(item=first_item, by=owner, outcome="accepted", rationale="Yes."),
        lambda: session_close(session=live_session, by=owner),
    ):
        act()
        live_session.refresh_from_db()
        versions.append(live_session.version)
    assert versions == sorted(set(versions))


def test_closing_writes_minutes_with_outcomes_and_votes(live_session, first_item, owner, member):
    vote_cast(item=first_item, by=member, choice="approve")
    item_decide(item=first_item, by=owner, outcome="accepted", rationale="Fits the budget.")
    session = session_close(session=live_session, by=owner)
    assert session.status == ReviewStatus.CLOSED
    assert session.closed is not None
    assert "Fits the budget." in session.minutes
    assert "max: approve" in session.minutes.lower()


def test_presence_is_written_at_most_every_few_seconds(live_session, member, owner):
    now = timezone.now()
    assert presence_touch(session_id=live_session.pk, user=member, now=now) == [member.pk]
    presence_touch(session_id=live_session.pk, user=member, now=now + datetime.timedelta(seconds=1))
    assert Presence.objects.get(user=member).last_seen == now
    later = now + datetime.timedelta(seconds=4)
    present = presence_touch(session_id=live_session.pk, user=owner, now=later)
    assert present == sorted([member.pk, owner.pk])
    presence_touch(session_id=live_session.pk, user=member, now=later)
    assert Presence.objects.get(user=member).last_seen == later


def test_someone_not_seen_for_ten_seconds_is_no_longer_present(live_session, member, owner):
    now = timezone.now()
    presence_touch(session_id=live_session.pk, user=member, now=now)
    later = now + datetime.timedelta(seconds=11)
    assert presence_touch(session_id=live_session.pk, user=owner, now=later) == [owner.pk]


def test_the_demo_seeds_one_live_session_with_a_vote_and_a_comment():
    call_command("seed_demo")
    session = ReviewSession.objects.get(team__slug="acme")
    assert session.status == ReviewStatus.LIVE
    assert session.current_item.votes.get().user.username == "bob"
    assert session.current_item.comments.count() == 1
    call_command("seed_demo")
    assert ReviewSession.objects.filter(team__slug="acme").count() == 1


def test_an_adr_on_an_agenda_is_kept_but_the_team_can_still_be_deleted(acme, live_session):
    decision = live_session.items.first().decision
    with pytest.raises(RestrictedError):
        decision.delete()
    acme.delete()
    assert not ReviewSession.objects.exists()
