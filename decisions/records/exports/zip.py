"""The whole decision log as a zip: ``docs/decisions/NNNN-slug.md`` (MADR 4), an
``index.md`` and the diagrams as SVG, ready to unpack into a repository.

Entries carry a fixed timestamp, so the same log always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from typing import BinaryIO

from decisions.models import Decision, Team
from decisions.records.exports.madr import one_line, to_madr
from decisions.records.selectors import decision_diagram_svgs

FOLDER = "docs/decisions"
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
# Records whose diagrams are looked up (one query) and drawn (concurrently) together.
DIAGRAM_BATCH = 100


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


def _write(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, text.encode())


def log_zip(team: Team, decisions: Iterable[Decision]) -> bytes:
    buffer = io.BytesIO()
    write_log_zip(buffer, team, decisions)
    return buffer.getvalue()


def write_log_zip(
    target: BinaryIO,
    team: Team,
    decisions: Iterable[Decision],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The zip into ``target`` (a file opened for writing); diagrams are drawn a batch at
    a time, concurrently, and reused from the store (``decision_diagram_svgs``);
    ``progress(done, total)`` after each batch."""
    decisions = sorted(decisions, key=lambda d: d.number)
    diagrams: set[int] = set()
    with zipfile.ZipFile(target, "w") as archive:
        for start in range(0, len(decisions), DIAGRAM_BATCH):
            batch = decisions[start : start + DIAGRAM_BATCH]
            for decision, svg in zip(batch, decision_diagram_svgs(decisions=batch), strict=True):
                _write(archive, f"{FOLDER}/{decision.filename}", to_madr(decision))
                if svg:
                    diagrams.add(decision.number)
                    _write(archive, f"{FOLDER}/diagrams/{decision.filename[:-3]}.svg", svg)
            if progress is not None:
                progress(start + len(batch), len(decisions))
        _write(archive, f"{FOLDER}/index.md", index_markdown(team, decisions, diagrams))
