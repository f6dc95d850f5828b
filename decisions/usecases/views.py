from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BaseFormSet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from decisions.editing import (
    EditConflict,
    FieldChange,
    changed_since,
    edit_base,
    form_labels,
    form_values,
    posted_base,
)
from decisions.evidence import usecase_evidence
from decisions.models import Membership, Role, UseCase
from decisions.pagination import paginate
from decisions.search import query_param
from decisions.teams.access import TeamRequest, get_team_object_or_404, team_membership
from decisions.teams.confirm import Confirmation, confirm_page
from decisions.usecases.forms import (
    HOP_PREFIX,
    HopForm,
    HopFormSet,
    UseCaseForm,
    apply_chain_op,
    hop_rows_from_post,
)
from decisions.usecases.selectors import use_case_list
from decisions.usecases.services import (
    use_case_delete_or_archive,
    use_case_recommend,
    use_case_restore,
    use_case_save,
    use_case_snapshot,
)
from patterns.engine import Hop, UseCaseInput

FORM_TEMPLATE = "decisions/usecases/usecase_form.html"


@login_required
@require_GET
def team_home(request: TeamRequest, team_slug: str) -> HttpResponse:
    team_membership(request, team_slug)
    return redirect("usecase-list", team_slug=team_slug)


@login_required
@require_GET
def usecase_list(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug)
    query = query_param(request, "q")
    archived = request.GET.get("archived") == "1"
    context = {
        "team": membership.team,
        "membership": membership,
        "use_cases": paginate(
            request, use_case_list(team=membership.team, query=query, archived=archived)
        ),
        "query": query,
        "archived": archived,
    }
    template = "decisions/usecases/usecase_list.html"
    if request.htmx:
        template += "#usecase-table"
    return render(request, template, context)


