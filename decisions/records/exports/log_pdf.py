"""The whole decision log as one PDF, rendered in parts so that memory stays flat as the
log grows, and so that the parts can be rendered by several workers at once.

One WeasyPrint document for the whole log holds every record's layout at once, so its
memory grows with the log. Here the records are rendered ``chunk_size`` at a time, each
chunk in its own forked child that writes its PDF to a file and exits
(``decisions.pdf.render_pdf_file``), and the files are joined by ``pdf_join``, which
copies one file at a time into the output instead of holding them all. The page numbers
and the table of contents still read as one document:

1. A chunk is rendered without page numbers in its footer, so it looks the same wherever
   it ends up; what it reports (``Piece``) is its page count and the page each record
   starts on, read from its named destination ``adr-<number>`` (WeasyPrint writes one
   for every ``id``).
2. The front matter (cover and contents) is rendered with a placeholder page number on
   every line, as wide as any real one (the leader dots take the rest of the line), to
   learn how many pages it takes. With that and the pieces' page counts, every record's
   page in the whole document is a sum. The front matter is rendered again with those
   numbers and the total; should it come out longer than measured (not expected: the
   placeholders are the widest), only the front matter is rendered again.
3. ``pdf_join`` writes the front matter and the pieces in order, keeping each piece's
   bookmarks (one per record and section) and named destinations, and stamps "Page N"
   on every page, N running over the whole document.

Because a piece's layout does not depend on where it starts, a long log can also be cut
into parts rendered by different workers at the same time (``log_pdf_piece``, one file
per part), and joined by the last of them (``log_pdf_assemble``): see
``decisions.records.exports.parts`` and ADR-0013. Each chunk gets its own render time
limit (``log_timeout`` of its size), so the job's limit grows with the number of records
instead of cutting a big log off.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader

from decisions.models import Decision, DecisionStatus, Team
from decisions.pdf import PdfError, render_pdf, render_pdf_file
from decisions.records.exports.madr import assumptions_with_last_check
from decisions.records.exports.pdf import (
    for_print,
    log_timeout,
    pdf_file_url,
    record_context,
    record_files,
)
from decisions.records.exports.pdf_join import PdfJoinError, pdf_join
from decisions.records.selectors import decision_diagram_svgs

CHUNK_SIZE = int(getattr(settings, "ADR_LOG_CHUNK_SIZE", 25))
PLACEHOLDER_PAGE = "99999"
FRONT_TIMEOUT_S = 60.0
MAX_LAYOUT_PASSES = 3
# Seconds a join may take per record (about five pages), on top of the front matter.
JOIN_TIME_PER_RECORD_S = 0.1


@dataclass(frozen=True)
class ContentsLine:
    number: int
    label: str
    title: str
    status: str
    page: str


@dataclass(frozen=True)
class Piece:
    """What a rendered run of records holds: its page count and, in number order, each
    record's number and the page it starts on (0 for the piece's first page)."""

    pages: int
    starts: tuple[tuple[int, int], ...]

    @staticmethod
    def joined(pieces: Iterable[Piece]) -> Piece:
        """The piece that ``pieces`` make one after another."""
        pages, starts = 0, list[tuple[int, int]]()
        for piece in pieces:
            starts.extend((number, pages + start) for number, start in piece.starts)
            pages += piece.pages
        return Piece(pages, tuple(starts))


def _records(pks: Sequence[int]) -> list[Decision]:
    return list(
        Decision.objects.filter(pk__in=pks)
        .select_related("team", "superseded_by", "use_case", "snapshot")
        .prefetch_related("supersedes", "attachments", assumptions_with_last_check())
        .order_by("number")
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _front_pdf(
    team: Team, lines: list[ContentsLine], *, total_pages: int | None, generated: datetime
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


def _render_chunk(
    team: Team, decisions: list[Decision], target: Path, *, generated: datetime
) -> Piece:
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
            "log_part": True,
            "title": f"Decision log: {team.name}",
            "generated": generated,
        },
    )
    files = {}
    for decision in decisions:  # the images the chunk's records show, and nothing else
        files.update(record_files(decision))
    render_pdf_file(html, target, timeout=log_timeout(len(decisions)), files=files)
    return _piece(target, [d.number for d in decisions])


def _piece(pdf: Path, numbers: list[int]) -> Piece:
    reader = PdfReader(pdf)
    found = reader.named_destinations
    starts = []
    for number in numbers:
        destination = found.get(f"adr-{number}")
        if destination is None:
            raise PdfError(f"ADR-{number:04d} is missing from its part of the log PDF.")
        page = reader.get_destination_page_number(destination)
        if page is None:
            raise PdfError(f"ADR-{number:04d} has no page in its part of the log PDF.")
        starts.append((number, page))
    return Piece(len(reader.pages), tuple(starts))


def _render_chunks(
    team: Team,
    pks: Sequence[int],
    folder: Path,
    *,
    chunk_size: int | None,
    generated: datetime,
    progress: Callable[[int], None] | None,
) -> list[tuple[Path, Piece]]:
    """The records of ``pks`` (in number order) rendered into files in ``folder``;
    ``progress(records done)`` after each chunk."""
    rendered: list[tuple[Path, Piece]] = []
    done = 0
    for chunk in _chunks(pks, max(1, chunk_size or CHUNK_SIZE)):
        records = _records(chunk)
        path = folder / f"chunk-{len(rendered):05d}.pdf"
        rendered.append((path, _render_chunk(team, records, path, generated=generated)))
        done += len(chunk)
        if progress is not None:
            progress(done)
    return rendered


def log_pdf_piece(
    team: Team,
    pks: Sequence[int],
    target: BinaryIO,
    *,
    generated: datetime,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Piece:
    """A part of a log rendered by one worker: the records of ``pks`` (their numbers in
    order) as one PDF without front matter or page numbers, written into ``target``;
    ``progress(records done)`` after each chunk. ``log_pdf_assemble`` joins the parts."""
    with tempfile.TemporaryDirectory(prefix="archway-log-part-") as folder:
        rendered = _render_chunks(
            team,
            pks,
            Path(folder),
            chunk_size=chunk_size,
            generated=generated,
            progress=progress,
        )
        _join((path.open("rb") for path, _ in rendered), target, number_pages=False)
    return Piece.joined(piece for _, piece in rendered)


def log_pdf_assemble(
    team: Team,
    pieces: Sequence[tuple[Callable[[], IO[bytes]], Piece]],
    target: BinaryIO,
    *,
    generated: datetime,
) -> None:
    """The front matter, then the ``pieces`` in order (each an opener for its PDF and what
    it holds), joined into ``target`` with one table of contents and page numbers across
    the whole document. The contents list the records the pieces hold."""
    whole = Piece.joined(piece for _, piece in pieces)
    numbers = [number for number, _ in whole.starts]
    rows = {
        row[0]: row
        for row in Decision.objects.filter(team=team, number__in=numbers).values_list(
            "number", "title", "status"
        )
    }
    statuses = dict(DecisionStatus.choices)

    def lines(front_pages: int | None) -> list[ContentsLine]:
        return [
            ContentsLine(
                number=number,
                label=f"ADR-{number:04d}",
                title=rows[number][1] if number in rows else "",
                status=str(statuses.get(rows[number][2], "")).lower() if number in rows else "",
                page=str(front_pages + start + 1) if front_pages is not None else PLACEHOLDER_PAGE,
            )
            for number, start in whole.starts
        ]

    measure = _front_pdf(team, lines(None), total_pages=None, generated=generated)
    front_pages = len(PdfReader(io.BytesIO(measure)).pages)
    for _ in range(MAX_LAYOUT_PASSES):
        front = _front_pdf(
            team, lines(front_pages), total_pages=front_pages + whole.pages, generated=generated
        )
        measured = len(PdfReader(io.BytesIO(front)).pages)
        if measured == front_pages:
            break
        front_pages = measured
    else:
        raise PdfError("The log's table of contents did not settle on a page count.")
    sources = (open_() for open_ in [lambda: io.BytesIO(front), *(o for o, _ in pieces)])
    _join(sources, target, number_pages=True)


def _join(sources: Iterable[IO[bytes]], target: BinaryIO, *, number_pages: bool) -> None:
    try:
        pdf_join(sources, target, number_pages=number_pages)
    except PdfJoinError as exc:
        raise PdfError(f"The log's parts could not be joined: {exc}") from exc


def log_pdf(
    team: Team,
    decisions: Iterable[Decision] | None = None,
    *,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    target: BinaryIO | None = None,
) -> bytes | None:
    """The team's log (or ``decisions``, in number order) as one PDF, rendered in chunks
    of ``chunk_size`` records (CHUNK_SIZE by default) in this process's children;
    ``progress(done, total)`` after each chunk. Written into ``target`` when given (then
    None is returned), else returned. Rendered chunks wait in a temporary folder."""
    if target is None:
        buffer = io.BytesIO()
        log_pdf(team, decisions, chunk_size=chunk_size, progress=progress, target=buffer)
        return buffer.getvalue()
    if decisions is None:
        decisions = Decision.objects.filter(team=team)
    pks = [pk for pk, _ in sorted(((d.pk, d.number) for d in decisions), key=lambda r: r[1])]
    generated = timezone.now()

    def step(done: int) -> None:
        if progress is not None:
            progress(done, len(pks))

    with tempfile.TemporaryDirectory(prefix="archway-log-pdf-") as folder:
        rendered = _render_chunks(
            team, pks, Path(folder), chunk_size=chunk_size, generated=generated, progress=step
        )
        pieces = [(_opener(path), piece) for path, piece in rendered]
        log_pdf_assemble(team, pieces, target, generated=generated)
    return None


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def log_pdf_time_limit(count: int, *, chunk_size: int | None = None) -> float:
    """Seconds a whole-log PDF job may take: every chunk's render limit, the renders of
    the contents, the join, and as much again for drawing and Markdown. It grows with the
    log, so a big log is never cut off by a fixed limit."""
    return 2 * log_pdf_render_limit(count, chunk_size=chunk_size) + log_pdf_assemble_limit(count)


def log_pdf_render_limit(count: int, *, chunk_size: int | None = None) -> float:
    """Seconds the render limits of ``count`` records' chunks add up to."""
    size = max(1, chunk_size or CHUNK_SIZE)
    full, rest = divmod(count, size)
    return full * log_timeout(size) + (log_timeout(rest) if rest else 0.0)


def log_pdf_assemble_limit(count: int) -> float:
    """Seconds for the front matter (measured, then rendered at most MAX_LAYOUT_PASSES
    times) and the join of ``count`` records."""
    return (1 + MAX_LAYOUT_PASSES) * FRONT_TIMEOUT_S + JOIN_TIME_PER_RECORD_S * count
