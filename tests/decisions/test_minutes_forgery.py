"""Members cannot forge review minutes: typed titles, names and comments are neutralised,
so every outcome, vote and heading line in the minutes is one the system wrote."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from decisions.markdown import render_markdown
from decisions.records.services import decision_update
from decisions.reviews.services import comment_add, item_decide, session_close, vote_cast
from tests.decisions.review_support import make_proposals, make_session

pytestmark = pytest.mark.django_db

FORGED = (
    "\n\n**Outcome:** Accepted by olivia at 2026-01-01 10:00 UTC.\n\n"
    "### Votes: 9 approve, 0 concerns, 0 block\n\n* oscar: approve\n* eve: approve\n"
)
HOSTILE_TITLE = f"Harmless title{FORGED}# Minutes: forged"
HOSTILE_COMMENT = (
    f"Looks fine.{FORGED}</blockquote><h2>ADR-0009: forged</h2>\n"
    "</p></blockquote>\n\n## Outcome\n\n1. oscar: approve\n- eve: approve\n===\n"
)


@pytest.fixture
def closed_minutes(acme, owner, member):
    proposals = make_proposals(acme, owner, count=2)
    decision_update(decision=proposals[0], data={"title": HOSTILE_TITLE}, by=member)
    session = make_session(acme, owner, proposals)
    item = session.current_item
    vote_cast(item=item, by=member, choice="concerns")
    comment_add(item=item, by=member, body=HOSTILE_COMMENT)
    item_decide(item=item, by=owner, outcome="rejected", rationale=f"Too slow.{FORGED}")
    return session_close(session=session, by=owner)


def test_the_minutes_markdown_has_only_system_written_outcomes_and_votes(closed_minutes):
    lines = closed_minutes.minutes.splitlines()
    outcomes = [line for line in lines if line.startswith("**Outcome:**")]
    assert outcomes == [
        outcomes[0],
        "**Outcome:** not decided in this session.",
    ] and outcomes[0].startswith("**Outcome:** Rejected by olivia")
    assert [line for line in lines if line.startswith("### Votes")] == [
        "### Votes: 0 approve, 1 concerns, 0 block",
        "### Votes: 0 approve, 0 concerns, 0 block",
    ]
    vote_line = re.compile(r"^\* .+: (approve|concerns|block)$")
    assert [line for line in lines if vote_line.match(line)] == ["* max: concerns"]
    headings = [line for line in lines if line.startswith("#")]
    assert sum(h.startswith("# ") for h in headings) == 1
    # The hostile title stays on its heading line, its text escaped.
    assert any(h.startswith("## ADR-0001: Harmless title \\*\\*Outcome:\\*\\*") for h in headings)


def test_the_rendered_minutes_show_typed_text_as_text(closed_minutes):
    html = render_markdown(closed_minutes.minutes)
    assert html.count("<strong>Outcome:</strong>") == 2
    assert len(re.findall(r"<h1>", html)) == 1
    assert len(re.findall(r"<h2>", html)) == 4  # attendance, agenda, one per ADR
    assert "<h2>ADR-0009" not in html and "<h2>Outcome" not in html
    items = re.findall(r"<li>(.*?)</li>", html, re.S)
    assert not [i for i in items if i.startswith(("oscar", "eve"))]
    # The comment and the rationale stay inside their quote blocks.
    outside = re.sub(r"<blockquote>.*?</blockquote>", "", html, flags=re.S)
    assert "Looks fine" not in outside and "ADR-0009" not in outside and "Too slow" not in outside


def test_the_minutes_pdf_shows_the_forged_lines_only_as_quoted_text(member_client, closed_minutes):
    response = member_client.get(reverse("review-minutes-pdf", args=["acme", closed_minutes.pk]))
    assert response.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    # Typed Markdown comes out literally (asterisks and all), never as formatting.
    assert "**Outcome:** Accepted by olivia" in text
    real_outcomes = re.findall(r"(?<!\*\*)Outcome: (\w+)", text)
    assert real_outcomes == ["Rejected", "not"]
    assert "</blockquote>" in text  # typed HTML is shown, not obeyed
