"""Reads for review sessions: the list, the cheap poll state and the live page's content."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from decisions.markdown import render_markdown
from decisions.models import (
    AgendaItem,
    Decision,
    DecisionStatus,
    Outcome,
    ReviewSession,
    Team,
    Vote,
    VoteChoice,
)
from decisions.records.selectors import decision_diagram_svg, decision_latest_evidence
from decisions.reviews.services import display_name

DIAGRAM_CACHE_S = 3600


@dataclass(frozen=True)
class PollState:
    pk: int
    version: int
    status: str
    created: datetime.datetime

    @property
    def cache_key(self) -> str:
        # `created` too: SQLite may hand a deleted session's id to the next one.
        return f"review:{self.pk}:{self.created.timestamp()}"


def session_list(*, team: Team) -> QuerySet[ReviewSession]:
    """The team's sessions, newest first; a page of them gets its agenda counts with
    ``attach_agenda_counts`` (counting every session's items would grow with the list)."""
    return (
        ReviewSession.objects.filter(team=team)
        .select_related("team", "facilitator")
        .order_by("-scheduled_for", "-pk")
    )


def attach_agenda_counts(sessions: Iterable[ReviewSession]) -> None:
    """Set ``item_count`` and ``decided_count`` on each session of a page, in one query."""
    sessions = list(sessions)
    counts = {
        row["session_id"]: row
        for row in AgendaItem.objects.filter(session__in=sessions)
        .values("session_id")
        .annotate(items=Count("pk"), decided=Count("pk", filter=~Q(outcome=Outcome.PENDING)))
        .order_by()
    }
    for session in sessions:
        found = counts.get(session.pk, {})
        # Counts for the list's page, attached as attributes the template reads.
        session.item_count = found.get("items", 0)  # type: ignore[attr-defined]
        session.decided_count = found.get("decided", 0)  # type: ignore[attr-defined]


def agenda_candidates(*, team: Team) -> QuerySet[Decision]:
    """The team's proposed ADRs, the only ones a session can review."""
    return Decision.objects.filter(team=team, status=DecisionStatus.PROPOSED).order_by("number")


def poll_state(*, team: Team, pk: int) -> PollState | None:
    """Version and status in one primary-key read; None if the session is not the team's."""
    row = (
        ReviewSession.objects.filter(team=team, pk=pk)
        .values_list("version", "status", "created")
        .first()
    )
    return PollState(pk, *row) if row else None


def poll_token(*, version: int, present: Iterable[int]) -> str:
    """What the page shows, in a few characters: the version plus who is present.

    Presence changes without a version bump (people arrive and drift away), so its
    digest is part of the token; the page is re-rendered when either changes.
    """
    digest = hashlib.blake2s(",".join(map(str, present)).encode(), digest_size=4).hexdigest()
    return f"{version}-{digest}"


def present_people(*, user_ids: list[int]) -> list[str]:
    """Names of the people `presence_touch` found present, sorted."""
    if not user_ids:
        return []
    users = get_user_model().objects.filter(pk__in=user_ids)
    return sorted((display_name(user) for user in users), key=str.casefold)


def diagram_for(decision: Decision) -> SafeString | str:
    """The ADR's diagram as inline SVG, kept in the cache until the record changes.

    `decision_diagram_svg` runs dot (tens of milliseconds) and every poll that sees a
    change re-renders the current item, so the drawing is cached per record version. The
    SVG is built from internal node ids and escaped labels, so it is safe in the page.
    """
    use_case = decision.use_case
    key = (
        f"review-diagram:{decision.pk}:{decision.updated.timestamp()}:"
        f"{use_case.updated.timestamp() if use_case else ''}"
    )
    svg = cache.get(key)
    if svg is None:
        svg = decision_diagram_svg(decision=decision) or ""
        cache.set(key, svg, DIAGRAM_CACHE_S)
    return mark_safe(svg)  # noqa: S308 - see the docstring


def item_view(item: AgendaItem) -> dict[str, Any]:
    """The current item: the ADR's summary, the recommendation and its evidence."""
    decision = item.decision
    snapshot = decision.snapshot or (
        decision.use_case.latest_snapshot if decision.use_case else None
    )
    output = snapshot.output if snapshot else {}
    options = output.get("options") or []
    top = options[0] if options else None
    return {
        "decision": decision,
        "context_html": render_markdown(decision.context),
        "justification_html": render_markdown(decision.justification),
        "top": top,
        "why": [r for r in (top or {}).get("because", []) if r.get("effect", 0) > 0][:5],
        "estimate": output.get("chain_estimate"),
        "risks": output.get("risks") or [],
        "evidence": decision_latest_evidence(decision=decision),
        "diagram": diagram_for(decision),
    }


def live_shared(*, session: ReviewSession, present: list[str]) -> dict[str, Any]:
    """What every person in the room sees alike: agenda, current item, votes, comments.

    Nothing here depends on who is looking, so the rendered result can be shared
    between everyone polling the same version (see `views.review`).
    """
    items = list(
        AgendaItem.objects.filter(session=session)
        .select_related(
            "decided_by",
            "decision__team",
            "decision__snapshot",
            "decision__use_case__latest_snapshot",
        )
        .order_by("position")
    )
    current = next((i for i in items if i.pk == session.current_item_id), None)
    context: dict[str, Any] = {
        "session": session,
        "items": items,
        "current": current,
        "present": present,
    }
    if current is None:
        return context
    votes = list(current.votes.select_related("user"))
    tally = Counter(v.choice for v in votes)
    comments = [
        {
            "pk": c.pk,
            "author": display_name(c.author),
            "created": c.created,
            "html": render_markdown(c.body),
        }
        for c in current.comments.select_related("author")
    ]
    context.update(
        item=item_view(current),
        votes=sorted(
            ({"name": display_name(v.user), "choice": v.choice} for v in votes),
            key=lambda v: v["name"].casefold(),
        ),
        tally=[(choice, tally[choice.value]) for choice in VoteChoice],
        blocked=tally[VoteChoice.BLOCK] > 0,
        comments=comments,
        position=items.index(current) + 1,
    )
    return context


def my_vote(*, item_id: int | None, user: User) -> str | None:
    if item_id is None:
        return None
    return Vote.objects.filter(item_id=item_id, user=user).values_list("choice", flat=True).first()
