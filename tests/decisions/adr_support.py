"""Shared rows for the ADR tests: a realistic use case and records drafted from it."""

from __future__ import annotations

from decisions.models import Decision, DecisionStatus
from decisions.records.services import (
    decision_create_from_use_case,
    decision_supersede,
    decision_transition,
    decision_update,
)
from patterns.engine import Hop
from tests.factories import make_use_case

ORDER_HOPS = [
    Hop("inventory", 8, 40),
    Hop("payments", 40, 450),
    Hop("shipping", 25, 120),
    Hop("notifications", 5, 30, critical=False),
]


def order_use_case(team, by=None):
    return make_use_case(
        team,
        name="Place an order",
        description="A shopper presses Buy: stock is reserved and payment authorised.",
        hops=ORDER_HOPS,
        by=by,
        caller="browser",
        latency_p95_ms=400,
        latency_p99_ms=900,
        consistency="strong",
        availability=99.95,
        message_loss_ok=False,
        peak_rps=120,
        avg_rps=25,
        consumers=3,
        distributed_transaction=True,
        ordering="per-entity",
        delivery="effectively-once",
    )


def drafted(team, by, **changes) -> Decision:
    decision = decision_create_from_use_case(use_case=order_use_case(team, by), by=by)
    if changes:
        decision_update(decision=decision, data=changes, by=by)
        decision.refresh_from_db()
    return decision


def accepted_with_predecessor(team, by) -> tuple[Decision, Decision]:
    """ADR-0001 accepted then superseded by ADR-0002 (accepted)."""
    old = drafted(team, by, decision_makers="olivia\nmax", consulted="vera")
    decision_transition(decision=old, to=DecisionStatus.ACCEPTED, by=by)
    new = decision_supersede(decision=old, by=by)
    decision_update(decision=new, data={"title": "Saga with an orchestrator, v2"}, by=by)
    decision_transition(decision=new, to=DecisionStatus.ACCEPTED, by=by)
    old.refresh_from_db()
    new.refresh_from_db()
    return old, new
