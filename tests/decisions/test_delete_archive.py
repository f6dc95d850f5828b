"""Deleting and archiving: who may, the confirmation step, the history entry, and what stays."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.models import (
    Decision,
    DecisionChange,
    DecisionStatus,
    ReviewSession,
    TeamActivity,
    UseCase,
)
from decisions.records.services import decision_create, decision_supersede, decision_transition
from decisions.reviews.services import session_create, session_start
from tests.decisions.adr_support import drafted, order_use_case
from tests.factories import make_use_case

S = DecisionStatus


def url(name, *args):
    return reverse(name, args=["acme", *args])


# --- ADR drafts --------------------------------------------------------------------


def test_a_member_deletes_their_own_draft_after_a_confirmation(member_client, acme, member):
    adr = decision_create(team=acme, data={"title": "Try gRPC"}, by=member)
    page = member_client.get(url("adr-delete", adr.number))
    assert page.status_code == 200
    assert 'id="confirm-button"' in page.content.decode()
    assert Decision.objects.filter(pk=adr.pk).exists()  # the GET changed nothing
    response = member_client.post(url("adr-delete", adr.number))
    assert response.status_code == 302
    assert not Decision.objects.filter(pk=adr.pk).exists()
    entry = TeamActivity.objects.get(team=acme)
    assert (entry.action, entry.subject, entry.by) == ("deleted", "ADR-0001 Try gRPC", member)
    activity = member_client.get(url("team-activity")).content.decode()
    assert "ADR-0001 Try gRPC" in activity


def test_a_member_cannot_delete_someone_elses_draft_but_a_facilitator_can(
    member_client, owner_client, acme, owner
):
    adr = decision_create(team=acme, data={"title": "Olivia's idea"}, by=owner)
    assert member_client.get(url("adr-delete", adr.number)).status_code == 403
    assert member_client.post(url("adr-delete", adr.number)).status_code == 403
    assert Decision.objects.filter(pk=adr.pk).exists()
    assert owner_client.post(url("adr-delete", adr.number)).status_code == 302
    assert not Decision.objects.filter(pk=adr.pk).exists()


def test_viewers_and_outsiders_cannot_delete(viewer_client, outsider_client, acme, member):
    adr = decision_create(team=acme, data={"title": "T"}, by=member)
    assert viewer_client.post(url("adr-delete", adr.number)).status_code == 403
    assert outsider_client.post(url("adr-delete", adr.number)).status_code == 404
    assert Decision.objects.filter(pk=adr.pk).exists()


def test_an_accepted_record_is_never_deleted(owner_client, acme, owner):
    adr = decision_create(team=acme, data={"title": "Settled"}, by=owner)
    decision_transition(decision=adr, to=S.ACCEPTED, by=owner)
    page = owner_client.get(url("adr-delete", adr.number)).content.decode()
    assert "Deprecate or supersede it instead" in page and 'id="confirm-button"' not in page
    owner_client.post(url("adr-delete", adr.number))
    assert Decision.objects.filter(pk=adr.pk).exists()
    detail = owner_client.get(adr.get_absolute_url()).content.decode()
    assert 'id="delete-adr"' not in detail


def test_deleting_a_replacement_frees_the_record_it_was_superseding(owner_client, acme, owner):
    old = decision_create(team=acme, data={"title": "Old"}, by=owner)
    decision_transition(decision=old, to=S.ACCEPTED, by=owner)
    new = decision_supersede(decision=old, by=owner)
    owner_client.post(url("adr-delete", new.number))
    old.refresh_from_db()
    assert old.superseded_by is None and old.status == S.ACCEPTED
    assert DecisionChange.objects.filter(decision=old, action="unlinked").exists()


def test_a_draft_on_a_review_agenda_is_not_deleted(owner_client, acme, owner):
    adr = decision_create(team=acme, data={"title": "On the agenda"}, by=owner)
    session_create(
        team=acme, title="Weekly", scheduled_for=timezone.now(), decisions=[adr], by=owner
    )
    response = owner_client.post(url("adr-delete", adr.number))
    assert response.status_code == 409
    assert "on the agenda of “Weekly”" in response.content.decode()
    assert Decision.objects.filter(pk=adr.pk).exists()


# --- drafting and superseding show a preview first -----------------------------------


def test_drafting_from_a_use_case_previews_and_creates_nothing_until_saved(
    member_client, acme, member
):
    use_case = order_use_case(acme, member)
    preview = member_client.get(url("adr-draft", use_case.pk))
    assert preview.status_code == 200
    form = preview.context["form"]
    assert "Saga" in form["title"].value()
    assert not Decision.objects.exists()  # a preview, and Cancel goes back to the use case
    assert f'href="{use_case.get_absolute_url()}" id="cancel-adr"' in preview.content.decode()
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = "Orders run as a saga"
    response = member_client.post(url("adr-draft", use_case.pk), data)
    decision = Decision.objects.get()
    assert response["Location"] == decision.get_absolute_url()
    assert decision.title == "Orders run as a saga"
    assert decision.use_case == use_case and decision.snapshot == use_case.latest_snapshot
    assert decision.considered_options[0]["pattern"]  # pattern ids survive the text form
    assert decision.changes.get().action == "drafted"


def test_superseding_previews_and_creates_nothing_until_saved(member_client, acme, owner):
    old = drafted(acme, owner)
    decision_transition(decision=old, to=S.ACCEPTED, by=owner)
    preview = member_client.get(url("adr-supersede", old.number))
    assert preview.status_code == 200
    assert Decision.objects.count() == 1
    old.refresh_from_db()
    assert old.superseded_by is None
    form = preview.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = "Saga, second edition"
    response = member_client.post(url("adr-supersede", old.number), data)
    new = Decision.objects.get(number=2)
    assert response["Location"] == new.get_absolute_url()
    assert new.title == "Saga, second edition"
    assert list(new.supersedes.all()) == [old]


def test_a_new_adr_is_written_in_full_before_it_exists(member_client, acme):
    page = member_client.get(url("adr-create"), {"title": "Use gRPC inside"})
    assert page.context["form"]["title"].value() == "Use gRPC inside"
    assert not Decision.objects.exists()
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["context"] = "Internal calls are chatty."
    response = member_client.post(url("adr-create"), data)
    decision = Decision.objects.get()
    assert response["Location"] == decision.get_absolute_url()
    assert decision.context == "Internal calls are chatty."


def test_saving_a_draft_without_a_title_shows_the_form_again(member_client, acme, member):
    use_case = order_use_case(acme, member)
    form = member_client.get(url("adr-draft", use_case.pk)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = ""
    response = member_client.post(url("adr-draft", use_case.pk), data)
    assert response.status_code == 400
    assert not Decision.objects.exists()


# --- use cases --------------------------------------------------------------------


def test_a_use_case_without_records_is_deleted(member_client, acme, member):
    use_case = make_use_case(acme, name="Lookup")
    page = member_client.get(url("usecase-delete", use_case.pk)).content.decode()
    assert "Delete “Lookup”?" in page
    member_client.post(url("usecase-delete", use_case.pk))
    assert not UseCase.objects.filter(pk=use_case.pk).exists()
    assert TeamActivity.objects.get(team=acme).action == "deleted"


def test_a_use_case_an_adr_was_drafted_from_is_archived_and_restored(
    member_client, viewer_client, acme, member
):
    adr = drafted(acme, member)
    use_case = adr.use_case
    snapshots = use_case.snapshots.count()
    page = member_client.get(url("usecase-delete", use_case.pk)).content.decode()
    assert "Archive “Place an order”?" in page and "ADR-0001" in page
    member_client.post(url("usecase-delete", use_case.pk))
    use_case.refresh_from_db()
    assert use_case.is_archived and use_case.snapshots.count() == snapshots
    listed = viewer_client.get(url("usecase-list")).content.decode()
    assert f'id="usecase-{use_case.pk}"' not in listed
    archived = viewer_client.get(url("usecase-list"), {"archived": "1"}).content.decode()
    assert f'id="usecase-{use_case.pk}"' in archived
    assert viewer_client.get(adr.get_absolute_url()).status_code == 200
    assert viewer_client.post(url("usecase-restore", use_case.pk)).status_code == 403
    member_client.post(url("usecase-restore", use_case.pk))
    use_case.refresh_from_db()
    assert not use_case.is_archived
    assert f'id="usecase-{use_case.pk}"' in viewer_client.get(url("usecase-list")).content.decode()
    actions = list(TeamActivity.objects.filter(team=acme).values_list("action", flat=True))
    assert sorted(actions) == ["archived", "restored"]


def test_a_viewer_cannot_delete_a_use_case(viewer_client, acme):
    use_case = make_use_case(acme)
    assert viewer_client.post(url("usecase-delete", use_case.pk)).status_code == 403
    assert UseCase.objects.filter(pk=use_case.pk).exists()


# --- review sessions ---------------------------------------------------------------


def _session(acme, owner):
    adr = decision_create(team=acme, data={"title": "On the agenda"}, by=owner)
    when = timezone.now() + datetime.timedelta(days=1)
    return adr, session_create(
        team=acme, title="Friday review", scheduled_for=when, decisions=[adr], by=owner
    )


def test_a_facilitator_deletes_a_session_that_has_not_started(owner_client, acme, owner):
    adr, session = _session(acme, owner)
    assert 'id="delete-session"' in owner_client.get(session.get_absolute_url()).content.decode()
    assert owner_client.get(url("review-delete", session.pk)).status_code == 200
    owner_client.post(url("review-delete", session.pk))
    assert not ReviewSession.objects.filter(pk=session.pk).exists()
    assert Decision.objects.filter(pk=adr.pk).exists()
    entry = TeamActivity.objects.get(team=acme)
    assert entry.subject == "review session “Friday review”" and "ADR-0001" in entry.note


def test_a_started_session_is_not_deleted(owner_client, acme, owner):
    _, session = _session(acme, owner)
    session_start(session=session, by=owner)
    response = owner_client.post(url("review-delete", session.pk))
    assert response.status_code == 409
    assert ReviewSession.objects.filter(pk=session.pk).exists()


def test_a_member_cannot_delete_a_session(member_client, acme, owner):
    _, session = _session(acme, owner)
    assert member_client.post(url("review-delete", session.pk)).status_code == 403


@pytest.mark.parametrize("name", ["adr-delete", "usecase-delete", "review-delete"])
def test_outsiders_get_404_for_deletes(outsider_client, acme, owner, name):
    adr, session = _session(acme, owner)
    use_case = make_use_case(acme)
    target = {"adr-delete": adr.number, "usecase-delete": use_case.pk, "review-delete": session.pk}
    assert outsider_client.get(url(name, target[name])).status_code == 404
    assert outsider_client.post(url(name, target[name])).status_code == 404
