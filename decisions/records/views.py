"""ADR pages: the team's log, one record, edit, history, lifecycle, exports, imports.

Viewers read and export; members create, edit, draft, supersede and import;
facilitators accept, reject and deprecate. Outside the team every URL is a 404.

Creating, drafting and superseding show the record's form filled in first (GET) and
write nothing until it is saved (POST), so Cancel leaves nothing behind. A proposal is
deleted by a facilitator or by the member who created it, after a confirmation page;
settled records are never deleted.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from pathlib import PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from decisions.editing import (
    EditConflict,
    FieldChange,
    changed_since,
    edit_base,
    form_labels,
    form_values,
    posted_base,
)
from decisions.living.selectors import decision_living, health_badge
from decisions.models import (
    AssumptionMetric,
    CheckSchedule,
    Decision,
    DecisionStatus,
    ExportJob,
    Membership,
    Role,
    Team,
    UseCase,
)
from decisions.pagination import paginate
from decisions.pdf import pdf_response
from decisions.records.exports.jobs import EnqueueError, export_job_file, export_job_start
from decisions.records.exports.kinds import EXPORT_KINDS, LOG_PDF, LOG_ZIP
from decisions.records.exports.madr import to_madr
from decisions.records.exports.nygard import to_nygard
from decisions.records.exports.pdf import adr_pdf, record_context
from decisions.records.forms import (
    DecisionForm,
    ImportConfirmForm,
    ImportForm,
    ImportOptionsForm,
    NewDecisionForm,
    TransitionForm,
)
from decisions.records.imports.service import (
    ImportProblem,
    files_from_zip,
    import_adrs,
    plan_import,
)
from decisions.records.selectors import (
    decision_diagram_mermaid,
    decision_diagram_svg,
    decision_get,
    decision_history,
    decision_list,
    decision_log_problems,
    decision_patterns,
    supersede_graph_svg,
)
from decisions.records.services import (
    TRANSITIONS,
    DecisionError,
    decision_create,
    decision_create_from_use_case,
    decision_delete,
    decision_draft_for_use_case,
    decision_may_delete,
    decision_replacement_draft,
    decision_supersede,
    decision_transition,
    decision_update,
)
from decisions.search import query_param
from decisions.teams.access import TeamRequest, get_team_object_or_404, team_membership
from decisions.teams.confirm import Confirmation, confirm_page


def _decision_for(request: TeamRequest, team_slug: str, number: int, need: str = Role.VIEWER):
    membership = team_membership(request, team_slug, need=need)
    try:
        return membership, decision_get(team=membership.team, number=number)
    except Decision.DoesNotExist:
        raise Http404("No such ADR.") from None


def _attachment(content: bytes | str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the log ---------------------------------------------------------------------


@login_required
@require_GET
def adr_list(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    team = membership.team
    filters = {
        "status": query_param(request, "status"),
        "pattern": query_param(request, "pattern"),
        "query": query_param(request, "q"),
    }
    decisions = paginate(
        request,
        decision_list(team=team, **filters).prefetch_related(
            "links_out__target__team", "links_in__source__team", "assumptions"
        ),
    )
    for decision in decisions:
        decision.health_badge = health_badge(decision)
    context = {
        "team": team,
        "membership": membership,
        "decisions": decisions,
        "filters": filters,
        "statuses": DecisionStatus.choices,
        "patterns": decision_patterns(team=team),
        "new_form": NewDecisionForm(),
        "latest_job": ExportJob.objects.filter(team=team).first(),
    }
    if request.htmx and request.htmx.target == "adr-table":
        return render(request, "decisions/records/adr_list.html#adr-table", context)
    context["graph_svg"] = supersede_graph_svg(team=team)
    context["log_problems"] = decision_log_problems(team=team)
    return render(request, "decisions/records/adr_list.html", context)


def _new_record_form(
    request: HttpRequest, membership: Membership, draft: Decision, **page: str
) -> tuple[DecisionForm, HttpResponse | None]:
    """The form for a record not saved yet; the response is the page to show, or None
    when the form is valid and the caller saves it."""
    form = DecisionForm(request.POST or None, instance=draft)
    if request.method == "POST" and form.is_valid():
        return form, None
    context = {
        "team": membership.team,
        "membership": membership,
        "decision": draft,
        "form": form,
        "is_new": True,
        **page,
    }
    status = 400 if request.method == "POST" else 200
    return form, render(request, "decisions/records/adr_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def adr_create(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.MEMBER)
    title = NewDecisionForm(request.GET)
    draft = Decision(
        team=membership.team,
        date=timezone.localdate(),
        title=title.cleaned_data["title"] if title.is_valid() else "",
    )
    form, page = _new_record_form(
        request, membership, draft,
        heading="New ADR", cancel_url=reverse("adr-list", args=[team_slug]),
    )  # fmt: skip
    if page is not None:
        return page
    decision = decision_create(team=membership.team, data=form.changes(), by=request.user)
    messages.success(request, f"{decision.label} created.")
    return redirect(decision)


@login_required
@require_http_methods(["GET", "POST"])
def adr_draft(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    use_case = get_team_object_or_404(
        request, UseCase.objects.select_related("team", "latest_snapshot"),
        team_slug=team_slug, need=Role.MEMBER, pk=pk,
    )  # fmt: skip
    form, page = _new_record_form(
        request, request.membership, decision_draft_for_use_case(use_case=use_case),
        heading=f"Draft an ADR from “{use_case.name}”",
        cancel_url=use_case.get_absolute_url(),
    )  # fmt: skip
    if page is not None:
        return page
    decision = decision_create_from_use_case(
        use_case=use_case, by=request.user, data=form.changes()
    )
    messages.success(request, f"{decision.label} drafted from “{use_case.name}”.")
    return redirect(decision)


# --- one record ------------------------------------------------------------------


def _detail_context(membership: Membership, decision: Decision) -> dict:
    record = record_context(decision)
    return {
        "team": membership.team,
        "membership": membership,
        "decision": decision,
        "r": record,
        "attachments": list(decision.attachments.all()),
        "transition_form": TransitionForm(),
        "transitions": _transitions_for(decision),
        "living": decision_living(decision) if decision.status == DecisionStatus.ACCEPTED else None,
        "metric_choices": AssumptionMetric.choices,
        "schedule_choices": CheckSchedule.choices,
        "may_delete": decision_may_delete(decision=decision, membership=membership),
    }


def _transitions_for(decision: Decision) -> list[tuple[str, str]]:
    labels: dict[str, str] = {
        DecisionStatus.ACCEPTED: "Accept",
        DecisionStatus.REJECTED: "Reject",
        DecisionStatus.DEPRECATED: "Deprecate",
    }
    return [(to, labels[to]) for to in TRANSITIONS.get(decision.status, ())]


@login_required
@require_GET
def adr_detail(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number)
    return render(
        request, "decisions/records/adr_detail.html", _detail_context(membership, decision)
    )


@login_required
@require_http_methods(["GET", "POST"])
def adr_edit(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number, need=Role.MEMBER)
    if not decision.is_editable:
        messages.error(
            request,
            f"{decision.label} is {decision.get_status_display().lower()}: it is not edited in "
            "place. Supersede it to start a new record.",
        )
        return redirect(decision)
    # Validating a ModelForm writes the answers onto its instance; a copy keeps the page's
    # heading on the record as saved when the answers are sent back with errors.
    form = DecisionForm(request.POST or None, instance=copy.copy(decision))
    conflict: list[FieldChange] | None = None
    if request.method == "POST" and form.is_valid():
        expected, base = posted_base(request.POST)
        try:
            decision_update(
                decision=decision, data=form.changes(), by=request.user, expected_version=expected
            )
        except EditConflict:
            decision.refresh_from_db()
            conflict = changed_since(base, _edit_values(decision), form_labels(form))
        except DecisionError as exc:
            messages.error(request, exc.message)
            return redirect(decision)
        else:
            messages.success(request, f"{decision.label} saved.")
            return redirect(decision)
    status = 200 if request.method == "GET" else 409 if conflict is not None else 400
    return render(
        request,
        "decisions/records/adr_form.html",
        {
            "team": membership.team,
            "membership": membership,
            "decision": decision,
            "form": form,
            # After field errors the page keeps the version the person started from.
            "edit_base": request.POST["edit_base"]
            if status == 400 and "edit_base" in request.POST
            else edit_base(decision.edit_version, _edit_values(decision)),
            "conflict": conflict,
            "last_change": decision.changes.order_by("-at", "-pk").select_related("by").first()
            if conflict is not None
            else None,
        },
        status=status,
    )


def _edit_values(decision: Decision) -> dict[str, str]:
    return form_values(DecisionForm(instance=decision))


@login_required
@require_GET
def adr_history(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number)
    return render(
        request,
        "decisions/records/adr_history.html",
        {
            "team": membership.team,
            "membership": membership,
            "decision": decision,
            "changes": decision_history(decision=decision),
        },
    )


@login_required
@require_POST
def adr_transition(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number, need=Role.FACILITATOR)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose accepted, rejected or deprecated.")
        return redirect(decision)
    try:
        decision_transition(
            decision=decision,
            to=form.cleaned_data["to"],
            by=request.user,
            note=form.cleaned_data["note"],
            decision_makers=form.people("decision_makers"),
            consulted=form.people("consulted"),
        )
    except DecisionError as exc:
        messages.error(request, exc.message)
        return redirect(decision)
    messages.success(request, f"{decision.label} is now {form.cleaned_data['to']}.")
    return redirect(decision)


@login_required
@require_http_methods(["GET", "POST"])
def adr_supersede(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number, need=Role.MEMBER)
    form, page = _new_record_form(
        request, membership, decision_replacement_draft(decision=decision),
        heading=f"Supersede {decision.label}", cancel_url=decision.get_absolute_url(),
    )  # fmt: skip
    if page is not None:
        return page
    try:
        new = decision_supersede(decision=decision, by=request.user, data=form.changes())
    except DecisionError as exc:
        messages.error(request, exc.message)
        return redirect(decision)
    messages.success(
        request,
        f"{new.label} started to supersede {decision.label}; it takes over once accepted.",
    )
    return redirect(new)


@login_required
@require_http_methods(["GET", "POST"])
def adr_delete(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    membership, decision = _decision_for(request, team_slug, number, need=Role.MEMBER)
    if not decision_may_delete(decision=decision, membership=membership):
        if decision.status == DecisionStatus.PROPOSED:
            raise PermissionDenied("Only a facilitator or its author may delete a proposal.")
        problem = (
            f"{decision.label} is {decision.get_status_display().lower()}: settled records "
            "are never deleted. Deprecate or supersede it instead."
        )
    else:
        problem = ""
    if request.method == "POST" and not problem:
        try:
            decision_delete(decision=decision, by=request.user)
        except DecisionError as exc:
            problem = exc.message
        else:
            messages.success(request, f"{decision.label} “{decision.title}” deleted.")
            return redirect("adr-list", team_slug=team_slug)
    confirm = Confirmation(
        title=f"Delete {decision.label} {decision.title}?",
        button="Delete this proposal",
        cancel_url=decision.get_absolute_url(),
        lines=[
            "The proposal and its history are removed; the team's activity keeps a line "
            "saying who deleted it.",
        ],
        problem=problem,
    )
    return confirm_page(
        request, membership, confirm, status=409 if problem and request.method == "POST" else 200
    )


# --- exports ---------------------------------------------------------------------


@login_required
@require_GET
def adr_export_md(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision_for(request, team_slug, number)
    style = request.GET.get("style", "madr")
    mermaid = decision_diagram_mermaid(decision=decision)
    write = to_nygard if style == "nygard" else to_madr
    text = write(decision, mermaid=mermaid)
    return _attachment(text, decision.filename, "text/markdown; charset=utf-8")


@login_required
@require_GET
def adr_export_pdf(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision_for(request, team_slug, number)
    return pdf_response(
        request,
        lambda: adr_pdf(decision),
        filename=f"{decision.filename[:-3]}.pdf",
        what=decision.label,
        back_url=decision.get_absolute_url(),
    )


@login_required
@require_GET
def adr_diagram(request: TeamRequest, team_slug: str, number: int) -> HttpResponse:
    _, decision = _decision_for(request, team_slug, number)
    svg = decision_diagram_svg(decision=decision)
    if svg is None:
        raise Http404("This record has no diagram.")
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# --- the whole-log exports, as jobs ---------------------------------------------------


def _export_start(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    try:
        job = export_job_start(team=membership.team, by=request.user, kind=kind)
    except EnqueueError as exc:
        messages.error(request, str(exc))
        return redirect("adr-list", team_slug=team_slug)
    return redirect("adr-export-job", team_slug=team_slug, pk=job.pk)


@login_required
@require_POST
def adr_log_pdf_start(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _export_start(request, team_slug, LOG_PDF)


@login_required
@require_POST
def adr_log_zip_start(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _export_start(request, team_slug, LOG_ZIP)


def _job_for(request: TeamRequest, team_slug: str, pk: int) -> tuple[Team, ExportJob]:
    job = get_team_object_or_404(request, ExportJob, team_slug=team_slug, pk=pk)
    return job.team, job


@login_required
@require_GET
def adr_export_job(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    team, job = _job_for(request, team_slug, pk)
    context = {
        "team": team,
        "membership": request.membership,
        "job": job,
        "parts": list(job.parts.all()),
        "kind": EXPORT_KINDS.get(job.kind, EXPORT_KINDS[LOG_PDF]),
    }
    if request.htmx:
        response = render(request, "decisions/records/adr_export_job.html#job-status", context)
        return response if job.is_active else HttpResponseStopPolling(response.content)
    return render(request, "decisions/records/adr_export_job.html", context)


@login_required
@require_GET
def adr_export_job_download(request: TeamRequest, team_slug: str, pk: int) -> FileResponse:
    team, job = _job_for(request, team_slug, pk)
    found = export_job_file(job)
    kind = EXPORT_KINDS.get(job.kind)
    if found is None or kind is None:
        raise Http404("This export has no file (yet).")
    return FileResponse(
        found,
        as_attachment=True,
        filename=f"{team.slug}-decision-log.{kind.extension}",
        content_type=kind.content_type,
    )


# --- import ------------------------------------------------------------------------

# The zip being previewed waits in storage under a random token kept in the person's
# session, so the import that follows the preview stores exactly what was shown.
STAGED_IMPORTS = "adr-import-previews"
# Previews nobody imported are removed by the next upload once they are this old.
STAGED_MAX_AGE = datetime.timedelta(days=1)


def _session_key(team: Team) -> str:
    return f"adr-import-{team.pk}"


def _staged_path(token: str) -> str:
    return f"{STAGED_IMPORTS}/{token}.zip"


def _drop_staged(request: TeamRequest, team: Team) -> None:
    token = request.session.pop(_session_key(team), None)
    if token:
        default_storage.delete(_staged_path(token))


def _drop_stale_staged() -> None:
    try:
        _, names = default_storage.listdir(STAGED_IMPORTS)
    except FileNotFoundError:
        return
    cutoff = timezone.now() - STAGED_MAX_AGE
    for name in names:
        path = f"{STAGED_IMPORTS}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)


def _import_context(membership: Membership, **extra: object) -> dict:
    return {"team": membership.team, "membership": membership, **extra}


@login_required
@require_http_methods(["GET", "POST"])
def adr_import(request: TeamRequest, team_slug: str) -> HttpResponse:
    """Upload a zip -> preview what each file becomes -> import exactly that, or nothing."""
    membership = team_membership(request, team_slug, need=Role.MEMBER)
    team = membership.team
    if request.method == "GET":
        return render(
            request,
            "decisions/records/adr_import.html",
            _import_context(membership, form=ImportForm()),
        )
    if "token" in request.POST:
        form: ImportOptionsForm = ImportConfirmForm(request.POST)
        if (
            not form.is_valid()
            or request.session.get(_session_key(team)) != form.cleaned_data["token"]
        ):
            messages.error(request, "That preview has expired; upload the zip again.")
            return redirect("adr-import", team_slug=team_slug)
        token = form.cleaned_data["token"]
        try:
            with default_storage.open(_staged_path(token), "rb") as handle:
                data = handle.read()
        except OSError:
            messages.error(request, "That preview has expired; upload the zip again.")
            return redirect("adr-import", team_slug=team_slug)
    else:
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(
                request,
                "decisions/records/adr_import.html",
                _import_context(membership, form=form),
                status=400,
            )
        data = form.cleaned_data["archive"].read()
        _drop_staged(request, team)
        _drop_stale_staged()
        token = uuid.uuid4().hex
        default_storage.save(_staged_path(token), ContentFile(data))
        request.session[_session_key(team)] = token
    options = {
        "missing_status": form.cleaned_data["missing_status"],
        "renumber": form.cleaned_data["renumber"],
        "may_settle": membership.is_facilitator,
    }
    try:
        files = files_from_zip(data)
        if form.cleaned_data.get("action") == "import":
            result = import_adrs(team=team, files=files, by=request.user, **options)
        else:
            plan = plan_import(team=team, files=files, **options)
    except ImportProblem as exc:
        _drop_staged(request, team)
        return render(
            request,
            "decisions/records/adr_import.html",
            _import_context(membership, form=ImportForm(), problem=str(exc)),
            status=400,
        )
    if form.cleaned_data.get("action") == "import":
        _drop_staged(request, team)
        formats = ", ".join(f"{n} {fmt}" for fmt, n in sorted(result.formats.items()))
        messages.success(request, f"Imported {len(result.created)} records ({formats}).")
        for line in result.plan.statuses_chosen:
            messages.info(request, line)
        for warning in result.plan.warnings:
            messages.warning(request, warning)
        return redirect(reverse("adr-list", args=[team_slug]))
    confirm = ImportConfirmForm(initial={**options, "token": token})
    return render(
        request,
        "decisions/records/adr_import.html",
        _import_context(membership, plan=plan, confirm=confirm),
        status=400 if plan.problems else 200,
    )


# --- files stored with a record -------------------------------------------------------

# A stored file is user content: the browser may not sniff it into another type, and it
# runs sandboxed with nothing to fetch (an SVG opened on its own cannot run or load).
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


@login_required
@require_GET
def adr_file(request: TeamRequest, team_slug: str, number: int, name: str) -> FileResponse:
    _, decision = _decision_for(request, team_slug, number)
    attachment = decision.attachments.filter(name=name).first()
    if attachment is None:
        raise Http404("This record has no such file.")
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        filename=PurePosixPath(attachment.name).name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response
