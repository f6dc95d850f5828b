"""The whole-log PDF rendered in parts: one table of contents with the right page numbers,
page numbers that run across the parts, every record present; read back with pypdf."""

from __future__ import annotations

import datetime
import io
import re

from pypdf import PdfReader

from decisions.models import Decision, DecisionStatus
from decisions.records.exports.log_pdf import log_pdf
from tests.decisions.adr_support import drafted

LONG_CONTEXT = "\n\n".join(
    f"Paragraph {i}: the order service waits for stock, payment and shipping; "
    "each hop adds latency and each failure must be handled without losing the order."
    for i in range(14)
)


def make_log(team, by, count: int) -> list[Decision]:
    """A drafted record with a diagram, then plain ones; every fifth spills over a page."""
    first = drafted(team, by)
    Decision.objects.bulk_create(
        Decision(
            team=team,
            number=number,
            title=f"Record {number:03d}: publish order events",
            date=datetime.date(2026, 1, 1),
            status=DecisionStatus.ACCEPTED if number % 2 else DecisionStatus.PROPOSED,
            context=LONG_CONTEXT * 2 if number % 5 == 0 else f"Context of record {number}.",
        )
        for number in range(2, count + 1)
    )
    return [first, *Decision.objects.filter(team=team).exclude(pk=first.pk).order_by("number")]


def footer_number(text: str) -> int:
    found = re.findall(r"Page (\d+)", text)
    assert found, text[-200:]
    return int(found[-1])


def test_a_log_in_parts_has_one_contents_and_page_numbers_across_the_parts(acme, owner):
    records = make_log(acme, owner, 60)
    seen = []
    pdf = log_pdf(acme, chunk_size=25, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(25, 60), (50, 60), (60, 60)]

    reader = PdfReader(io.BytesIO(pdf))
    texts = [page.extract_text() for page in reader.pages]
    assert [footer_number(text) for text in texts] == list(range(1, len(texts) + 1))
    assert sum("Contents" in text for text in texts) == 1
    assert f"{len(texts)} pages" in texts[0]

    bookmarks = [b for b in reader.outline if not isinstance(b, list)]
    assert [b.title for b in bookmarks][:2] == ["Contents", records[0].title]
    front = reader.get_destination_page_number(bookmarks[1])  # the first record's page
    contents = "\n".join(texts[:front])
    for decision in records:
        listed = re.search(rf"{decision.label} .*?\.{{3,}}\s*(\d+)", contents, re.S)
        assert listed, decision.label
        page = int(listed.group(1))
        assert decision.label in texts[page - 1], (decision.label, page)
        assert decision.title[:20] in texts[page - 1].replace("\n", " "), (decision.label, page)
        if page - 1 > front:  # the page before belongs to the record before
            assert decision.label not in texts[page - 2], (decision.label, page)
    assert records[0].title in "\n".join(texts)
    assert "Record 060: publish order events" in texts[-1] or "Record 060" in "".join(texts[-3:])
    assert len(bookmarks) == 61  # the contents and each record, from every part


def test_the_parts_do_not_change_what_one_part_gives(acme, owner):
    make_log(acme, owner, 7)
    whole = PdfReader(io.BytesIO(log_pdf(acme, chunk_size=100)))
    parts = PdfReader(io.BytesIO(log_pdf(acme, chunk_size=2)))
    assert len(whole.pages) == len(parts.pages)
    assert [footer_number(p.extract_text()) for p in parts.pages] == list(
        range(1, len(parts.pages) + 1)
    )


def test_an_empty_log_is_a_cover_without_records(acme):
    reader = PdfReader(io.BytesIO(log_pdf(acme)))
    assert "No records yet." in reader.pages[0].extract_text()


def test_bookmarks_and_destinations_of_every_part_lead_to_the_pages_the_contents_give(acme, owner):
    records = make_log(acme, owner, 12)
    reader = PdfReader(io.BytesIO(log_pdf(acme, chunk_size=4)))  # three parts
    texts = [page.extract_text() for page in reader.pages]
    assert [footer_number(text) for text in texts] == list(range(1, len(texts) + 1))

    top = [b for b in reader.outline if not isinstance(b, list)]
    sections = [level for level in reader.outline if isinstance(level, list)]
    assert [b.title for b in top] == ["Contents", *(d.title for d in records)]
    assert len(sections) == len(records)  # each record's headings stay beneath it
    front = reader.get_destination_page_number(top[1])
    contents = "\n".join(texts[:front])
    destinations = reader.named_destinations
    for decision, bookmark, inside in zip(records, top[1:], sections, strict=True):
        listed = re.search(rf"{decision.label} .*?\.{{3,}}\s*(\d+)", contents, re.S)
        assert listed, decision.label
        page = int(listed.group(1)) - 1
        assert reader.get_destination_page_number(bookmark) == page
        assert reader.get_destination_page_number(destinations[f"adr-{decision.number}"]) == page
        headings = [s for s in inside if not isinstance(s, list)]
        assert headings and all(reader.get_destination_page_number(s) >= page for s in headings)
        assert decision.label in texts[page]
