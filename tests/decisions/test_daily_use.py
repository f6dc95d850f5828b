"""Daily use: history shows only real changes, search reaches every text field."""

from __future__ import annotations

from django import forms
from django.urls import reverse

from decisions.models import DecisionChange
from decisions.records.selectors import decision_list
from decisions.records.services import decision_create, decision_update
from decisions.usecases.selectors import use_case_list
from tests.decisions.adr_support import drafted
from tests.factories import make_use_case


def url(name, *args):
    return reverse(name, args=["acme", *args])


def test_saving_an_untouched_form_records_no_change(member_client, acme, member):
    adr = drafted(acme, member)
    form = member_client.get(url("adr-edit", adr.number)).context["form"]
    # A browser sends textareas back with CRLF line endings, sometimes with trailing blanks.
    data = {name: form[name].value() or "" for name in form.fields}
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.Textarea):
            data[name] = str(data[name]).replace("\n", "\r\n") + "  \r\n"
    before = DecisionChange.objects.filter(decision=adr).count()
    assert member_client.post(url("adr-edit", adr.number), data).status_code == 302
    assert DecisionChange.objects.filter(decision=adr).count() == before


def test_a_real_edit_is_still_recorded_with_line_endings_normalised(acme, member):
    adr = decision_create(team=acme, data={"title": "T", "context": "one\ntwo"}, by=member)
    decision_update(decision=adr, data={"context": "one\r\ntwo\r\nthree\r\n"}, by=member)
    change = DecisionChange.objects.filter(decision=adr, action="edited").get()
    assert change.diff == {"context": ["one\ntwo", "one\ntwo\nthree"]}
    adr.refresh_from_db()
    assert adr.context == "one\ntwo\nthree"


def test_search_reaches_options_pros_cons_consequences_and_confirmation(acme, member):
    fields = {
        "considered_options": [
            {"name": "Zebra queue", "pattern": "", "summary": "a striped summary",
             "pros": ["gallops fast"], "cons": ["bites keepers"]}
        ],
        "consequences": "* Bad, because walruses complain",
        "confirmation": "Measured with a narwhal probe",
        "drivers": "* octopus arms",
        "more_information": "See the quokka note",
        "decision_makers": "platypus",
    }  # fmt: skip
    target = decision_create(team=acme, data={"title": "Target", **fields}, by=member)
    decision_create(team=acme, data={"title": "Other"}, by=member)
    for word in ("zebra", "striped", "gallops", "bites", "walruses", "narwhal", "octopus",
                 "quokka", "platypus"):  # fmt: skip
        assert list(decision_list(team=acme, query=word)) == [target], word


def test_use_case_search_reaches_hops(acme, member):
    from patterns.engine import Hop

    target = make_use_case(acme, name="Checkout", hops=[Hop("ledger-service", 5, 20)])
    make_use_case(acme, name="Browse")
    assert list(use_case_list(team=acme, query="ledger")) == [target]
    assert list(use_case_list(team=acme, query="checkout")) == [target]


def test_pages_link_the_favicon_and_it_is_served(member_client, acme):
    from pathlib import Path

    from django.contrib.staticfiles import finders

    page = member_client.get(url("usecase-list")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    path = finders.find("favicon.svg")
    assert path and Path(path).read_text().startswith("<svg")


def test_adr_and_use_case_pages_link_back(member_client, acme, member):
    adr = drafted(acme, member)
    back_to_log = f'class="back-link"><a href="{url("adr-list")}">'
    assert back_to_log in member_client.get(adr.get_absolute_url()).content.decode()
    for name in ("adr-edit", "adr-history"):
        page = member_client.get(url(name, adr.number)).content.decode()
        assert f'class="back-link"><a href="{adr.get_absolute_url()}">' in page, name
    use_case = adr.use_case
    detail = member_client.get(use_case.get_absolute_url()).content.decode()
    assert f'class="back-link"><a href="{url("usecase-list")}">' in detail
    edit = member_client.get(url("usecase-edit", use_case.pk)).content.decode()
    assert f'class="back-link"><a href="{use_case.get_absolute_url()}">' in edit


def test_a_new_record_is_stored_with_plain_line_endings(acme, member):
    adr = decision_create(team=acme, data={"title": "T ", "context": "a  \r\nb\r\n"}, by=member)
    adr.refresh_from_db()
    assert (adr.title, adr.context) == ("T", "a\nb")
