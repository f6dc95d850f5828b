"""People acting at the same moment: nothing is lost, nothing counts twice.

Each thread has its own database connection (Django opens one per thread) and all of
them wait at a barrier, so the writes really arrive together. `transactional_db`, since
the threads must see committed rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from decisions.models import DecisionStatus, Outcome, ReviewSession, Vote
from decisions.reviews.services import ReviewError, item_decide, session_close, vote_cast
from tests.decisions.review_support import make_members, make_proposals, make_session

pytestmark = pytest.mark.django_db(transaction=True)

VOTERS = 16


def run_together(actions: list[Callable[[], object]]) -> list[object]:
    """Run every action in its own thread, released at once; return results or errors."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def room(acme, owner):
    session = make_session(acme, owner, make_proposals(acme, owner, count=1))
    item = session.items.get()
    return session, item, make_members(acme, VOTERS)


def test_simultaneous_votes_from_many_members_each_count_once(room):
    session, item, voters = room
    before = session.version
    choices = ["approve", "concerns", "block", "approve"]
    results = run_together(
        [
            lambda user=user, i=i: vote_cast(item=item, by=user, choice=choices[i % 4])
            for i, user in enumerate(voters)
        ]
    )
    assert all(isinstance(result, Vote) for result in results), results
    stored = dict(Vote.objects.filter(item=item).values_list("user__username", "choice"))
    assert stored == {user.username: choices[i % 4] for i, user in enumerate(voters)}
    session.refresh_from_db()
    assert session.version == before + VOTERS


def test_one_member_voting_twice_at_once_keeps_one_vote(room):
    _, item, voters = room
    member = voters[0]
    results = run_together(
        [lambda c=c: vote_cast(item=item, by=member, choice=c) for c in ("approve", "block") * 3]
    )
    assert all(isinstance(result, Vote) for result in results), results
    votes = list(Vote.objects.filter(item=item))
    assert len(votes) == 1
    assert votes[0].user == member


def test_votes_racing_an_accept_are_either_in_the_adr_or_refused(room, owner):
    _, item, voters = room
    actions: list[Callable[[], object]] = [
        lambda user=user: vote_cast(item=item, by=user, choice="approve") for user in voters
    ]
    middle = len(actions) // 2
    actions.insert(
        middle,
        lambda: item_decide(item=item, by=owner, outcome="accepted", rationale="Agreed."),
    )
    results = run_together(actions)

    decided = results.pop(middle)
    assert not isinstance(decided, Exception), decided
    counted = [r for r in results if isinstance(r, Vote)]
    refused = [r for r in results if isinstance(r, ReviewError)]
    assert len(counted) + len(refused) == VOTERS, results
    assert all("already decided (accepted)" in error.message for error in refused)

    item.refresh_from_db()
    assert item.outcome == Outcome.ACCEPTED
    stored = sorted(Vote.objects.filter(item=item).values_list("user__username", flat=True))
    assert stored == sorted(vote.user.username for vote in counted)
    item.decision.refresh_from_db()
    assert item.decision.status == DecisionStatus.ACCEPTED
    # The ADR names exactly the approvals that were in when the item was decided.
    assert sorted(item.decision.people("decision_makers")) == stored


def test_votes_racing_a_close_are_either_in_the_minutes_or_refused(room, owner):
    session, item, voters = room
    actions: list[Callable[[], object]] = [
        lambda user=user: vote_cast(item=item, by=user, choice="concerns") for user in voters
    ]
    actions.insert(3, lambda: session_close(session=session, by=owner))
    results = run_together(actions)

    closed = results.pop(3)
    assert isinstance(closed, ReviewSession), closed
    counted = {r.user.username for r in results if isinstance(r, Vote)}
    refused = [r for r in results if isinstance(r, ReviewError)]
    assert len(counted) + len(refused) == VOTERS, results
    assert all(error.message == "The session is closed." for error in refused)
    assert set(Vote.objects.filter(item=item).values_list("user__username", flat=True)) == counted
    session.refresh_from_db()
    in_minutes = {
        line.split(":")[0].lstrip("* ")
        for line in session.minutes.splitlines()
        if line.endswith(": concerns")
    }
    assert in_minutes == counted
