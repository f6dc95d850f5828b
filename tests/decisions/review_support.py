"""Rows for the review-session tests: proposals with a recommendation, sessions, members."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from decisions.models import Decision, Role, Team
from decisions.records.services import decision_create_from_use_case
from decisions.reviews.services import session_create, session_start
from patterns.engine import Hop
from tests.factories import add_member, make_use_case


def make_proposals(team: Team, by, count: int = 2) -> list[Decision]:
    """Proposed ADRs drafted from real use cases, so they carry a recommendation."""
    proposals = []
    for i in range(count):
        use_case = make_use_case(
            team,
            name=f"Checkout step {i + 1}",
            hops=[Hop("inventory", 8, 40), Hop("payments", 40, 450)],
            by=by,
            caller="browser",
            latency_p95_ms=400,
            latency_p99_ms=900,
        )
        proposals.append(decision_create_from_use_case(use_case=use_case, by=by))
    return proposals


def make_session(team: Team, facilitator, decisions: list[Decision], *, start: bool = True):
    session = session_create(
        team=team,
        title="Architecture review",
        scheduled_for=timezone.now() + datetime.timedelta(hours=1),
        decisions=decisions,
        by=facilitator,
    )
    if start:
        session = session_start(session=session, by=facilitator)
    return session


def make_members(team: Team, count: int, role: str = Role.MEMBER, prefix: str = "m") -> list:
    """Members without a password: hashing one costs a noticeable fraction of a second."""
    users = []
    for i in range(count):
        user = get_user_model().objects.create_user(username=f"{prefix}{i:02d}")
        add_member(team, user, role)
        users.append(user)
    return users
