"""Probe pages: endpoints, the run form, the live run page and its results.

Facilitators manage endpoints and start or cancel probes; members and viewers
read; anyone outside the team gets 404 (``decisions.teams.access``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from decisions.models import Membership, Role, UseCase
from decisions.teams.access import get_team_object_or_404, team_membership
from decisions.teams.confirm import Confirmation, confirm_page
from probes import plots, selectors
from probes.egress import OWNERSHIP_PATH
from probes.engine import summarize
from probes.forms import EndpointForm, RunForm
from probes.models import Endpoint, JobStatus, ProbeRun
from probes.services import runs
from probes.services.preconditions import ProbeRefused, team_probe_token
from probes.services.runs import (
    EndpointInUse,
    endpoint_cited_by,
    endpoint_delete_or_archive,
    endpoint_save,
    probe_cancel,
    probe_start,
)

RUN_TEMPLATE = "probes/run_detail.html"


def _page(membership: Membership, **context: Any) -> dict[str, Any]:
    return {
        "team": membership.team,
        "membership": membership,
        "can_manage": membership.is_facilitator,
        "allow": selectors.allow_list_note(),
        **context,
    }


@login_required
@require_GET
def endpoint_list(request: HttpRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    team = membership.team
    archived = request.GET.get("archived") == "1"
    return render(
        request,
        "probes/endpoint_list.html",
        _page(
            membership,
            archived=archived,
            endpoints=selectors.endpoint_list(team=team, archived=archived),
            runs=selectors.run_list(team=team)[:15],
            token=team_probe_token(team) if membership.is_facilitator else None,
            ownership_path=OWNERSHIP_PATH,
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.FACILITATOR)
    # "Add endpoint" on a use case's chain names the hop's service.
    service = request.GET.get("service", "")[:80]
    return _endpoint_form(request, membership, Endpoint(team=membership.team, service=service))


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    endpoint = get_team_object_or_404(
        request, Endpoint, team_slug=team_slug, need=Role.FACILITATOR, pk=pk
    )
    return _endpoint_form(request, request.membership, endpoint)


def _endpoint_form(
    request: HttpRequest, membership: Membership, endpoint: Endpoint
) -> HttpResponse:
    if request.method == "POST":
        form = EndpointForm(request.POST, instance=endpoint, team=membership.team)
        if form.is_valid():
            try:
                endpoint = endpoint_save(endpoint=form.save(commit=False), by=request.user)
            except ProbeRefused as exc:
                _add_refusal(form, exc)
            else:
                messages.success(request, f"Saved endpoint “{endpoint.name}”.")
                return redirect(endpoint)
    else:
        form = EndpointForm(instance=endpoint, team=membership.team)
    return render(
        request,
        "probes/endpoint_form.html",
        _page(membership, form=form, endpoint=endpoint),
        status=400 if request.method == "POST" else 200,
    )


def _add_refusal(form: BaseForm, refusal: ProbeRefused) -> None:
    """A refusal's parts on the fields they concern; the rest above the form."""
    fields = {name: text for name, text in refusal.fields.items() if name in form.fields}
    for name, text in fields.items():
        form.add_error(name, text)
    if not fields:
        form.add_error(None, refusal.reason[0].upper() + refusal.reason[1:] + ".")


