"""Review sessions: create, run, vote, comment, decide, close.

Every write runs in one transaction that first locks the session row, then the agenda
item it touches, always in that order, so two people acting at the same moment queue
behind each other instead of racing:

* two votes on one item: both land (one row per member, the second one an update of
  the unique (item, user) row if it is the same member), never a double count;
* a vote and a decide (or a close): whichever commits second sees the first. A vote that
  arrives after the outcome is refused with a message, and the decision-makers written
  into the ADR are read under the same lock, so they match the votes the minutes show.

On PostgreSQL the lock is `SELECT ... FOR UPDATE`; on SQLite `select_for_update` is a
no-op, but the connection opens every transaction with BEGIN IMMEDIATE (settings), which
serialises writers the same way. Outcomes are also written with a conditional update
(`outcome = pending`) so a decided item can never be decided twice.

Each change bumps `ReviewSession.version`; the live page polls that number.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.models import (
    AgendaItem,
    Comment,
    Decision,
    DecisionStatus,
    Membership,
    Outcome,
    Presence,
    ReviewSession,
    ReviewStatus,
    Role,
    Team,
    Vote,
    VoteChoice,
)
from decisions.records.services import DecisionError, decision_transition
from decisions.reviews.minutes import minutes_markdown
from decisions.teams.services import activity_record

# Seen within this long: present. The page polls every second, so a few missed polls
# (a slow network, a laptop lid) do not make someone vanish from the list.
PRESENT_FOR = datetime.timedelta(seconds=10)
# A poll writes last_seen at most this often; the others only read.
PRESENCE_REFRESH = datetime.timedelta(seconds=3)
COMMENT_MAX_CHARS = 5000


class ReviewError(Exception):
    """A review rule refused the action; the message is shown to the user as is."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def display_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "(deleted user)"
    return user.get_full_name() or user.get_username()


# --- creating and running ---------------------------------------------------


@transaction.atomic
def session_create(
    *,
    team: Team,
    title: str,
    scheduled_for: datetime.datetime,
    decisions: Sequence[Decision],
    by: AbstractBaseUser,
) -> ReviewSession:
    """A scheduled session whose agenda is `decisions`, in that order."""
    _require_role(team, by, Role.FACILITATOR)
    title = title.strip()
    if not title:
        raise ReviewError("A session needs a title.")
    if not decisions:
        raise ReviewError("Put at least one proposed ADR on the agenda.")
    if len({d.pk for d in decisions}) != len(decisions):
        raise ReviewError("An ADR can be on the agenda only once.")
    for decision in decisions:
        if decision.team_id != team.pk:
            raise ReviewError(f"{decision.label} belongs to another team.")
        if decision.status != DecisionStatus.PROPOSED:
            raise ReviewError(
                f"{decision.label} is {decision.get_status_display().lower()}; "
                "only proposed ADRs can be reviewed."
            )
    session = ReviewSession.objects.create(
        team=team, title=title, scheduled_for=scheduled_for, facilitator=by
    )
    AgendaItem.objects.bulk_create(
        AgendaItem(session=session, decision=decision, position=position)
        for position, decision in enumerate(decisions, start=1)
    )
    return session


@transaction.atomic
def session_delete(*, session: ReviewSession, by: AbstractBaseUser) -> None:
    """Delete a session that has not started; its agenda goes with it, the ADRs stay."""
    _require_role(session.team, by, Role.FACILITATOR)
    session = _lock_session(session.pk)
    if session.status != ReviewStatus.SCHEDULED:
        raise ReviewError(
            f"“{session.title}” has {'started' if session.is_live else 'closed'}; "
            "only a session that has not started can be deleted."
        )
    subject = f"review session “{session.title}”"
    labels = ", ".join(
        f"ADR-{n:04d}" for n in session.items.values_list("decision__number", flat=True)
    )
    team = session.team
    session.delete()
    activity_record(
        team=team, by=by, action="deleted", subject=subject,
        note=f"Agenda: {labels}." if labels else "",
    )  # fmt: skip


@transaction.atomic
def session_start(*, session: ReviewSession, by: AbstractBaseUser) -> ReviewSession:
    """Scheduled -> live, on the first agenda item."""
    session = _lock_session(session.pk)
    _require_role(session.team, by, Role.FACILITATOR)
    if session.status != ReviewStatus.SCHEDULED:
        raise ReviewError(f"The session is already {session.get_status_display().lower()}.")
    first = session.items.order_by("position").first()
    session.status = ReviewStatus.LIVE
    session.started = timezone.now()
    session.current_item = first
    if session.facilitator_id is None:
        session.facilitator = by
    session.save(update_fields=["status", "started", "current_item", "facilitator"])
    return _bump(session)


