"""The whole decision log as a zip: ``docs/decisions/NNNN-slug.md`` (MADR 4), an
``index.md``, the diagrams as SVG (each record also carries its diagram as a Mermaid
block) and the images stored with the records, beside them under the names their
Markdown uses, ready to unpack into a repository.

Entries carry a fixed timestamp, so the same log always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from typing import IO, BinaryIO

from django.db.models import QuerySet

from decisions.models import Decision, Team
from decisions.records.exports.madr import assumptions_with_last_check, one_line, to_madr
from decisions.records.exports.nygard import to_nygard
from decisions.records.selectors import decision_diagrams_with_mermaid

FOLDER = "docs/decisions"
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
# Records whose diagrams are looked up (one query) and drawn (concurrently) together.
DIAGRAM_BATCH = 100


def log_zip_records(decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    """``decisions`` in number order, with what ``write_log_zip`` reads of each fetched in
    a few queries rather than a few per record."""
    return (
        decisions.select_related("team", "superseded_by", "use_case", "snapshot")
        .prefetch_related(
            "supersedes",
            "attachments",
            "links_out__target",
            "links_in__source",
            assumptions_with_last_check(),
        )
        .order_by("number")
    )


def index_markdown(team: Team, decisions: list[Decision], diagrams: set[int]) -> str:
    lines = [
        f"# Architecture decision records: {one_line(team.name)}",
        "",
        "| Number | Title | Status | Date | Diagram |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in decisions:
        title = one_line(d.title).replace("|", "\\|")
        diagram = f"[SVG](diagrams/{d.filename[:-3]}.svg)" if d.number in diagrams else ""
        lines.append(
            f"| {d.label} | [{title}]({d.filename}) | {d.status} | {d.date.isoformat()} | "
            f"{diagram} |"
        )
    return "\n".join(lines) + "\n"


def _write(archive: zipfile.ZipFile, name: str, data: str | bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data.encode() if isinstance(data, str) else data)


def log_zip(team: Team, decisions: Iterable[Decision], *, style: str = "madr") -> bytes:
    """The log as a zip; ``style`` "nygard" writes adr-tools records instead of MADR 4."""
    buffer = io.BytesIO()
    write_log_zip(buffer, team, decisions, style=style)
    return buffer.getvalue()


def write_log_zip(
    target: BinaryIO,
    team: Team,
    decisions: Iterable[Decision],
    *,
    style: str = "madr",
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The zip into ``target`` (a file opened for writing). Diagrams are looked up in the
    store and drawn a batch at a time, concurrently (``decision_diagrams_with_mermaid``);
    ``progress(done, total)`` after each batch."""
    decisions = sorted(decisions, key=lambda d: d.number)
    with zipfile.ZipFile(target, "w") as archive:
        diagrams = _write_records(archive, decisions, style=style, progress=progress)
        _write(archive, f"{FOLDER}/index.md", index_markdown(team, decisions, diagrams))


def write_log_zip_part(
    target: BinaryIO,
    decisions: Iterable[Decision],
    *,
    style: str = "madr",
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[int, bool]]:
    """A part of the log zip built by one worker: the records' files as ``write_log_zip``
    writes them, without the index, into ``target``; each record's number and whether it
    has a diagram, in order. ``merge_log_zips`` makes the whole zip of the parts."""
    decisions = sorted(decisions, key=lambda d: d.number)
    with zipfile.ZipFile(target, "w") as archive:
        diagrams = _write_records(archive, decisions, style=style, progress=progress)
    return [(d.number, d.number in diagrams) for d in decisions]


def merge_log_zips(
    target: BinaryIO,
    team: Team,
    parts: Iterable[IO[bytes]],
    decisions: list[Decision],
    diagrams: set[int],
) -> None:
    """The parts' files in order (an image that several parts carry is written once, as
    in one worker's zip), then the index of ``decisions`` (in number order; ``diagrams``
    the numbers of those with a diagram): the same bytes one worker would have written."""
    written: set[str] = set()
    with zipfile.ZipFile(target, "w") as archive:
        for part in parts:
            with part, zipfile.ZipFile(part) as files:
                for info in files.infolist():
                    if info.filename not in written:
                        written.add(info.filename)
                        _write(archive, info.filename, files.read(info))
        _write(archive, f"{FOLDER}/index.md", index_markdown(team, decisions, diagrams))


def _write_records(
    archive: zipfile.ZipFile,
    decisions: list[Decision],
    *,
    style: str,
    progress: Callable[[int, int], None] | None,
) -> set[int]:
    """Each record's Markdown, diagram and images; the numbers of those with a diagram."""
    write_record = to_nygard if style == "nygard" else to_madr
    diagrams: set[int] = set()
    written: set[str] = set()
    for start in range(0, len(decisions), DIAGRAM_BATCH):
        batch = decisions[start : start + DIAGRAM_BATCH]
        drawn = decision_diagrams_with_mermaid(decisions=batch)
        for decision, (svg, mermaid) in zip(batch, drawn, strict=True):
            svg_path = f"diagrams/{decision.filename[:-3]}.svg" if svg else None
            text = write_record(decision, svg_path=svg_path, mermaid=mermaid)
            _write(archive, f"{FOLDER}/{decision.filename}", text)
            if svg:
                diagrams.add(decision.number)
                _write(archive, f"{FOLDER}/{svg_path}", svg)
            for attachment in decision.attachments.all():
                # Records of one log that show the same image share one file.
                if attachment.name not in written:
                    written.add(attachment.name)
                    with attachment.file.open("rb") as handle:
                        _write(archive, f"{FOLDER}/{attachment.name}", handle.read())
        if progress is not None:
            progress(start + len(batch), len(decisions))
    return diagrams