@login_required
@require_GET
def endpoint_detail(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    endpoint = get_team_object_or_404(
        request, Endpoint.objects.select_related("team"), team_slug=team_slug, pk=pk
    )
    return render(
        request,
        "probes/endpoint_detail.html",
        _page(
            request.membership,
            endpoint=endpoint,
            runs=selectors.run_list(team=endpoint.team, endpoint=endpoint)[:30],
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    """Delete an endpoint with its probes, or archive it when an ADR cites them."""
    endpoint = get_team_object_or_404(
        request, Endpoint.objects.select_related("team"), team_slug=team_slug,
        need=Role.FACILITATOR, pk=pk,
    )  # fmt: skip
    problem = ""
    if request.method == "POST":
        try:
            done = endpoint_delete_or_archive(endpoint=endpoint, by=request.user)
        except EndpointInUse as exc:
            problem = exc.reason
        else:
            verb = "Archived" if done == "archived" else "Deleted"
            messages.success(request, f"{verb} endpoint “{endpoint.name}”.")
            return redirect("probes:endpoint-list", team_slug=team_slug)
    cited = endpoint_cited_by(endpoint=endpoint)
    if cited:
        labels = ", ".join(d.label for d in cited)
        confirm = Confirmation(
            title=f"Archive endpoint “{endpoint.name}”?",
            button="Archive the endpoint",
            cancel_url=endpoint.get_absolute_url(),
            archives=True,
            lines=[
                f"Its probes are evidence for {labels}, so it is archived instead of "
                "deleted: it leaves the list, keeps every probe and can be restored.",
            ],
            problem=problem,
        )
    else:
        confirm = Confirmation(
            title=f"Delete endpoint “{endpoint.name}”?",
            button="Delete the endpoint",
            cancel_url=endpoint.get_absolute_url(),
            lines=[
                f"The endpoint and its {endpoint.runs.count()} probe(s) are removed. No ADR "
                "cites them; the team's activity keeps a line saying who deleted it.",
            ],
            problem=problem,
        )
    return confirm_page(request, request.membership, confirm, status=409 if problem else 200)


@login_required
@require_POST
def endpoint_restore(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    endpoint = get_team_object_or_404(
        request, Endpoint, team_slug=team_slug, need=Role.FACILITATOR, pk=pk
    )
    runs.endpoint_restore(endpoint=endpoint, by=request.user)
    messages.success(request, f"Restored endpoint “{endpoint.name}”.")
    return redirect(endpoint)


@login_required
@require_http_methods(["GET", "POST"])
def run_create(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    endpoint = get_team_object_or_404(
        request,
        Endpoint.objects.select_related("team"),
        team_slug=team_slug,
        need=Role.FACILITATOR,
        pk=pk,
    )
    membership = request.membership
    if endpoint.is_archived:
        messages.error(request, f"“{endpoint.name}” is archived; restore it to probe it again.")
        return redirect(endpoint)
    if request.method == "POST":
        form = RunForm(request.POST, endpoint=endpoint)
        if form.is_valid():
            try:
                run = probe_start(endpoint=endpoint, request=form.run_request(), by=request.user)
            except ProbeRefused as exc:
                _add_refusal(form, exc)
            else:
                if run.status == JobStatus.FAILED:
                    messages.error(
                        request,
                        "The probe could not start: the job queue is unavailable. "
                        "Nothing was sent; try again once the queue is back.",
                    )
                return redirect(run)
    else:
        initial = {}
        use_case_id = request.GET.get("use_case", "")
        if use_case_id.isdigit():
            initial["use_case"] = UseCase.objects.filter(
                team=endpoint.team, pk=int(use_case_id)
            ).first()
        form = RunForm(endpoint=endpoint, initial=initial)
    return render(
        request,
        "probes/run_form.html",
        _page(membership, form=form, endpoint=endpoint),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def run_detail(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    """The live page while the run is active, the results once it ends.

    htmx polls this view every 500 ms for the ``run-body`` fragment; the answer
    that first sees the run finished carries the results and stops the polling.
    """
    run = get_team_object_or_404(
        request,
        ProbeRun.objects.select_related("endpoint", "team", "use_case", "created_by"),
        team_slug=team_slug,
        pk=pk,
    )
    context = _run_context(request.membership, run)
    if request.htmx:
        response = render(request, f"{RUN_TEMPLATE}#run-body", context)
        if not run.is_active:
            return HttpResponseStopPolling(response.content)
        return response
    return render(request, RUN_TEMPLATE, context)


@login_required
@require_POST
def run_cancel(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    run = get_team_object_or_404(
        request, ProbeRun, team_slug=team_slug, need=Role.FACILITATOR, pk=pk
    )
    if run.is_active:
        probe_cancel(run=run)
    if request.htmx:
        return render(request, f"{RUN_TEMPLATE}#run-body", _run_context(request.membership, run))
    messages.info(request, "Cancel requested: the workers stop the load within a second.")
    return redirect(run)


def _run_context(membership: Membership, run: ProbeRun) -> dict[str, Any]:
    context = _page(membership, run=run)
    if run.is_active:
        return context
    context["shards"] = list(run.shard_rows.all())
    outcome = run.outcome
    if outcome:
        context["latency_svg"] = plots.percentile_curve_svg(
            outcome["histogram"],
            service_histogram=(
                outcome["service_histogram"] if outcome["model"] == "open" else None
            ),
            title=f"Latency by percentile, probe #{run.pk}",
        )
        context["series_svg"] = plots.per_second_svg(
            outcome["per_second"], title=f"Per second, probe #{run.pk}"
        )
        context["service_summary"] = summarize(outcome["service_histogram"])
        context["status_counts"] = sorted(outcome["status_counts"].items())
        context["error_counts"] = sorted(outcome["errors"].items())
        context["verdict"] = selectors.run_verdict(run)
    return context
