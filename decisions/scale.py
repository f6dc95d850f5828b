"""A team at company size for benchmarks and for trying Archway at scale: thousands of use
cases with varied, plausible answers, and decision records drafted from them, all made
through the app's own services (``use_case_save``, ``decision_create_from_use_case``,
``decision_transition``) so every row is what a user would have made.

Answers come from a seeded random generator: the same arguments give the same team. Rows
are written in batches of ``BATCH`` per transaction, which is what makes 10,000 use cases
take seconds per thousand on SQLite rather than one commit (and one fsync) per row.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict

from django.contrib.auth import get_user_model
from django.db import transaction

from decisions.models import Decision, DecisionStatus, Membership, Role, Team, UseCase
from decisions.records.services import decision_create_from_use_case, decision_transition
from decisions.usecases.services import use_case_save
from patterns.engine import CHOICES, Hop, UseCaseInput, parse_input

BATCH = 200
SEED = 14

ACTIONS = (
    "Place", "Cancel", "Refund", "Reserve", "Ship", "Track", "Price", "Rate", "Approve",
    "Schedule", "Notify about", "Reconcile", "Export", "Import", "Audit", "Archive",
    "Recommend", "Search", "Authorise", "Invoice",
)  # fmt: skip
THINGS = (
    "an order", "a payment", "stock", "a parcel", "a booking", "a subscription", "a claim",
    "a loan request", "a shipment", "a basket", "a price list", "a customer profile",
    "a support ticket", "a delivery slot", "a warehouse transfer", "a coupon", "a review",
    "a return", "an invoice", "a ledger entry",
)  # fmt: skip
AUDIENCES = (
    "for shoppers on the web shop", "for the mobile app", "for partner integrations",
    "for the call-centre tool", "for the nightly finance run", "for warehouse staff",
    "for the fraud team", "for the marketing feed",
)  # fmt: skip
SERVICES = (
    "inventory", "payments", "shipping", "notifications", "pricing", "catalog", "accounts",
    "fraud-check", "ledger", "search", "recommendations", "loyalty", "tax", "documents",
    "scheduling", "warehouse", "billing", "identity", "reviews", "analytics",
)  # fmt: skip


class TeamExists(Exception):
    """The team is there already; seed_scale never adds to or changes an existing team."""


def _answers(rng: random.Random) -> dict[str, object]:
    p95 = rng.choice((50, 80, 120, 200, 300, 400, 800, 1500, 5000))
    peak = rng.choice((2, 10, 40, 120, 300, 1000, 5000))
    chain = [
        Hop(
            service=service,
            p50_ms=(p50 := rng.choice((2, 5, 8, 15, 25, 40, 60))),
            p99_ms=p50 * rng.choice((3, 5, 8, 12)),
            critical=rng.random() > 0.2,
        )
        for service in rng.sample(SERVICES, rng.randint(0, 5))
    ]
    answers: dict[str, object] = {
        "caller": rng.choice(CHOICES["caller"]),
        "caller_waits": rng.random() > 0.35,
        "latency_p95_ms": float(p95),
        "latency_p99_ms": float(p95 * rng.choice((2, 3, 4))),
        "consistency": rng.choice(CHOICES["consistency"]),
        "staleness_s": float(rng.choice((0, 1, 5, 60, 600))),
        "availability": rng.choice((99.0, 99.5, 99.9, 99.95, 99.99)),
        "when_dependency_down": rng.choice(CHOICES["when_dependency_down"]),
        "message_loss_ok": rng.random() > 0.7,
        "peak_rps": float(peak),
        "avg_rps": float(max(1, peak * rng.choice((0.1, 0.25, 0.5)))),
        "consumers": rng.randint(1, 6),
        "distributed_transaction": rng.random() > 0.75,
        "ordering": rng.choice(CHOICES["ordering"]),
        "delivery": rng.choice(CHOICES["delivery"]),
        "streaming": rng.choice(CHOICES["streaming"]) if rng.random() > 0.85 else "none",
        "chain": [asdict(hop) for hop in chain],
    }
    return answers


def use_case_input(rng: random.Random, number: int) -> tuple[str, UseCaseInput]:
    """A named use case with checked answers, and its description."""
    action, thing, audience = rng.choice(ACTIONS), rng.choice(THINGS), rng.choice(AUDIENCES)
    name = f"{action} {thing} #{number:05d}"
    description = (
        f"{action} {thing} {audience}. Volume peaks during campaigns; the owning team "
        f"reviews the budget every quarter."
    )
    return description, parse_input({"name": name, **_answers(rng)})


def seed_scale(
    *,
    slug: str,
    use_cases: int,
    adrs: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> Team:
    """Create team ``slug`` with ``use_cases`` use cases and ``adrs`` records drafted from
    them (the first ``adrs`` use cases, then round again); a third of the records accepted,
    a few rejected. Raises TeamExists if the slug is taken."""
    if Team.objects.filter(slug=slug).exists():
        raise TeamExists(f"The team “{slug}” exists already; choose another slug.")
    user_model = get_user_model()
    with transaction.atomic():
        team = Team.objects.create(slug=slug, name=f"{slug.replace('-', ' ').title()} (scale)")
        owner, created = user_model.objects.get_or_create(username=f"{slug}-owner")
        if created:
            owner.set_unusable_password()
            owner.save(update_fields=["password"])
        Membership.objects.create(team=team, user=owner, role=Role.FACILITATOR)

    rng = random.Random(f"{SEED}:{slug}")
    made: list[int] = []
    for start in range(0, use_cases, BATCH):
        with transaction.atomic():
            for number in range(start, min(start + BATCH, use_cases)):
                description, answers = use_case_input(rng, number + 1)
                fields = {f: getattr(answers, f) for f in UseCase.REQUIREMENT_FIELDS}
                use_case = UseCase(team=team, name=answers.name, description=description, **fields)
                use_case_save(use_case=use_case, hops=list(answers.chain), by=owner)
                made.append(use_case.pk)
        if progress is not None:
            progress("use cases", min(start + BATCH, use_cases), use_cases)

    for start in range(0, adrs, BATCH):
        with transaction.atomic():
            ids = [made[i % len(made)] for i in range(start, min(start + BATCH, adrs))]
            found = UseCase.objects.select_related("team", "latest_snapshot").in_bulk(ids)
            for pk in ids:
                decision = decision_create_from_use_case(use_case=found[pk], by=owner)
                _settle(rng, decision, owner)
        if progress is not None:
            progress("decision records", min(start + BATCH, adrs), adrs)
    return team


def _settle(rng: random.Random, decision: Decision, by) -> None:
    roll = rng.random()
    if roll < 0.33:
        decision_transition(decision=decision, to=DecisionStatus.ACCEPTED, by=by)
    elif roll < 0.38:
        decision_transition(decision=decision, to=DecisionStatus.REJECTED, by=by)
