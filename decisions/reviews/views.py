"""Review sessions: the list, the live page, its poll, and the actions people take in it.

Actions answer an htmx request with 204 and an `HX-Trigger: reviewChanged` header, so the
acting person's live region refreshes at once while everyone else's picks the change up
on its next poll; a refusal answers 409 with the reason. Without htmx they redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from decisions.models import (
    AgendaItem,
    Membership,
    Outcome,
    ReviewSession,
    ReviewStatus,
    Role,
    VoteChoice,
)
from decisions.pdf import pdf_response
from decisions.reviews.forms import (
    AdvanceForm,
    CommentForm,
    DecideForm,
    ItemForm,
    SessionForm,
    VoteForm,
)
from decisions.reviews.minutes import minutes_pdf
from decisions.reviews.selectors import (
    PollState,
    agenda_candidates,
    live_shared,
    my_vote,
    poll_state,
    poll_token,
    present_people,
    session_list,
)
from decisions.reviews.services import (
    ReviewError,
    comment_add,
    item_decide,
    presence_touch,
    session_advance,
    session_close,
    session_create,
    session_delete,
    session_start,
    vote_cast,
)
from decisions.teams.access import team_membership
from decisions.teams.confirm import Confirmation, confirm_page

DETAIL = "decisions/reviews/review_detail.html"
SHARED_PARTS = ("status", "agenda", "item", "votes", "comments")
# Long enough for a room of pollers to share one render; a new token makes a new key.
SHARED_CACHE_S = 30
CHANGED_EVENT = "reviewChanged"


@login_required
@require_GET
def review_list(request: HttpRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    return render(
        request,
        "decisions/reviews/review_list.html",
        {
            "team": membership.team,
            "membership": membership,
            "sessions": session_list(team=membership.team),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.FACILITATOR)
    team = membership.team
    candidates = list(agenda_candidates(team=team))
    form = SessionForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            session = session_create(
                team=team,
                title=form.cleaned_data["title"],
                scheduled_for=form.cleaned_data["scheduled_for"],
                decisions=form.cleaned_data["decisions"],
                by=request.user,
            )
        except ReviewError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Scheduled “{session.title}”.")
            return redirect(session)
    return render(
        request,
        "decisions/reviews/review_form.html",
        {"team": team, "membership": membership, "form": form, "candidates": candidates},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def review_detail(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    membership = team_membership(request, team_slug)
    state = poll_state(team=membership.team, pk=pk)
    if state is None:
        raise Http404("No such review session.")
    present = _touch(state.status, pk, request.user)
    token = poll_token(version=state.version, present=present)
    context = _live_context(request, membership, state, present, token)
    return render(request, DETAIL, context)


@login_required
@require_http_methods(["GET", "POST"])
def review_delete(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    """Delete a session that has not started (facilitators); the ADRs on it stay."""
    membership, session = _session(request, team_slug, pk, Role.FACILITATOR)
    problem = ""
    if session.status != ReviewStatus.SCHEDULED:
        problem = "Only a session that has not started can be deleted; this one has."
    elif request.method == "POST":
        try:
            session_delete(session=session, by=request.user)
        except ReviewError as error:
            problem = error.message
        else:
            messages.success(request, f"Deleted “{session.title}”.")
            return redirect("review-list", team_slug=team_slug)
    confirm = Confirmation(
        title=f"Delete “{session.title}”?",
        button="Delete the session",
        cancel_url=session.get_absolute_url(),
        lines=[
            "The session and its agenda are removed; the proposed ADRs on it stay as they "
            "are. The team's activity keeps a line saying who deleted it.",
        ],
        problem=problem,
    )
    status = 409 if problem and request.method == "POST" else 200
    return confirm_page(request, membership, confirm, status=status)


@login_required
@require_GET
def review_poll(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    """The live region again, or "nothing changed" as cheaply as we can say it.

    The browser sends the token of what it shows in `?since=`; a match gets 204, which
    htmx never swaps (ADR-0003). `no-store` keeps caches out.
    """
    membership = team_membership(request, team_slug)
    state = poll_state(team=membership.team, pk=pk)
    if state is None:
        raise Http404("No such review session.")
    present = _touch(state.status, pk, request.user)
    token = poll_token(version=state.version, present=present)
    if state.status == ReviewStatus.CLOSED:
        # Swapped in (the closed page, without a poll trigger), and the polling stops.
        context = _live_context(request, membership, state, present, token)
        response = HttpResponseStopPolling(
            render_to_string(f"{DETAIL}#live", context, request=request)
        )
    elif request.GET.get("since") == token:
        response = HttpResponse(status=204)
    else:
        context = _live_context(request, membership, state, present, token)
        response = render(request, f"{DETAIL}#live", context)
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def review_start(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.FACILITATOR)
    return _act(request, session, lambda: session_start(session=session, by=request.user))


@login_required
@require_POST
def review_advance(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.FACILITATOR)
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, form)
    step = 1 if form.cleaned_data["direction"] == "next" else -1
    return _act(
        request, session, lambda: session_advance(session=session, by=request.user, step=step)
    )


@login_required
@require_POST
def review_vote(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.MEMBER)
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, form)
    item = _item(session, form)
    choice = form.cleaned_data["choice"]
    return _act(request, session, lambda: vote_cast(item=item, by=request.user, choice=choice))


@login_required
@require_POST
def review_comment(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.MEMBER)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, form)
    item = _item(session, form)
    body = form.cleaned_data["body"]
    return _act(request, session, lambda: comment_add(item=item, by=request.user, body=body))


@login_required
@require_POST
def review_decide(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.FACILITATOR)
    form = DecideForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, form)
    item = _item(session, form)
    data = form.cleaned_data
    return _act(
        request,
        session,
        lambda: item_decide(
            item=item,
            by=request.user,
            outcome=data["outcome"],
            rationale=data["rationale"],
            override=data["override"],
            override_reason=data["override_reason"],
        ),
    )


@login_required
@require_POST
def review_close(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.FACILITATOR)
    return _act(request, session, lambda: session_close(session=session, by=request.user))


@login_required
@require_GET
def review_minutes(request: HttpRequest, team_slug: str, pk: int, fmt: str) -> HttpResponse:
    _, session = _session(request, team_slug, pk, Role.VIEWER)
    if not session.is_closed:
        raise Http404("Minutes are written when the session closes.")
    name = f"review-{session.pk}-minutes"
    if fmt == "pdf":
        return pdf_response(
            request,
            lambda: minutes_pdf(session),
            filename=f"{name}.pdf",
            what=f"the minutes of “{session.title}”",
            back_url=reverse("review-detail", args=[team_slug, session.pk]),
            inline=True,
        )
    else:
        response = HttpResponse(session.minutes, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    return response


# --- helpers ----------------------------------------------------------------


def _session(
    request: HttpRequest, team_slug: str, pk: int, need: str
) -> tuple[Membership, ReviewSession]:
    """404 outside the team (or for another team's session), 403 below `need`."""
    membership = team_membership(request, team_slug, need=need)
    session = get_object_or_404(
        ReviewSession.objects.select_related("team"), team=membership.team, pk=pk
    )
    return membership, session


def _item(session: ReviewSession, form: ItemForm) -> AgendaItem:
    pk = form.cleaned_data["item"] or session.current_item_id
    return get_object_or_404(AgendaItem, session=session, pk=pk)


def _touch(status: str, pk: int, user: AbstractBaseUser) -> list[int]:
    """Presence counts only while the session is live: that is what the minutes call attended."""
    if status != ReviewStatus.LIVE:
        return []
    return presence_touch(session_id=pk, user=user)


def _live_context(
    request: HttpRequest,
    membership: Membership,
    state: PollState,
    present: list[int],
    token: str,
) -> dict[str, object]:
    """The live region's context: the shared parts (cached per token), then this person's."""
    key = f"{state.cache_key}:{token}"
    shared = cache.get(key)
    if shared is None:
        shared = _render_shared(state.pk, present)
        cache.set(key, shared, SHARED_CACHE_S)
    facts = shared["facts"]
    return {
        "team": membership.team,
        "membership": membership,
        "token": token,
        "parts": shared["parts"],
        "facts": facts,
        "my_vote": my_vote(item_id=facts["current"], user=request.user),
        "can_vote": membership.can_write and facts["live"],
        "can_run": membership.is_facilitator and not facts["closed"],
        "vote_choices": VoteChoice.choices,
        "outcome_choices": [(o.value, o.label) for o in Outcome if o != Outcome.PENDING],
    }


def _render_shared(pk: int, present: list[int]) -> dict[str, object]:
    """Render what everyone sees alike, once, with facts the personal controls need.

    Rendered without the request: no context processor, no CSRF token, nothing personal.

    The rows are read after the token was computed, so these parts are never older than
    the token that names them; a poll that lands in between just gets one more update.
    """
    session = ReviewSession.objects.select_related("team", "facilitator").get(pk=pk)
    context = live_shared(session=session, present=present_people(user_ids=present))
    current = context["current"]
    return {
        "parts": {
            name: render_to_string(f"{DETAIL}#shared-{name}", context) for name in SHARED_PARTS
        },
        "facts": {
            "pk": session.pk,
            "title": session.title,
            "status": session.status,
            "live": session.is_live,
            "closed": session.is_closed,
            "current": current.pk if current else None,
            "pending": bool(current and current.is_pending),
            "position": context.get("position", 0),
            "count": len(context["items"]),
        },
    }


def _act(
    request: HttpRequest, session: ReviewSession, action: Callable[[], object]
) -> HttpResponse:
    try:
        action()
    except ReviewError as error:
        if request.htmx:
            return HttpResponse(error.message, status=409, content_type="text/plain")
        messages.error(request, error.message)
        return redirect(session)
    if request.htmx:
        return trigger_client_event(HttpResponse(status=204), CHANGED_EVENT)
    return redirect(session)


def _invalid(request: HttpRequest, session: ReviewSession, form: object) -> HttpResponse:
    errors = "; ".join(
        f"{name}: {' '.join(msgs)}" if name != "__all__" else " ".join(msgs)
        for name, msgs in form.errors.items()
    )
    if request.htmx:
        return HttpResponse(errors, status=400, content_type="text/plain")
    messages.error(request, errors)
    return redirect(session)