@transaction.atomic
def session_advance(
    *,
    session: ReviewSession,
    by: AbstractBaseUser,
    step: int = 1,
    to_item: AgendaItem | None = None,
) -> ReviewSession:
    """Move the whole room to the next (+1) or previous (-1) item, or to `to_item`."""
    session = _lock_session(session.pk)
    _require_role(session.team, by, Role.FACILITATOR)
    _require_live(session)
    items = list(session.items.order_by("position"))
    if to_item is not None:
        target = next((item for item in items if item.pk == to_item.pk), None)
        if target is None:
            raise ReviewError("That item is not on this session's agenda.")
    else:
        if step not in (1, -1):
            raise ReviewError("Move one item forward or back.")
        index = next((i for i, item in enumerate(items) if item.pk == session.current_item_id), -1)
        if not 0 <= index + step < len(items):
            raise ReviewError("This is the last item." if step > 0 else "This is the first item.")
        target = items[index + step]
    if target.pk != session.current_item_id:
        session.current_item = target
        session.save(update_fields=["current_item"])
        session = _bump(session)
    return session


@transaction.atomic
def session_close(*, session: ReviewSession, by: AbstractBaseUser) -> ReviewSession:
    """End the session and write its minutes; nothing can be voted or decided after."""
    session = _lock_session(session.pk)
    _require_role(session.team, by, Role.FACILITATOR)
    if session.status == ReviewStatus.CLOSED:
        raise ReviewError("The session is already closed.")
    session.status = ReviewStatus.CLOSED
    session.closed = timezone.now()
    session.minutes = minutes_markdown(session)
    session.save(update_fields=["status", "closed", "minutes"])
    return _bump(session)


# --- taking part ------------------------------------------------------------


@transaction.atomic
def vote_cast(*, item: AgendaItem, by: AbstractBaseUser, choice: str) -> Vote:
    """One vote per member per item; voting again changes it, until the item is decided."""
    if choice not in VoteChoice.values:
        raise ReviewError(f"“{choice}” is not a vote; choose approve, concerns or block.")
    session, item = _lock_item(item)
    _require_role(session.team, by, Role.MEMBER)
    _require_live(session)
    _require_pending(item, "vote on")
    vote, _ = Vote.objects.update_or_create(item=item, user=by, defaults={"choice": choice})
    _bump(session)
    return vote


