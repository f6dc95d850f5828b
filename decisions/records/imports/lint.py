"""Checks on a decision log, for a repository's CI (``manage.py lint_adrs``) and the log page.

Pure: records in, problems out. A record is described by what its file says
(``LintRecord``), so the same checks run on a folder of Markdown and on a team's rows:

* two records with one number;
* a link (supersede or typed) that points at no record;
* a supersede link written at one end only (MADR, adr-tools and Archway write both);
* a record marked superseded that names no replacement;
* a record without a date or a title;
* an accepted record that amends or depends on a superseded or rejected record, as if
  that one were still in force ("relates to" claims nothing about the other record).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from decisions.records.imports.parse import ParsedAdr, reference_key

# Typed links that rely on their target being in force.
RELYING_LINKS = {"amends": "amends", "depends-on": "depends on"}


@dataclass
class LintRecord:
    name: str  # the file name, or the label for a stored record
    number: int | None
    title: str
    date: datetime.date | None
    status: str
    superseded_by: list[str] = field(default_factory=list)  # references as written
    supersedes: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, direction, ref)

    @classmethod
    def from_parsed(cls, adr: ParsedAdr) -> LintRecord:
        return cls(
            name=adr.filename,
            number=adr.number,
            title=adr.title,
            date=adr.date,
            status=adr.status,
            superseded_by=list(adr.superseded_by),
            supersedes=list(adr.supersedes),
            links=list(adr.links),
        )


def lint_records(records: Iterable[LintRecord]) -> list[str]:
    """Every problem found, one sentence each, naming the record."""
    records = list(records)
    problems: list[str] = []
    by_file = {PurePosixPath(r.name).name: r for r in records}
    by_number: dict[str, LintRecord] = {}
    for record in records:
        if record.number is None:
            continue
        other = by_number.get(str(record.number))
        if other is not None:
            problems.append(
                f"{record.name}: number {record.number:04d} is also used by {other.name}."
            )
        else:
            by_number[str(record.number)] = record

    def find(reference: str) -> LintRecord | None:
        kind, key = reference_key(reference)
        return (by_file if kind == "file" else by_number).get(key)

    for record in records:
        if not record.title.strip():
            problems.append(f"{record.name}: no title.")
        if record.date is None:
            problems.append(f"{record.name}: no date.")
        if record.status == "superseded" and not record.superseded_by:
            problems.append(f"{record.name}: superseded, but it names no replacement.")
        for reference in record.superseded_by:
            new = find(reference)
            if new is None:
                problems.append(
                    f"{record.name}: superseded by {reference.strip()}, which is no record."
                )
            elif not any(find(ref) is record for ref in new.supersedes):
                problems.append(
                    f"{record.name}: superseded by {new.name}, but {new.name} does not say it "
                    "supersedes it (a link at one end only)."
                )
        for reference in record.supersedes:
            old = find(reference)
            if old is None:
                problems.append(
                    f"{record.name}: supersedes {reference.strip()}, which is no record."
                )
            elif not any(find(ref) is record for ref in old.superseded_by):
                problems.append(
                    f"{record.name}: supersedes {old.name}, but {old.name} does not say it is "
                    "superseded by it (a link at one end only)."
                )
        for kind, direction, reference in record.links:
            other = find(reference)
            if other is None:
                problems.append(f"{record.name}: link to {reference.strip()} points at no record.")
            elif (
                direction == "out"
                and kind in RELYING_LINKS
                and record.status == "accepted"
                and other.status in ("superseded", "rejected")
            ):
                problems.append(
                    f"{record.name}: accepted, but {RELYING_LINKS[kind]} {other.name}, "
                    f"which is {other.status}."
                )
    return problems
