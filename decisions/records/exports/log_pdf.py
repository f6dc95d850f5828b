"""The whole decision log as one PDF, rendered in parts so that memory stays flat as the
log grows.

One WeasyPrint document for the whole log holds every record's layout at once, so its
memory grows with the log. Here each part is at most ``chunk_size`` records, rendered in
its own forked child (``decisions.pdf.render_pdf``) that exits when the part is done; the
parent keeps only the parts' bytes and joins them with pypdf. The page numbers and the
table of contents still read as one document:

1. The front matter (cover and contents) is rendered first with a placeholder page number
   on every line, as wide as any real one (the leader dots take the rest of the line), to
   learn how many pages it takes: ``front_pages``.
2. The records are rendered part by part, in order. A part's first page resets the CSS
   page counter to its page number in the whole document (``@page :first {
   counter-reset: page N }``), so the footers run 1..N across the parts without stamping
   afterwards. The page each record starts on is read back from the part's named
   destination ``adr-<number>`` (WeasyPrint writes one for every ``id``).
3. The front matter is rendered again with the real page numbers and the total. Should it
   come out longer than measured (not expected: the placeholders are the widest), the
   parts are rendered again with the new offset.
4. pypdf joins front matter and parts, keeping each part's bookmarks (one per record and
   section), which take the place of the contents' links. The parts wait in a temporary
   folder meanwhile, and the whole is written straight into the caller's file.

The footer reads "Page N" (the total is on the cover): a part is rendered before the
total is known. Each part gets its own render time limit (``log_timeout`` of its size),
so the job's limit grows with the number of records instead of cutting a big log off.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from decisions.models import Decision, DecisionStatus, Team
from decisions.pdf import PdfError, render_pdf
from decisions.records.exports.pdf import (
    for_print,
    log_timeout,
    pdf_file_url,
    record_context,
    record_files,
)
from decisions.records.selectors import decision_diagram_svgs

CHUNK_SIZE = int(getattr(settings, "ADR_LOG_CHUNK_SIZE", 25))
PLACEHOLDER_PAGE = "99999"
FRONT_TIMEOUT_S = 60.0
MAX_LAYOUT_PASSES = 3


@dataclass(frozen=True)
class ContentsLine:
    number: int
    label: str
    title: str
    status: str
    page: str


def _records(pks: Sequence[int]) -> list[Decision]:
    return list(
        Decision.objects.filter(pk__in=pks)
        .select_related("team", "superseded_by", "use_case", "snapshot")
        .prefetch_related("supersedes", "attachments")
        .order_by("number")
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _front_pdf(
    team: Team, lines: list[ContentsLine], *, total_pages: int | None, generated
) -> bytes:
    html = render_to_string(
        "decisions/records/adr_log_front.html",
        {
            "team": team,
            "lines": lines,
            "total_pages": total_pages,
            "title": f"Decision log: {team.name}",
            "generated": generated,
        },
    )
    return render_pdf(html, timeout=FRONT_TIMEOUT_S)


def _part_pdf(team: Team, decisions: list[Decision], *, first_page: int, generated) -> bytes:
    svgs = decision_diagram_svgs(decisions=decisions)
    html = render_to_string(
        "decisions/records/adr_print.html",
        {
            "team": team,
            "records": [
                for_print(record_context(decision, svg=svg, url_for=pdf_file_url))
                for decision, svg in zip(decisions, svgs, strict=True)
            ],
            "toc": False,
            "page_start": first_page,
            "title": f"Decision log: {team.name}",
            "generated": generated,
        },
    )
    files = {}
    for decision in decisions:  # the images the part's records show, and nothing else
        files.update(record_files(decision))
    return render_pdf(html, timeout=log_timeout(len(decisions)), files=files)


def _start_pages(pdf: bytes, numbers: list[int]) -> tuple[int, dict[int, int]]:
    """The part's page count and, per record number, its first page (0-based in the part)."""
    reader = PdfReader(io.BytesIO(pdf))
    found = reader.named_destinations
    starts: dict[int, int] = {}
    for number in numbers:
        destination = found.get(f"adr-{number}")
        if destination is None:
            raise PdfError(f"ADR-{number:04d} is missing from its part of the log PDF.")
        page = reader.get_destination_page_number(destination)
        if page is None:
            raise PdfError(f"ADR-{number:04d} has no page in its part of the log PDF.")
        starts[number] = page
    return len(reader.pages), starts


