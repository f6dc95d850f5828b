"""Two people edit the same ADR or use case: the second save is refused with the other
change shown and the typed answers kept, never silently written over the first."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from decisions.editing import EditConflict
from decisions.models import Decision, UseCase
from decisions.records.services import decision_update
from decisions.usecases.services import use_case_save
from tests.decisions.adr_support import drafted
from tests.decisions.test_review_concurrency import run_together
from tests.decisions.test_usecase_views import answers
from tests.factories import make_use_case

pytestmark = pytest.mark.django_db

EDIT_BASE = re.compile(r'name="edit_base" value="([^"]+)"')


def edit_page(client, path: str) -> tuple[str, dict[str, str]]:
    """The edit_base token and the ADR form's fields, as a browser would post them back."""
    response = client.get(path)
    assert response.status_code == 200
    token = html.unescape(EDIT_BASE.search(response.content.decode())[1])
    form = response.context["form"] if response.context else None
    values = {name: form[name].value() or "" for name in form.fields} if form else {}
    return token, values


@pytest.fixture
def adr(acme, member):
    return drafted(acme, member)


def test_the_second_adr_save_is_refused_with_the_first_change_shown(
    member_client, owner_client, adr
):
    path = reverse("adr-edit", args=["acme", adr.number])
    member_token, member_form = edit_page(member_client, path)
    owner_token, owner_form = edit_page(owner_client, path)

    member_form["title"] = "Saga with an orchestrator"
    saved = member_client.post(path, {**member_form, "edit_base": member_token})
    assert saved.status_code == 302

    owner_form["context"] = "Owner's careful new context."
    refused = owner_client.post(path, {**owner_form, "edit_base": owner_token})
    assert refused.status_code == 409
    page = refused.content.decode()
    assert 'id="edit-conflict"' in page and "max" in page  # who saved in between
    changed = {c.label: (c.before, c.now) for c in refused.context["conflict"]}
    assert changed == {"Title": (adr.title, "Saga with an orchestrator")}
    assert "Owner&#x27;s careful new context." in page  # what the owner typed is kept
    adr.refresh_from_db()
    assert adr.title == "Saga with an orchestrator"
    assert adr.context != "Owner's careful new context."

    # The refusal page carries the current version: saving again is a deliberate choice.
    again = html.unescape(EDIT_BASE.search(page)[1])
    assert owner_client.post(path, {**owner_form, "edit_base": again}).status_code == 302
    adr.refresh_from_db()
    assert adr.context == "Owner's careful new context."
    assert adr.edit_version == 2


def test_a_field_error_keeps_the_version_the_editor_started_from(member_client, owner_client, adr):
    path = reverse("adr-edit", args=["acme", adr.number])
    token, form = edit_page(owner_client, path)
    member_token, member_form = edit_page(member_client, path)
    member_client.post(path, {**member_form, "title": "Changed first", "edit_base": member_token})

    invalid = owner_client.post(path, {**form, "title": "", "edit_base": token})
    assert invalid.status_code == 400
    kept = html.unescape(EDIT_BASE.search(invalid.content.decode())[1])
    assert kept == token
    refused = owner_client.post(path, {**form, "context": "Mine", "edit_base": kept})
    assert refused.status_code == 409
    assert Decision.objects.get(pk=adr.pk).title == "Changed first"


def test_a_forged_edit_base_is_refused(member_client, adr):
    path = reverse("adr-edit", args=["acme", adr.number])
    _, form = edit_page(member_client, path)
    response = member_client.post(path, {**form, "title": "Forged", "edit_base": "x:y:z"})
    assert response.status_code == 409
    assert Decision.objects.get(pk=adr.pk).title != "Forged"


def test_the_second_use_case_save_is_refused_with_the_first_change_shown(
    member_client, owner_client, acme
):
    use_case = make_use_case(acme, name="Checkout", caller="browser")
    use_case.refresh_from_db()  # the values as stored, as the page shows them
    path = reverse("usecase-edit", args=["acme", use_case.pk])
    first = html.unescape(EDIT_BASE.search(member_client.get(path).content.decode())[1])
    second = html.unescape(EDIT_BASE.search(owner_client.get(path).content.decode())[1])

    saved = member_client.post(path, answers(peak_rps="500", avg_rps="50", edit_base=first))
    assert saved.status_code == 302

    typed = answers(description="Owner's description", edit_base=second)
    refused = owner_client.post(path, typed)
    assert refused.status_code == 409
    changed = {c.label: (c.before, c.now) for c in refused.context["conflict"]}
    assert changed["Peak rate (requests/s)"] == (str(use_case.peak_rps), "500.0")
    assert changed["Average rate (requests/s)"] == (str(use_case.avg_rps), "50.0")
    assert "Chain of services" in changed  # the member's save set the chain as well
    assert "Owner&#x27;s description" in refused.content.decode()  # kept in the form
    use_case.refresh_from_db()
    assert (use_case.peak_rps, use_case.description) == (500, "")

    again = html.unescape(EDIT_BASE.search(refused.content.decode())[1])
    assert owner_client.post(path, {**typed, "edit_base": again}).status_code == 302
    assert UseCase.objects.get(pk=use_case.pk).description == "Owner's description"


@pytest.mark.django_db(transaction=True)
def test_simultaneous_saves_from_one_version_let_exactly_one_through(acme, member, owner):
    """Eight saves, all started from version 0, arrive at once: one is kept, seven are
    refused, and the record holds the one that was kept."""
    adr = drafted(acme, member)
    use_case = make_use_case(acme, name="Checkout")
    adr_version, case_version = adr.edit_version, use_case.edit_version

    def save_adr(i: int):
        return lambda: decision_update(
            decision=adr, data={"title": f"Title {i}"}, by=owner, expected_version=adr_version
        )

    def save_use_case(i: int):
        def save():
            copy = UseCase.objects.get(pk=use_case.pk)
            copy.description = f"Description {i}"
            use_case_save(use_case=copy, hops=[], by=owner, expected_version=case_version)
            return i

        return save

    for actions, reread in (
        ([save_adr(i) for i in range(8)], lambda: Decision.objects.get(pk=adr.pk)),
        ([save_use_case(i) for i in range(8)], lambda: UseCase.objects.get(pk=use_case.pk)),
    ):
        results = run_together(actions)
        refused = [r for r in results if isinstance(r, EditConflict)]
        kept = [r for r in results if not isinstance(r, Exception)]
        assert (len(kept), len(refused)) == (1, 7), results
        saved = reread()
        assert saved.edit_version == 1 + (
            adr_version if isinstance(saved, Decision) else case_version
        )
