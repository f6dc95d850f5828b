"""The ADR lifecycle service: drafting, editing, transitions, supersede, history, numbering."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from decisions.models import Decision, DecisionStatus
from decisions.records.services import (
    DecisionError,
    decision_create,
    decision_create_from_use_case,
    decision_supersede,
    decision_transition,
    decision_update,
)
from patterns.engine import Hop
from tests.factories import make_use_case

S = DecisionStatus


@pytest.fixture
def order_case(acme, member):
    return make_use_case(
        acme,
        name="Place an order",
        description="A shopper buys.",
        hops=[Hop("inventory", 8, 40), Hop("payments", 40, 450), Hop("mailer", 5, 30, False)],
        by=member,
        caller="browser",
        latency_p95_ms=400,
        latency_p99_ms=900,
        distributed_transaction=True,
        consumers=3,
    )


@pytest.fixture
def proposal(acme, member):
    return decision_create(team=acme, data={"title": "Use a queue"}, by=member)


def test_a_draft_from_a_use_case_is_filled_from_its_recommendation(order_case, member):
    decision = decision_create_from_use_case(use_case=order_case, by=member)
    top = order_case.latest_snapshot.output["options"][0]
    assert decision.status == S.PROPOSED
    assert decision.number == 1
    assert decision.chosen_pattern == top["pattern"]
    assert decision.chosen_option == top["name"]
    assert "Place an order" in decision.title
    assert "p95 400 ms" in decision.context
    assert decision.drivers.startswith("* ")
    names = [option["name"] for option in decision.considered_options]
    ranked = [option["name"] for option in order_case.latest_snapshot.output["options"]]
    assert names == ranked[:4]  # the best few, in the engine's order
    assert len(decision.considered_options[0]["pros"]) == len(top["strengths"])
    assert "budget of p95 400 ms / p99 900 ms" in decision.confirmation
    assert decision.use_case == order_case
    assert decision.changes.get().action == "drafted"


def test_numbers_count_up_per_team(acme, globex, member, outsider):
    first = decision_create(team=acme, data={"title": "A"}, by=member)
    second = decision_create(team=acme, data={"title": "B"}, by=member)
    other = decision_create(team=globex, data={"title": "C"}, by=outsider)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert second.label == "ADR-0002"


def test_editing_a_proposal_records_what_changed(proposal, member):
    decision_update(
        decision=proposal, data={"title": "Use a durable queue", "context": "Why"}, by=member
    )
    change = proposal.changes.order_by("-pk").first()
    assert change.action == "edited"
    assert change.by == member
    assert change.diff == {"title": ["Use a queue", "Use a durable queue"], "context": ["", "Why"]}


def test_editing_without_changes_leaves_no_history_entry(proposal, member):
    decision_update(decision=proposal, data={"title": "Use a queue"}, by=member)
    assert proposal.changes.count() == 1


def test_an_accepted_record_cannot_be_edited_in_place(proposal, owner):
    decision_transition(decision=proposal, to=S.ACCEPTED, by=owner)
    with pytest.raises(DecisionError, match="accepted and cannot be edited in place"):
        decision_update(decision=proposal, data={"title": "Sneaky"}, by=owner)
    proposal.refresh_from_db()
    assert proposal.title == "Use a queue"


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], S.ACCEPTED),
        ([], S.REJECTED),
        ([S.ACCEPTED], S.DEPRECATED),
    ],
)
def test_allowed_transitions_move_the_status(proposal, owner, path, to):
    for step in path:
        decision_transition(decision=proposal, to=step, by=owner)
    decision_transition(decision=proposal, to=to, by=owner, note="because")
    proposal.refresh_from_db()
    assert proposal.status == to
    last = proposal.changes.order_by("-pk").first()
    assert last.diff["status"][1] == to
    assert last.note == "because"


@pytest.mark.parametrize(
    ("path", "to", "message"),
    [
        (
            [],
            S.DEPRECATED,
            "proposed and cannot become deprecated; it can go to accepted or rejected",
        ),
        ([S.REJECTED], S.ACCEPTED, "rejected and cannot become accepted; that is final"),
        ([S.ACCEPTED], S.PROPOSED, "accepted and cannot become proposed; it can go to deprecated"),
        ([S.ACCEPTED, S.DEPRECATED], S.ACCEPTED, "deprecated and cannot become accepted"),
        ([S.ACCEPTED], S.SUPERSEDED, "becomes superseded when its replacement is accepted"),
        ([], "bogus", "not an ADR status"),
    ],
)
def test_other_transitions_are_refused_with_a_message(proposal, owner, path, to, message):
    for step in path:
        decision_transition(decision=proposal, to=step, by=owner)
    before = proposal.changes.count()
    with pytest.raises(DecisionError, match=message):
        decision_transition(decision=proposal, to=to, by=owner)
    assert proposal.changes.count() == before


def test_accepting_records_the_people_and_the_date(proposal, owner):
    decision_transition(
        decision=proposal,
        to=S.ACCEPTED,
        by=owner,
        decision_makers=["olivia", "max", "olivia"],
        consulted=["vera"],
    )
    proposal.refresh_from_db()
    assert proposal.people("decision_makers") == ["olivia", "max"]
    assert proposal.people("consulted") == ["vera"]


def test_superseding_links_both_ways_and_settles_on_acceptance(proposal, owner, member):
    decision_transition(decision=proposal, to=S.ACCEPTED, by=owner)
    new = decision_supersede(decision=proposal, by=member)
    proposal.refresh_from_db()
    assert new.status == S.PROPOSED
    assert new.number == 2
    assert new.title == proposal.title
    assert proposal.superseded_by == new
    assert list(new.supersedes.all()) == [proposal]
    assert proposal.status == S.ACCEPTED  # until the replacement is accepted

    decision_transition(decision=new, to=S.ACCEPTED, by=owner)
    proposal.refresh_from_db()
    assert proposal.status == S.SUPERSEDED
    assert proposal.changes.order_by("-pk").first().action == "superseded"


def test_rejecting_the_replacement_unlinks_it_and_keeps_the_old_record(proposal, owner, member):
    decision_transition(decision=proposal, to=S.ACCEPTED, by=owner)
    new = decision_supersede(decision=proposal, by=member)
    decision_transition(decision=new, to=S.REJECTED, by=owner)
    proposal.refresh_from_db()
    assert proposal.status == S.ACCEPTED
    assert proposal.superseded_by is None
    assert decision_supersede(decision=proposal, by=member).number == 3


def test_only_accepted_records_without_a_pending_replacement_can_be_superseded(proposal, owner):
    with pytest.raises(DecisionError, match="Only an accepted record can be superseded"):
        decision_supersede(decision=proposal, by=owner)
    decision_transition(decision=proposal, to=S.ACCEPTED, by=owner)
    new = decision_supersede(decision=proposal, by=owner)
    with pytest.raises(DecisionError, match=f"already has a replacement in progress: {new.label}"):
        decision_supersede(decision=proposal, by=owner)


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_get_distinct_numbers(acme, member):
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def create(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            decision_create(team=acme, data={"title": f"Parallel {i}"}, by=None)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    numbers = sorted(Decision.objects.filter(team=acme).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
