"""ADR pages: who may see and do what, and what each page shows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions.models import Decision, DecisionStatus
from decisions.records.services import decision_create, decision_transition
from tests.decisions.adr_support import accepted_with_predecessor, drafted, order_use_case

S = DecisionStatus


@pytest.fixture
def adr(acme, member):
    return drafted(acme, member)


def url(name, *args):
    return reverse(name, args=["acme", *args])


def test_the_log_lists_records_with_status_and_links(viewer_client, acme, owner):
    old, new = accepted_with_predecessor(acme, owner)
    response = viewer_client.get(url("adr-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert old.label in body and new.label in body
    assert 'id="supersede-graph"' in body
    assert "superseded by" in body  # the graph's edge label
    assert 'id="adr-table"' in body


def test_the_log_filters_by_status_pattern_and_text(viewer_client, acme, owner):
    old, new = accepted_with_predecessor(acme, owner)
    decision_create(team=acme, data={"title": "Cache product pages", "context": "CDN"}, by=owner)
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "adr-table"}
    superseded = viewer_client.get(url("adr-list"), {"status": "superseded"}, **htmx)
    body = superseded.content.decode()
    assert body.strip().startswith('<div id="adr-table">')  # only the partial
    assert f'id="adr-{old.number}"' in body and f'id="adr-{new.number}"' not in body
    by_text = viewer_client.get(url("adr-list"), {"q": "cdn"}, **htmx).content.decode()
    assert "Cache product pages" in by_text and old.title not in by_text
    by_pattern = viewer_client.get(url("adr-list"), {"pattern": new.chosen_pattern}, **htmx)
    assert "Cache product pages" not in by_pattern.content.decode()
    assert new.title in by_pattern.content.decode()


def test_the_detail_page_shows_sections_and_the_diagram(viewer_client, adr):
    body = viewer_client.get(adr.get_absolute_url()).content.decode()
    for heading in ("Context and Problem Statement", "Decision Drivers", "Decision Outcome"):
        assert heading in body
    assert "<svg" in body and "inventory" in body
    assert 'action="/t/acme/decisions/1/transition/"' not in body  # viewers cannot decide


def test_markdown_in_an_adr_is_sanitised_on_the_page(member_client, acme, member):
    hostile = "<script>alert(1)</script><a href='javascript:x()' hx-post='/x' onclick='y'>l</a>"
    d = decision_create(team=acme, data={"title": "T", "context": hostile}, by=member)
    body = member_client.get(d.get_absolute_url()).content.decode()
    assert "alert(1)" not in body and "javascript:x" not in body
    assert 'hx-post="/x"' not in body and "onclick" not in body


def test_a_member_drafts_an_adr_from_a_use_case(member_client, acme, member):
    use_case = order_use_case(acme, member)
    page = member_client.get(use_case.get_absolute_url()).content.decode()
    assert 'id="draft-adr"' in page and 'id="usecase-diagram"' in page
    form = member_client.get(url("adr-draft", use_case.pk)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    response = member_client.post(url("adr-draft", use_case.pk), data)
    decision = Decision.objects.get(team=acme)
    assert response.status_code == 302
    assert response["Location"] == decision.get_absolute_url()
    assert decision.use_case == use_case
    page = member_client.get(use_case.get_absolute_url()).content.decode()
    assert decision.label in page


def test_a_viewer_cannot_draft_edit_supersede_or_import(viewer_client, acme, adr):
    use_case = adr.use_case
    assert viewer_client.post(url("adr-draft", use_case.pk)).status_code == 403
    assert viewer_client.get(url("adr-edit", adr.number)).status_code == 403
    assert viewer_client.post(url("adr-supersede", adr.number)).status_code == 403
    assert viewer_client.post(url("adr-create"), {"title": "x"}).status_code == 403
    assert viewer_client.get(url("adr-import")).status_code == 403


def test_a_member_cannot_accept(member_client, adr):
    response = member_client.post(url("adr-transition", adr.number), {"to": "accepted"})
    assert response.status_code == 403
    adr.refresh_from_db()
    assert adr.status == S.PROPOSED


def test_a_facilitator_accepts_with_the_people_who_decided(owner_client, adr):
    response = owner_client.post(
        url("adr-transition", adr.number),
        {"to": "accepted", "decision_makers": "olivia\nmax", "note": "Agreed in review"},
        follow=True,
    )
    adr.refresh_from_db()
    assert adr.status == S.ACCEPTED
    assert adr.people("decision_makers") == ["olivia", "max"]
    assert "ADR-0001 is now accepted." in response.content.decode()


def test_a_refused_transition_shows_its_message(owner_client, adr, owner):
    decision_transition(decision=adr, to=S.REJECTED, by=owner)
    response = owner_client.post(url("adr-transition", adr.number), {"to": "accepted"}, follow=True)
    assert "rejected and cannot become accepted" in response.content.decode()


def test_editing_saves_fields_and_the_options_text(member_client, adr):
    form = member_client.get(url("adr-edit", adr.number)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = "Orchestrated saga for orders"
    data["options_text"] = (
        "### Saga\n\nWorks.\n\n* Good, because compensations\n* Bad, because more code"
    )
    response = member_client.post(url("adr-edit", adr.number), data)
    assert response.status_code == 302
    adr.refresh_from_db()
    assert adr.title == "Orchestrated saga for orders"
    assert adr.considered_options == [
        {"name": "Saga", "pattern": "", "summary": "Works.", "pros": ["compensations"],
         "cons": ["more code"]}
    ]  # fmt: skip
    history = member_client.get(url("adr-history", adr.number)).content.decode()
    assert "edited" in history and "Orchestrated saga for orders" in history


def test_an_accepted_record_is_not_edited_but_superseded(member_client, adr, owner):
    decision_transition(decision=adr, to=S.ACCEPTED, by=owner)
    response = member_client.get(url("adr-edit", adr.number), follow=True)
    assert "is not edited in place" in response.content.decode()
    form = member_client.get(url("adr-supersede", adr.number)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    response = member_client.post(url("adr-supersede", adr.number), data)
    new = Decision.objects.get(number=2)
    assert response["Location"] == url("adr-detail", 2)
    assert list(new.supersedes.all()) == [adr]


@pytest.mark.parametrize(
    ("name", "method", "args"),
    [
        ("adr-list", "get", ()),
        ("adr-detail", "get", (1,)),
        ("adr-edit", "get", (1,)),
        ("adr-history", "get", (1,)),
        ("adr-export-md", "get", (1,)),
        ("adr-export-pdf", "get", (1,)),
        ("adr-diagram", "get", (1,)),
        ("adr-log-zip", "get", ()),
        ("adr-log-pdf", "post", ()),
        ("adr-export-job", "get", (1,)),
        ("adr-export-job-download", "get", (1,)),
        ("adr-import", "get", ()),
        ("adr-transition", "post", (1,)),
        ("adr-supersede", "post", (1,)),
        ("adr-create", "post", ()),
    ],
)
def test_outsiders_get_404_everywhere(outsider_client, adr, name, method, args):
    from decisions.models import ExportJob

    ExportJob.objects.create(team=adr.team, status="done", file="exports/x.pdf")
    response = getattr(outsider_client, method)(url(name, *args))
    assert response.status_code == 404


def test_viewers_export_markdown_and_pdf(viewer_client, adr):
    md = viewer_client.get(url("adr-export-md", adr.number))
    assert md["Content-Disposition"] == f'attachment; filename="{adr.filename}"'
    assert md.content.decode().startswith("---\nstatus: proposed\n")
    nygard = viewer_client.get(url("adr-export-md", adr.number), {"style": "nygard"})
    assert nygard.content.decode().startswith(f"# 1. {adr.title}\n")
    pdf = viewer_client.get(url("adr-export-pdf", adr.number))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    svg = viewer_client.get(url("adr-diagram", adr.number))
    assert svg["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in svg["Content-Security-Policy"]


def test_the_demo_seeds_an_accepted_adr_with_its_predecessor_and_a_proposal(db):
    from django.core.management import call_command

    call_command("seed_demo")
    acme = Decision.objects.filter(team__slug="acme").order_by("number")
    first, second, third = acme
    assert (first.status, second.status, third.status) == ("superseded", "accepted", "proposed")
    assert first.superseded_by == second
    assert third.use_case.name == "Place an order"
    call_command("seed_demo")
    assert Decision.objects.filter(team__slug="acme").count() == 3
