"""Pages for living decisions: the health page, assumptions, checks, team settings, inbox."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisions.living.forms import AssumptionForm, ReviewSettingsForm, TeamChecksForm, WebhookForm
from decisions.living.selectors import (
    HEALTH_LABELS,
    HEALTH_ORDER,
    notices_for,
    team_health,
    team_webhooks,
)
from decisions.living.services import (
    AssumptionError,
    assumption_delete,
    assumption_save,
    checks_request,
    decision_living_update,
    decision_supersede_with_evidence,
    decision_to_next_review,
)
from decisions.living.tasks import enqueue_checks
from decisions.living.webhooks import WebhookRefused, webhook_add
from decisions.models import Assumption, Decision, DecisionStatus, Notice, Role, Webhook
from decisions.records.services import DecisionError
from decisions.teams.access import TeamRequest, team_membership


def _decision(request: TeamRequest, team_slug: str, number: int, need: str):
    membership = team_membership(request, team_slug, need=need)
    decision = Decision.objects.filter(team=membership.team, number=number).first()
    if decision is None:
        raise Http404("No such ADR.")
    return membership, decision


@login_required
@require_GET
def health(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    chosen = request.GET.get("health", "")
    if chosen not in (*HEALTH_ORDER, "holding"):
        chosen = ""
    context = {
        "team": membership.team,
        "membership": membership,
        "rows": team_health(team=membership.team, health=chosen),
        "chosen": chosen,
        "choices": [(key, HEALTH_LABELS[key]) for key in (*HEALTH_ORDER, "holding")],
    }
    if request.htmx and request.htmx.target == "health-table":
        return render(request, "decisions/living/health.html#health-table", context)
    return render(request, "decisions/living/health.html", context)


def _run_now(request: TeamRequest, membership, decision: Decision | None) -> None:
    count = checks_request(team=membership.team, decision=decision)
    if not count:
        messages.error(request, "There is no accepted ADR to check.")
        return
    if enqueue_checks(membership.team):
        what = decision.label if decision else f"{count} accepted ADRs"
        messages.success(request, f"Checks of {what} started; results appear here as they come in.")
    else:
        messages.error(
            request, "The job queue is unavailable; the checks run at the next scheduled pass."
        )


@login_required
@require_POST
def run_all(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.MEMBER)
    _run_now(request, membership, None)
    return redirect("living-health", team_slug=team_slug)


@login_required
@require_POST
def run_one(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision(request, team_slug, number, Role.MEMBER)
    if decision.status != DecisionStatus.ACCEPTED:
        messages.error(
            request, f"{decision.label} is not accepted; only accepted ADRs are checked."
        )
    else:
        _run_now(request, membership, decision)
    return redirect(decision)


@login_required
@require_POST
def assumption_add(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision(request, team_slug, number, Role.FACILITATOR)
    return _save_assumption(request, decision, None)


def _assumption(request: TeamRequest, team_slug: str, pk: int) -> Assumption:
    membership = team_membership(request, team_slug, need=Role.FACILITATOR)
    return get_object_or_404(
        Assumption.objects.select_related("decision__team"),
        decision__team=membership.team,
        pk=pk,
    )


@login_required
@require_POST
def assumption_edit(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    assumption = _assumption(request, team_slug, pk)
    return _save_assumption(request, assumption.decision, assumption)


def _save_assumption(request: TeamRequest, decision: Decision, assumption: Assumption | None):
    form = AssumptionForm(request.POST, instance=assumption)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[f].label or f}: {' '.join(map(str, e))}" for f, e in form.errors.items()
        )
        messages.error(request, f"Assumption not saved: {problems}")
        return redirect(f"{decision.get_absolute_url()}#assumptions")
    data = {name: form.cleaned_data[name] for name in form.Meta.fields}
    try:
        # The form changed the instance in place; the service takes the values explicitly.
        if assumption is not None:
            assumption.refresh_from_db()
        saved = assumption_save(
            decision=decision, data=data, by=request.user, assumption=assumption
        )
    except AssumptionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Assumption saved: {saved.label}.")
    return redirect(f"{decision.get_absolute_url()}#assumptions")


@login_required
@require_POST
def assumption_remove(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    assumption = _assumption(request, team_slug, pk)
    decision = assumption.decision
    assumption_delete(assumption=assumption, by=request.user)
    messages.success(request, "Assumption removed.")
    return redirect(f"{decision.get_absolute_url()}#assumptions")


@login_required
@require_POST
def review_settings(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision(request, team_slug, number, Role.FACILITATOR)
    form = ReviewSettingsForm(request.POST, instance=Decision.objects.get(pk=decision.pk))
    if decision.status != DecisionStatus.ACCEPTED:
        messages.error(request, f"{decision.label} is not accepted; it has no review date yet.")
    elif form.is_valid():
        decision_living_update(decision=decision, data=form.cleaned_data, by=request.user)
        messages.success(request, "Review settings saved.")
    else:
        messages.error(
            request,
            "Review settings not saved: "
            + "; ".join(" ".join(map(str, e)) for e in form.errors.values()),
        )
    return redirect(f"{decision.get_absolute_url()}#living")


@login_required
@require_POST
def supersede_with_evidence(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision(request, team_slug, number, Role.MEMBER)
    try:
        new = decision_supersede_with_evidence(decision=decision, by=request.user)
    except DecisionError as exc:
        messages.error(request, exc.message)
        return redirect(decision)
    messages.success(
        request, f"{new.label} drafted from the new evidence to supersede {decision.label}."
    )
    return redirect(new)


@login_required
@require_POST
def to_next_review(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision(request, team_slug, number, Role.FACILITATOR)
    try:
        session = decision_to_next_review(decision=decision, by=request.user)
    except DecisionError as exc:
        messages.error(request, exc.message)
        return redirect(decision)
    messages.success(request, f"Put on the agenda of “{session.title}”.")
    return redirect(session)


@login_required
@require_http_methods(["GET", "POST"])
def team_settings(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.FACILITATOR)
    team = membership.team
    form = TeamChecksForm(instance=team)
    webhook_form = WebhookForm()
    if request.method == "POST":
        if request.POST.get("form") == "webhook":
            webhook_form = WebhookForm(request.POST)
            if webhook_form.is_valid():
                try:
                    webhook_add(team=team, url=webhook_form.cleaned_data["url"].strip())
                except WebhookRefused as exc:
                    webhook_form.add_error("url", f"Refused: {exc.reason}.")
                else:
                    messages.success(request, "Webhook added; its secret signs every delivery.")
                    return redirect("living-settings", team_slug=team_slug)
        elif request.POST.get("form") == "webhook-delete":
            Webhook.objects.filter(team=team, pk=request.POST.get("webhook") or 0).delete()
            messages.success(request, "Webhook removed.")
            return redirect("living-settings", team_slug=team_slug)
        else:
            form = TeamChecksForm(request.POST, instance=team)
            if form.is_valid():
                form.save()
                messages.success(request, "Check schedule saved.")
                return redirect("living-settings", team_slug=team_slug)
    context = {
        "team": team,
        "membership": membership,
        "form": form,
        "webhook_form": webhook_form,
        "webhooks": team_webhooks(team=team),
    }
    return render(
        request,
        "decisions/living/team_settings.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def inbox(request: TeamRequest) -> HttpResponse:
    return render(
        request, "decisions/living/inbox.html", {"notices": notices_for(user=request.user)[:200]}
    )


@login_required
@require_POST
def inbox_read(request: TeamRequest) -> HttpResponse:
    notices = Notice.objects.filter(user=request.user, read_at__isnull=True)
    if request.POST.get("notice"):
        notices = notices.filter(pk=request.POST["notice"])
    notices.update(read_at=timezone.now())
    return redirect("inbox")
