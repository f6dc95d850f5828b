"""The whole decision log as a zip: ``docs/decisions/NNNN-slug.md`` (MADR 4), an
``index.md`` and the diagrams as SVG, ready to unpack into a repository.

Entries carry a fixed timestamp, so the same log always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

from decisions.models import Decision, Team
from decisions.records.exports.madr import one_line, to_madr
from decisions.records.selectors import decision_diagram_svg

FOLDER = "docs/decisions"
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


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
    decisions = sorted(decisions, key=lambda d: d.number)
    buffer = io.BytesIO()
    diagrams: set[int] = set()
    with zipfile.ZipFile(buffer, "w") as archive:
        for decision in decisions:
            _write(archive, f"{FOLDER}/{decision.filename}", to_madr(decision))
            svg = decision_diagram_svg(decision=decision)
            if svg:
                diagrams.add(decision.number)
                _write(archive, f"{FOLDER}/diagrams/{decision.filename[:-3]}.svg", svg)
        _write(archive, f"{FOLDER}/index.md", index_markdown(team, decisions, diagrams))
    return buffer.getvalue()