@transaction.atomic
def comment_add(*, item: AgendaItem, by: AbstractBaseUser, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise ReviewError("Write something first.")
    if len(body) > COMMENT_MAX_CHARS:
        raise ReviewError(f"Keep a comment under {COMMENT_MAX_CHARS} characters.")
    session, item = _lock_item(item)
    _require_role(session.team, by, Role.MEMBER)
    _require_live(session)
    _require_pending(item, "comment on")
    comment = Comment.objects.create(item=item, author=by, body=body)
    _bump(session)
    return comment


@transaction.atomic
def item_decide(
    *,
    item: AgendaItem,
    by: AbstractBaseUser,
    outcome: str,
    rationale: str,
    override: bool = False,
    override_reason: str = "",
) -> AgendaItem:
    """Record the room's outcome and move the ADR along its lifecycle.

    Accept: the ADR becomes accepted, with the approvers as decision-makers and the
    commenters as consulted. Reject: the ADR becomes rejected. Defer: it stays proposed
    for a later session. A block vote stops an accept unless the facilitator overrides
    it and says why.
    """
    if outcome not in (Outcome.ACCEPTED, Outcome.REJECTED, Outcome.DEFERRED):
        raise ReviewError("Record accept, reject or defer.")
    rationale = rationale.strip()
    override_reason = override_reason.strip()
    if not rationale:
        raise ReviewError("Give the rationale for the outcome; it goes into the minutes.")
    session, item = _lock_item(item)
    _require_role(session.team, by, Role.FACILITATOR)
    _require_live(session)
    _require_pending(item, "decide")

    votes = list(item.votes.select_related("user").order_by("cast_at", "pk"))
    blockers = [display_name(v.user) for v in votes if v.choice == VoteChoice.BLOCK]
    if outcome == Outcome.ACCEPTED and blockers:
        if not override:
            raise ReviewError(
                f"{', '.join(blockers)} voted block. Accept only with an explicit override "
                "and its reason, or reject or defer the item."
            )
        if not override_reason:
            raise ReviewError("Say why the block vote is overridden.")
    elif override_reason:
        # An override reason on anything but a blocked accept would be misleading in the minutes.
        override_reason = ""

    decided_at = timezone.now()
    updated = AgendaItem.objects.filter(pk=item.pk, outcome=Outcome.PENDING).update(
        outcome=outcome,
        rationale=rationale,
        override_reason=override_reason,
        decided_by=by,
        decided_at=decided_at,
    )
    if updated != 1:  # the lock makes this unreachable; the condition makes it impossible
        raise ReviewError("This item has just been decided by someone else.")

    note = f"Review “{session.title}”: {rationale}"
    if override_reason:
        note += f" (block overridden: {override_reason})"
    try:
        if outcome == Outcome.ACCEPTED:
            approvers = [display_name(v.user) for v in votes if v.choice == VoteChoice.APPROVE]
            decision_transition(
                decision=item.decision,
                to=DecisionStatus.ACCEPTED,
                by=by,
                note=note,
                decision_makers=approvers,
                consulted=_commenters(item),
            )
        elif outcome == Outcome.REJECTED:
            decision_transition(
                decision=item.decision, to=DecisionStatus.REJECTED, by=by, note=note
            )
    except DecisionError as error:
        # Raising rolls the outcome back with the rest of the transaction.
        raise ReviewError(error.message) from error
    _bump(session)
    item.refresh_from_db()
    return item


def presence_touch(
    *, session_id: int, user: AbstractBaseUser, now: datetime.datetime | None = None
) -> list[int]:
    """Mark `user` present in a live session; return the ids of everyone present, sorted.

    Called by every poll, so it reads first and writes only when the user's row is
    missing or older than PRESENCE_REFRESH: a room of 30 people polling every second
    writes about ten small rows a second, not thirty.
    """
    now = now or timezone.now()
    seen = dict(
        Presence.objects.filter(session_id=session_id, last_seen__gte=now - PRESENT_FOR)
        .values_list("user_id", "last_seen")
        .order_by()
    )
    mine = seen.get(user.pk)
    if mine is None or mine < now - PRESENCE_REFRESH:
        if not Presence.objects.filter(session_id=session_id, user=user).update(last_seen=now):
            Presence.objects.get_or_create(
                session_id=session_id, user=user, defaults={"last_seen": now}
            )
        seen[user.pk] = now
    return sorted(seen)


# --- helpers ----------------------------------------------------------------


def _lock_session(pk: int) -> ReviewSession:
    return ReviewSession.objects.select_for_update().select_related("team").get(pk=pk)


def _lock_item(item: AgendaItem) -> tuple[ReviewSession, AgendaItem]:
    """The session row, then the item row, locked in that order (see module docstring)."""
    session = _lock_session(item.session_id)
    locked = AgendaItem.objects.select_for_update().select_related("decision").get(pk=item.pk)
    return session, locked


def _bump(session: ReviewSession) -> ReviewSession:
    ReviewSession.objects.filter(pk=session.pk).update(version=F("version") + 1)
    session.refresh_from_db(fields=["version"])
    return session


def _require_role(team: Team, user: AbstractBaseUser, role: str) -> None:
    """The views check access first; this keeps a service call from a script honest too."""
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None or not membership.can(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in {team}.")


def _require_live(session: ReviewSession) -> None:
    if session.status == ReviewStatus.SCHEDULED:
        raise ReviewError("The session has not started yet.")
    if session.status == ReviewStatus.CLOSED:
        raise ReviewError("The session is closed.")


def _require_pending(item: AgendaItem, doing: str) -> None:
    if not item.is_pending:
        raise ReviewError(
            f"{item.decision.label} was already decided ({item.get_outcome_display().lower()}); "
            f"you can no longer {doing} it."
        )


def _commenters(item: AgendaItem) -> list[str]:
    """Everyone who commented on the item, in the order they first spoke."""
    names: dict[str, None] = {}
    for comment in item.comments.select_related("author").order_by("created", "pk"):
        names.setdefault(display_name(comment.author), None)
    return list(names)
