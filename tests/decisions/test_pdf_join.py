"""pdf_join: PDFs made by WeasyPrint joined one at a time, read back with pypdf: every page,
the bookmarks with their levels, named destinations and links, and page numbers stamped
across the whole output."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from decisions.pdf import render_pdf
from decisions.records.exports.pdf_join import PdfJoinError, pdf_join

# A 1x1 PNG: every part shows the same picture, each part carries its own copy.
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
    "HwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def part(k: int, chapters: int) -> bytes:
    """Part ``k``: ``chapters`` chapters of one page each, a section in each, a link from
    the first chapter to the last, and a picture."""
    link = f'<p><a href="#p{k}-c{chapters}">Part {k} last chapter</a></p>'
    body = "".join(
        f'<h1 id="p{k}-c{c}" style="break-before: page">Part {k} chapter {c}</h1>'
        f"<h2>Part {k} chapter {c} section</h2><p>Text of part {k}, chapter {c}.</p>"
        + (link if c == 1 else "")
        for c in range(1, chapters + 1)
    )
    return render_pdf(f'<html><body>{body}<img src="{PIXEL}"></body></html>')


def joined(parts: list[bytes], *, number_pages: bool) -> PdfReader:
    out = io.BytesIO()
    pages = pdf_join((io.BytesIO(p) for p in parts), out, number_pages=number_pages)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert len(reader.pages) == pages
    return reader


def test_three_parts_keep_their_pages_bookmarks_destinations_and_links_in_order():
    parts = [part(1, 2), part(2, 3), part(3, 1)]
    reader = joined(parts, number_pages=True)
    assert len(reader.pages) == 6
    texts = [page.extract_text() for page in reader.pages]
    expected = [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 1)]
    for text, (k, c), number in zip(texts, expected, range(1, 7), strict=True):
        assert f"Part {k} chapter {c}" in text
        assert re.findall(r"Page (\d+)", text) == [str(number)]

    # One outline: the chapters in order, each with its section as a child.
    top = [item for item in reader.outline if not isinstance(item, list)]
    children = [item for item in reader.outline if isinstance(item, list)]
    assert [b.title for b in top] == [f"Part {k} chapter {c}" for k, c in expected]
    assert [[b.title for b in level] for level in children] == [
        [f"Part {k} chapter {c} section"] for k, c in expected
    ]
    assert [reader.get_destination_page_number(b) for b in top] == list(range(6))
    assert [reader.get_destination_page_number(level[0]) for level in children] == list(range(6))

    # Named destinations from every part, each on its own page.
    found = reader.named_destinations
    for page, (k, c) in enumerate(expected):
        assert reader.get_destination_page_number(found[f"p{k}-c{c}"]) == page

    # The link on part 2's first page still leads to part 2's last chapter (page 5).
    links = [a.get_object() for a in reader.pages[2]["/Annots"]]
    assert [link["/Dest"] for link in links] == ["p2-c3"]
    assert reader.get_destination_page_number(found["p2-c3"]) == 4

    # Each part's picture came along.
    assert all(reader.pages[i]["/Resources"]["/XObject"] for i in (0, 2, 5))


def test_without_numbers_the_pages_are_left_as_they_were():
    reader = joined([part(1, 1), part(2, 1)], number_pages=False)
    assert all("Page" not in page.extract_text() for page in reader.pages)
    assert [b.title for b in reader.outline if not isinstance(b, list)] == [
        "Part 1 chapter 1",
        "Part 2 chapter 1",
    ]


def test_a_name_two_parts_share_keeps_the_first_parts_target():
    reader = joined([part(1, 1), part(1, 1)], number_pages=False)
    assert len(reader.pages) == 2
    assert reader.get_destination_page_number(reader.named_destinations["p1-c1"]) == 0


def test_a_source_that_is_not_a_pdf_is_named_in_the_error():
    with pytest.raises(PdfJoinError, match="Part 2 is not a readable PDF"):
        pdf_join(iter([io.BytesIO(part(1, 1)), io.BytesIO(b"not a pdf")]), io.BytesIO())
