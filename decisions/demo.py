"""Demo data for a first look: two teams, four people, realistic use cases.

Idempotent: running it twice changes nothing the second time.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from decisions.models import Membership, Role, Team, UseCase
from decisions.usecases.services import use_case_save
from patterns.engine import Hop

DEMO_PASSWORD = "archway-demo"

TEAMS = {
    "acme": (
        "Acme Shop",
        [("alice", Role.FACILITATOR), ("bob", Role.MEMBER), ("carol", Role.VIEWER)],
    ),
    "globex": ("Globex", [("dave", Role.FACILITATOR)]),
}

# (team, name, description, answers, chain)
USE_CASES: list[tuple[str, str, str, dict[str, object], list[Hop]]] = [
    (
        "acme",
        "Place an order",
        "A shopper presses “Buy”: stock is reserved and payment authorised before we say yes.",
        dict(
            caller="browser",
            caller_waits=True,
            latency_p95_ms=400,
            latency_p99_ms=900,
            consistency="strong",
            availability=99.95,
            when_dependency_down="fail-fast",
            message_loss_ok=False,
            peak_rps=120,
            avg_rps=25,
            consumers=3,
            distributed_transaction=True,
            ordering="per-entity",
            delivery="effectively-once",
        ),
        [
            Hop("inventory", 8, 40),
            Hop("payments", 40, 450),
            Hop("shipping", 25, 120),
            Hop("notifications", 5, 30, critical=False),
        ],
    ),
    (
        "acme",
        "Order notifications",
        "Email, push and the analytics feed all hear about each order.",
        dict(
            caller="internal",
            caller_waits=False,
            latency_p95_ms=5000,
            latency_p99_ms=30000,
            consistency="eventual",
            staleness_s=60,
            availability=99.9,
            when_dependency_down="accept-and-defer",
            message_loss_ok=False,
            peak_rps=300,
            avg_rps=40,
            consumers=4,
            ordering="per-entity",
            delivery="at-least-once",
            broker_service="order-events",
        ),
        [Hop("notifications", 5, 30, critical=False)],
    ),
    (
        "acme",
        "Product search suggestions",
        "Suggestions under the search box while the shopper types.",
        dict(
            caller="browser",
            caller_waits=True,
            latency_p95_ms=120,
            latency_p99_ms=250,
            consistency="eventual",
            staleness_s=300,
            availability=99.5,
            when_dependency_down="degrade",
            message_loss_ok=True,
            peak_rps=900,
            avg_rps=200,
            consumers=1,
            delivery="at-most-once",
        ),
        [Hop("search", 15, 60)],
    ),
    (
        "acme",
        "Live delivery tracking",
        "The courier's position pushed to the order page while the parcel is out.",
        dict(
            caller="browser",
            caller_waits=False,
            latency_p95_ms=1000,
            latency_p99_ms=3000,
            consistency="eventual",
            staleness_s=5,
            availability=99.5,
            when_dependency_down="degrade",
            message_loss_ok=True,
            peak_rps=500,
            avg_rps=150,
            consumers=1,
            ordering="per-entity",
            delivery="at-most-once",
            streaming="server",
        ),
        [Hop("shipping", 25, 120)],
    ),
    (
        "globex",
        "Monthly invoicing run",
        "Invoices for every customer, generated and mailed at the start of the month.",
        dict(
            caller="internal",
            caller_waits=False,
            latency_p95_ms=60000,
            latency_p99_ms=120000,
            consistency="eventual",
            staleness_s=3600,
            availability=99.0,
            when_dependency_down="accept-and-defer",
            message_loss_ok=False,
            peak_rps=200,
            avg_rps=2,
            consumers=2,
            delivery="effectively-once",
        ),
        [Hop("billing", 80, 400), Hop("mailer", 30, 200, critical=False)],
    ),
]


@transaction.atomic
def seed_demo() -> list[str]:
    """Create what is missing; return a line per thing created."""
    created: list[str] = []
    User = get_user_model()
    teams: dict[str, Team] = {}
    for slug, (name, people) in TEAMS.items():
        team, made = Team.objects.get_or_create(slug=slug, defaults={"name": name})
        teams[slug] = team
        if made:
            created.append(f"team {slug}")
        for username, role in people:
            user, made = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@{slug}.example"}
            )
            if made:
                user.set_password(DEMO_PASSWORD)
                user.save()
                created.append(f"user {username}")
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    author = User.objects.get(username="alice")
    for slug, name, description, answers, chain in USE_CASES:
        if UseCase.objects.filter(team=teams[slug], name=name).exists():
            continue
        use_case = UseCase(team=teams[slug], name=name, description=description, **answers)
        use_case_save(use_case=use_case, hops=chain, by=author)
        created.append(f"use case {name!r}")
    created += seed_demo_adrs(teams["acme"])
    created += seed_demo_review(teams["acme"])
    return created


def seed_demo_adrs(team: Team) -> list[str]:
    """Demo ADRs for acme: an accepted record with its superseded predecessor (the
    notifications use case) and a proposal drafted from "Place an order"."""
    from decisions.models import Decision, DecisionStatus
    from decisions.records.services import (
        decision_create_from_use_case,
        decision_supersede,
        decision_transition,
        decision_update,
    )

    if Decision.objects.filter(team=team).exists():
        return []
    User = get_user_model()
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    notifications = UseCase.objects.get(team=team, name="Order notifications")
    first = decision_create_from_use_case(use_case=notifications, by=bob)
    decision_update(
        decision=first,
        data={"title": "Notify consumers of orders over REST callbacks"},
        by=bob,
    )
    decision_transition(
        decision=first,
        to=DecisionStatus.ACCEPTED,
        by=alice,
        decision_makers=["alice", "bob"],
        note="Good enough while we had two consumers.",
    )
    second = decision_supersede(decision=first, by=bob)
    decision_update(
        decision=second,
        data={
            "title": f"{second.chosen_option} for order notifications",
            "context": second.context
            + "\n\nA fourth consumer (analytics) joined; calling each one from the order "
            "service no longer scales.",
        },
        by=bob,
    )
    decision_transition(
        decision=second,
        to=DecisionStatus.ACCEPTED,
        by=alice,
        decision_makers=["alice", "bob"],
        consulted=["carol"],
    )
    order = UseCase.objects.get(team=team, name="Place an order")
    decision_create_from_use_case(use_case=order, by=bob)
    return [f"ADR {d.label} {d.title!r}" for d in Decision.objects.filter(team=team)]


def seed_demo_review(team: Team) -> list[str]:
    """A live review session for acme's proposed ADRs, with a vote and a comment in it.

    Made only once, and only when there are proposals to put on the agenda.
    """
    from django.utils import timezone

    from decisions.models import Decision, DecisionStatus, ReviewSession
    from decisions.reviews.services import comment_add, session_create, session_start, vote_cast

    proposals = list(
        Decision.objects.filter(team=team, status=DecisionStatus.PROPOSED).order_by("number")
    )
    if not proposals or ReviewSession.objects.filter(team=team).exists():
        return []
    User = get_user_model()
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    session = session_create(
        team=team,
        title="Checkout architecture review",
        scheduled_for=timezone.now(),
        decisions=proposals,
        by=alice,
    )
    session = session_start(session=session, by=alice)
    assert session.current_item is not None  # a started session is on its first item
    vote_cast(item=session.current_item, by=bob, choice="concerns")
    comment_add(
        item=session.current_item,
        by=bob,
        body="Payments' p99 is **450 ms** on its own. Do we have a probe run to back the "
        "estimate before we accept?",
    )
    return [f"review session {session.title!r} (live)"]