def log_pdf(
    team: Team,
    decisions: Iterable[Decision] | None = None,
    *,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    target: BinaryIO | None = None,
) -> bytes | None:
    """The team's log (or ``decisions``, in number order) as one PDF, rendered in parts of
    ``chunk_size`` records (CHUNK_SIZE by default); ``progress(done, total)`` after each
    part. Written into ``target`` when given (then None is returned), else returned.
    Finished parts wait in a temporary folder, not in memory."""
    with tempfile.TemporaryDirectory(prefix="archway-log-pdf-") as folder:
        if target is not None:
            _log_pdf(
                team, decisions, Path(folder), target, chunk_size=chunk_size, progress=progress
            )
            return None
        buffer = io.BytesIO()
        _log_pdf(team, decisions, Path(folder), buffer, chunk_size=chunk_size, progress=progress)
        return buffer.getvalue()


def _log_pdf(
    team: Team,
    decisions: Iterable[Decision] | None,
    folder: Path,
    out: BinaryIO,
    *,
    chunk_size: int | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    chunk_size = max(1, chunk_size or CHUNK_SIZE)
    if decisions is None:
        decisions = Decision.objects.filter(team=team)
    rows = sorted(((d.pk, d.number, d.title, d.status) for d in decisions), key=lambda row: row[1])
    statuses = dict(DecisionStatus.choices)
    generated = timezone.now()

    def lines(pages: dict[int, int] | None) -> list[ContentsLine]:
        return [
            ContentsLine(
                number=number,
                label=f"ADR-{number:04d}",
                title=title,
                status=str(statuses.get(status, status)).lower(),
                page=str(pages[number]) if pages else PLACEHOLDER_PAGE,
            )
            for _, number, title, status in rows
        ]

    front_pages = len(
        PdfReader(
            io.BytesIO(_front_pdf(team, lines(None), total_pages=None, generated=generated))
        ).pages
    )
    for _ in range(MAX_LAYOUT_PASSES):
        parts: list[Path] = []
        pages: dict[int, int] = {}
        next_page = front_pages + 1
        done = 0
        for chunk in _chunks([row[0] for row in rows], chunk_size):
            records = _records(chunk)
            part = _part_pdf(team, records, first_page=next_page, generated=generated)
            count, starts = _start_pages(part, [d.number for d in records])
            pages.update({number: next_page + start for number, start in starts.items()})
            parts.append(folder / f"part-{len(parts):05d}.pdf")
            parts[-1].write_bytes(part)
            del part
            next_page += count
            done += len(records)
            if progress is not None:
                progress(done, len(rows))
        front = _front_pdf(team, lines(pages), total_pages=next_page - 1, generated=generated)
        measured = len(PdfReader(io.BytesIO(front)).pages)
        if measured == front_pages:
            (folder / "front.pdf").write_bytes(front)
            _join([folder / "front.pdf", *parts], out)
            return
        front_pages = measured
    raise PdfError("The log's table of contents did not settle on a page count.")


def log_pdf_time_limit(count: int, *, chunk_size: int | None = None) -> float:
    """Seconds a whole-log PDF job may take: every part's render limit, the two renders of
    the contents, and as much again for drawing, Markdown and joining. It grows with the
    log, so a big log is never cut off by a fixed limit."""
    size = max(1, chunk_size or CHUNK_SIZE)
    full, rest = divmod(count, size)
    renders = full * log_timeout(size) + (log_timeout(rest) if rest else 0.0)
    return 2 * (renders + 2 * FRONT_TIMEOUT_S)


def _join(pdfs: list[Path], out: BinaryIO) -> None:
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(pdf))
    writer.write(out)