@login_required
@require_GET
def usecase_detail(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    use_case = get_team_object_or_404(
        request,
        UseCase.objects.select_related("latest_snapshot", "team"),
        team_slug=team_slug,
        pk=pk,
    )
    snapshot = use_case.latest_snapshot
    hops = list(use_case.hops.all())
    return render(
        request,
        "decisions/usecases/usecase_detail.html",
        {
            "team": use_case.team,
            "membership": request.membership,
            "use_case": use_case,
            "hops": hops,
            "evidence_rows": usecase_evidence(team=use_case.team, use_case=use_case, hops=hops),
            "snapshot": snapshot,
            "recommendation": snapshot.output if snapshot else None,
            "snapshots": use_case.snapshots.all()[:10],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def usecase_create(request: TeamRequest, team_slug: str) -> HttpResponse:
    membership = team_membership(request, team_slug, need=Role.MEMBER)
    return _questionnaire(request, membership, UseCase(team=membership.team))


@login_required
@require_http_methods(["GET", "POST"])
def usecase_edit(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    use_case = get_team_object_or_404(
        request, UseCase, team_slug=team_slug, need=Role.MEMBER, pk=pk
    )
    return _questionnaire(request, request.membership, use_case)


@login_required
@require_POST
def usecase_reevaluate(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    use_case = get_team_object_or_404(
        request, UseCase, team_slug=team_slug, need=Role.MEMBER, pk=pk
    )
    snapshot = use_case_snapshot(use_case=use_case, by=request.user)
    messages.success(request, f"Evaluated again with rule pack {snapshot.rule_pack_version}.")
    return redirect(use_case)


@login_required
@require_http_methods(["GET", "POST"])
def usecase_delete(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    """Delete a use case, or archive it when an ADR was drafted from it (members may)."""
    use_case = get_team_object_or_404(
        request, UseCase, team_slug=team_slug, need=Role.MEMBER, pk=pk
    )
    if request.method == "POST":
        done = use_case_delete_or_archive(use_case=use_case, by=request.user)
        if done == "archived":
            messages.success(
                request, f"Archived “{use_case.name}”; restore it from the archived list."
            )
        else:
            messages.success(request, f"Deleted “{use_case.name}”.")
        return redirect("usecase-list", team_slug=team_slug)
    cited = list(use_case.decisions.order_by("number"))
    if cited:
        labels = ", ".join(d.label for d in cited)
        confirm = Confirmation(
            title=f"Archive “{use_case.name}”?",
            button="Archive the use case",
            cancel_url=use_case.get_absolute_url(),
            archives=True,
            lines=[
                f"{labels} {'was' if len(cited) == 1 else 'were'} drafted from it, so it is "
                "archived instead of deleted: it leaves the list but keeps its answers, "
                "snapshots and evidence, and can be restored from the archived list.",
            ],
        )
    else:
        confirm = Confirmation(
            title=f"Delete “{use_case.name}”?",
            button="Delete the use case",
            cancel_url=use_case.get_absolute_url(),
            lines=[
                "Its answers, chain and earlier evaluations are removed. No ADR refers to "
                "it; the team's activity keeps a line saying who deleted it.",
            ],
        )
    return confirm_page(request, request.membership, confirm)


@login_required
@require_POST
def usecase_restore(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    use_case = get_team_object_or_404(
        request, UseCase, team_slug=team_slug, need=Role.MEMBER, pk=pk
    )
    use_case_restore(use_case=use_case, by=request.user)
    messages.success(request, f"Restored “{use_case.name}”.")
    return redirect(use_case)


@login_required
@require_POST
def usecase_preview(request: TeamRequest, team_slug: str) -> HttpResponse:
    """The recommendation panel for the answers as they stand, saved or not."""
    membership = team_membership(request, team_slug, need=Role.MEMBER)
    form = UseCaseForm(request.POST)
    formset = HopFormSet(request.POST, prefix=HOP_PREFIX)
    use_case_input, problems = _input_from(form, formset)
    recommendation = None
    if use_case_input is not None:
        recommendation = use_case_recommend(team=membership.team, use_case_input=use_case_input)
    return render(
        request,
        "decisions/usecases/_recommendation.html",
        {"recommendation": recommendation, "problems": problems, "summary_bar": True},
    )


@login_required
@require_POST
def usecase_validate(request: TeamRequest, team_slug: str) -> HttpResponse:
    """One questionnaire field, checked as the user leaves it."""
    team_membership(request, team_slug, need=Role.MEMBER)
    form = UseCaseForm(request.POST)
    name = request.POST.get("_field", "")
    if name not in form.fields:
        return HttpResponse(f"Unknown field {name!r}.", status=400, content_type="text/plain")
    form.is_valid()
    validate_url = reverse("usecase-validate", args=[team_slug])
    return render(request, "_field.html", {"field": form[name], "validate_url": validate_url})


@login_required
@require_POST
def usecase_chain(request: TeamRequest, team_slug: str) -> HttpResponse:
    """Add, remove or move a hop; answers with the chain editor and refreshes the panel."""
    team_membership(request, team_slug, need=Role.MEMBER)
    op = request.POST.get("op", "")
    if op not in {"add", "remove", "up", "down"}:
        return HttpResponse("op must be one of add, remove, up, down.", status=400)
    try:
        index = int(request.POST.get("index", "-1"))
    except ValueError:
        return HttpResponse("index must be a whole number.", status=400)
    rows = apply_chain_op(hop_rows_from_post(request.POST), op, index)
    formset = HopFormSet(initial=rows, prefix=HOP_PREFIX)
    response = render(
        request, f"{FORM_TEMPLATE}#chain", {"formset": formset, "team_slug": team_slug}
    )
    # After the swap, so the panel posts the chain as it now stands.
    return trigger_client_event(response, "chainChanged", after="swap")


def _questionnaire(request: TeamRequest, membership: Membership, use_case: UseCase) -> HttpResponse:
    team = membership.team
    conflict: list[FieldChange] | None = None
    # The version the person started from; after field errors the page keeps it.
    base_token = request.POST.get("edit_base") if request.method == "POST" else None
    if request.method == "POST":
        form = UseCaseForm(request.POST, instance=use_case)
        formset = HopFormSet(request.POST, prefix=HOP_PREFIX)
        if form.is_valid() and formset.is_valid() and not _broker_clashes(form, formset):
            expected, base = posted_base(request.POST)
            use_case = form.save(commit=False)
            use_case.team = team
            try:
                use_case_save(
                    use_case=use_case,
                    hops=_hops(formset),
                    by=request.user,
                    expected_version=expected,
                )
            except EditConflict:
                saved = UseCase.objects.get(pk=use_case.pk)
                labels = {**form_labels(form), "hops": "Chain of services"}
                conflict = changed_since(base, use_case_edit_values(saved), labels)
                use_case, base_token = saved, None
            else:
                messages.success(request, f"Saved “{use_case.name}” with its recommendation.")
                return redirect(use_case)
        use_case_input, problems = _input_from(form, formset)
    else:
        hops = list(use_case.hops.all()) if use_case.pk else []
        initial = [
            {
                "service": h.service,
                "p50_ms": h.p50_ms,
                "p99_ms": h.p99_ms,
                "role": h.role,
                "availability": h.availability,
            }
            for h in hops
        ]
        form = UseCaseForm(instance=use_case)
        formset = HopFormSet(initial=initial, prefix=HOP_PREFIX)
        use_case_input, problems = use_case.to_input(hops), []
    recommendation = None
    if use_case_input is not None:
        recommendation = use_case_recommend(team=team, use_case_input=use_case_input)
    context = {
        "team": team,
        "team_slug": team.slug,
        "membership": membership,
        "use_case": use_case,
        "form": form,
        "formset": formset,
        "validate_url": reverse("usecase-validate", args=[team.slug]),
        "recommendation": recommendation,
        "problems": problems,
        "conflict": conflict,
        "edit_base": base_token or _edit_base_for(use_case),
        "summary_bar": True,
    }
    if request.method == "POST":
        return render(request, FORM_TEMPLATE, context, status=409 if conflict is not None else 400)
    return render(request, FORM_TEMPLATE, context)


def _edit_base_for(use_case: UseCase) -> str:
    """The page's ``edit_base``: the version and the answers this person starts from."""
    if use_case.pk is None:
        return ""
    return edit_base(use_case.edit_version, use_case_edit_values(use_case))


def use_case_edit_values(use_case: UseCase) -> dict[str, str]:
    """The use case's answers and chain as the questionnaire shows them."""
    values = form_values(UseCaseForm(instance=use_case))
    values["hops"] = "\n".join(
        f"{h.service}: p50 {h.p50_ms:g} ms, p99 {h.p99_ms:g} ms"
        + ("" if h.critical else " (after the answer)")
        for h in use_case.hops.all()
    )
    return values


def _hops(formset: BaseFormSet[HopForm]) -> list[Hop]:
    return [Hop(**f.cleaned_data) for f in formset.forms if f.cleaned_data]


def _input_from(
    form: UseCaseForm, formset: BaseFormSet[HopForm]
) -> tuple[UseCaseInput | None, list[str]]:
    """The engine input from the answers, or the problems that stop us building one.

    The name is not needed for a recommendation, so a blank name does not hide the panel.
    """
    form.is_valid()
    problems = [
        f"{form.fields[name].label if name in form.fields else 'Answers'}: "
        f"{' '.join(map(str, errors))}"
        for name, errors in form.errors.items()
        if name not in {"name", "description"}
    ]
    if not formset.is_valid():
        # django-stubs types formset.errors as a list of ErrorList; each is the form's ErrorDict.
        for i, errors in enumerate(formset.errors, start=1):
            problems.extend(f"Hop {i} {name}: {' '.join(msgs)}" for name, msgs in errors.items())  # type: ignore[attr-defined]
        problems.extend(map(str, formset.non_form_errors()))
    if problems:
        return None, problems
    if _broker_clashes(form, formset):
        return None, [f"{form.fields['broker_service'].label}: {BROKER_CLASH}"]
    data = {name: form.cleaned_data[name] for name in UseCase.REQUIREMENT_FIELDS}
    return UseCaseInput(
        name=form.cleaned_data.get("name") or "",
        chain=tuple(_hops(formset)),
        broker_service=form.cleaned_data.get("broker_service") or "",
        **data,
    ), []


BROKER_CLASH = (
    "Name the broker apart from the chain's services: a hop is a call the caller makes, "
    "the broker carries what runs after it."
)


def _broker_clashes(form: UseCaseForm, formset: BaseFormSet[HopForm]) -> bool:
    """The broker named like one of the hops (both forms already valid); adds the error."""
    broker = (form.cleaned_data.get("broker_service") or "").strip()
    if broker and any(hop.service == broker for hop in _hops(formset)):
        form.add_error("broker_service", BROKER_CLASH)
        return True
    return False
