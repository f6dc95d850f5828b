"""Deeply nested HTML in Markdown: bounded before it is sanitised or rendered, so every
page and PDF is made, and a PDF that still cannot be made gives one clear error page."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from pypdf import PdfReader

from decisions import pdf as pdf_module
from decisions.jobs import JobStatus
from decisions.markdown import MAX_DEPTH, MAX_MARKDOWN_CHARS, render_markdown
from decisions.models import ExportJob
from decisions.records.exports.jobs import export_job_run
from decisions.records.services import decision_create
from decisions.reviews.services import comment_add, session_close
from tests.decisions.review_support import make_proposals, make_session

pytestmark = pytest.mark.django_db

# A thousand characters of nested <div>: enough to make WeasyPrint recurse too deep.
NESTED_1K = "<div>" * 200 + "deep text" + "</div>" * 200


class DepthMeter(HTMLParser):
    VOID = {"br", "hr", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = self.deepest = self.tags = 0

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        if tag not in self.VOID:
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag):
        self.depth -= 1


def deepest(html: str) -> tuple[int, int]:
    meter = DepthMeter()
    meter.feed(html)
    return meter.deepest, meter.tags


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_adr_with_a_thousand_characters_of_nested_divs_makes_a_pdf(viewer_client, acme, member):
    d = decision_create(team=acme, data={"title": "Deep", "context": NESTED_1K}, by=member)
    response = viewer_client.get(reverse("adr-export-pdf", args=["acme", d.number]))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert "deep text" in pdf_text(response.content)


def test_the_log_pdf_job_finishes_with_a_nested_record(acme, member):
    decision_create(team=acme, data={"title": "Deep", "context": NESTED_1K}, by=member)
    job = ExportJob.objects.create(team=acme)
    export_job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error


def test_minutes_with_a_nested_comment_make_a_pdf(member_client, acme, owner, member):
    session = make_session(acme, owner, make_proposals(acme, owner, count=1))
    comment_add(item=session.current_item, by=member, body=NESTED_1K)
    session_close(session=session, by=owner)
    response = member_client.get(reverse("review-minutes-pdf", args=["acme", session.pk]))
    assert response.status_code == 200
    assert "deep text" in pdf_text(response.content)


def test_stored_minutes_with_nested_html_still_make_a_pdf(member_client, acme, owner):
    # Minutes written before typed text was escaped hold the HTML as it was typed.
    session = make_session(acme, owner, make_proposals(acme, owner, count=1))
    session = session_close(session=session, by=owner)
    type(session).objects.filter(pk=session.pk).update(minutes=f"# Minutes\n\n{NESTED_1K}\n")
    response = member_client.get(reverse("review-minutes-pdf", args=["acme", session.pk]))
    assert response.status_code == 200
    assert "deep text" in pdf_text(response.content)


@pytest.mark.parametrize(
    "hostile",
    [
        "<div>" * 100_000,
        "<div>" * 50_000 + "x" + "</div>" * 50_000,
        "<b><i>" * 40_000,
        "<table><tr><td>" * 20_000,
        "<<div>div>" * 30_000,  # a dropped tag must not join its neighbours into a new one
        "> " * 40_000 + "x",
    ],
    ids=["open-divs", "closed-divs", "formatting", "tables", "split-tags", "quotes"],
)
def test_hundreds_of_kilobytes_of_nesting_render_to_a_bounded_tree(hostile):
    html = render_markdown(hostile)
    depth, tags = deepest(html)
    assert depth <= MAX_DEPTH
    # Tags beyond the limit are dropped, not kept as markup.
    assert tags <= 4 * MAX_DEPTH


def test_text_beyond_the_rendered_limit_is_cut():
    html = render_markdown("a" * (MAX_MARKDOWN_CHARS + 500) + "TAIL")
    assert "TAIL" not in html and "a" * 1000 in html


def test_ordinary_markdown_is_unchanged_by_the_depth_limit():
    text = (
        "* one\n  * two\n    > quoted **bold** & <em>x</em> a < b\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    html = render_markdown(text)
    assert "<strong>bold</strong>" in html and "<em>x</em>" in html
    assert "&amp;" in html and "a &lt; b" in html and "<td>2</td>" in html


@pytest.mark.parametrize("view", ["adr", "minutes"])
def test_every_pdf_view_answers_a_renderer_failure_with_the_same_page(
    view, monkeypatch, member_client, acme, owner, member
):
    if view == "adr":
        d = decision_create(team=acme, data={"title": "T"}, by=member)
        path = reverse("adr-export-pdf", args=["acme", d.number])
    else:
        session = session_close(
            session=make_session(acme, owner, make_proposals(acme, owner, count=1)), by=owner
        )
        path = reverse("review-minutes-pdf", args=["acme", session.pk])

    def crash(html: str, files: object) -> bytes:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pdf_module, "_write_pdf", crash)
    failed = member_client.get(path)
    assert failed.status_code == 503
    assert failed["Content-Type"].startswith("text/html")
    body = failed.content.decode()
    assert "The PDF could not be made" in body and "RecursionError" in body

    monkeypatch.undo()  # nothing about the failure was kept: the next request renders
    assert member_client.get(path)["Content-Type"] == "application/pdf"
