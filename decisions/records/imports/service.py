"""Bring existing ADRs into a team: a zip (web) or a folder (command line).

All or nothing: every file is parsed and every number checked before the first row is
written, and the writes run in one transaction, so a bad file leaves the team as it was.
Numbers from file names are kept; files without one (log4brains names files by date)
get the next free numbers in name order. Supersede links are resolved by file name or
ADR number once every record exists.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from decisions.models import Decision, DecisionChange, DecisionStatus, Team
from decisions.records.imports.parse import ParsedAdr, ParseError, parse_adr, reference_key
from decisions.records.services import decision_create, pattern_for_option

MAX_FILES = 2000
MAX_FILE_BYTES = 1_000_000
MAX_TOTAL_BYTES = 50_000_000
SKIP_NAMES = {"readme.md", "index.md", "template.md", "adr-template.md", "_sidebar.md"}


class ImportProblem(Exception):
    """Bad input; the message names the team, the number or the file."""


@dataclass
class ImportResult:
    created: list[Decision] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def _wanted(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1].lower() if parts else ""
    if not name.endswith(".md") or name in SKIP_NAMES:
        return False
    return not any(part.startswith((".", "_")) or part == "__MACOSX" for part in parts)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblem(f"{name}: not UTF-8 text.") from None


def files_from_zip(data: bytes) -> dict[str, str]:
    """{path inside the zip: text} for the ADR files, read in memory with size limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportProblem("The upload is not a zip file.") from None
    infos = [i for i in archive.infolist() if not i.is_dir() and _wanted(i.filename)]
    if len(infos) > MAX_FILES:
        raise ImportProblem(f"The zip holds {len(infos)} ADR files; the limit is {MAX_FILES}.")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise ImportProblem("The zip's ADR files are larger than 50 MB in total.")
    files: dict[str, str] = {}
    for info in infos:
        if info.file_size > MAX_FILE_BYTES:
            raise ImportProblem(f"{info.filename}: larger than 1 MB.")
        if info.flag_bits & 0x1:
            raise ImportProblem(f"{info.filename}: encrypted.")
        with archive.open(info) as handle:
            # Read at most the limit + 1 byte: the header's size may lie.
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ImportProblem(f"{info.filename}: larger than 1 MB.")
        files[info.filename] = _decode(raw, info.filename)
    return files


def files_from_folder(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise ImportProblem(f"{folder}: not a folder.")
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*.md")):
        relative = path.relative_to(folder).as_posix()
        if not _wanted(relative):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImportProblem(f"{path}: cannot be read ({exc.strerror}).") from None
        if len(data) > MAX_FILE_BYTES:
            raise ImportProblem(f"{path}: larger than 1 MB.")
        files[relative] = _decode(data, str(path))
    return files


def parse_files(files: dict[str, str]) -> list[ParsedAdr]:
    parsed = []
    for path in sorted(files):
        try:
            parsed.append(parse_adr(files[path], path))
        except ParseError as exc:
            raise ImportProblem(str(exc)) from None
    return parsed


def import_adrs(*, team: Team, files: dict[str, str], by: AbstractBaseUser | None) -> ImportResult:
    """Create the records in ``files`` ({path: text}) in ``team``, or nothing at all."""
    if not files:
        raise ImportProblem("No ADR files found (expected NNNN-title.md Markdown files).")
    parsed = parse_files(files)
    with transaction.atomic():
        # Lock the team so numbering cannot race a person drafting an ADR right now.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        _assign_numbers(team, parsed)
        result = ImportResult()
        by_file: dict[str, Decision] = {}
        by_number: dict[str, Decision] = {}
        for adr in sorted(parsed, key=lambda a: a.number or 0):
            data = dict(adr.fields)
            data["title"] = adr.title
            data["chosen_pattern"] = pattern_for_option(data.get("chosen_option", ""))
            for option in data["considered_options"]:
                option["pattern"] = pattern_for_option(option["name"])
            if adr.date:
                data["date"] = adr.date
            decision = decision_create(
                team=team,
                data=data,
                by=by,
                status=adr.status,
                number=adr.number,
                action="imported",
                note=f"Imported from {adr.filename} ({adr.format}).",
            )
            result.created.append(decision)
            result.formats[adr.format] = result.formats.get(adr.format, 0) + 1
            by_file[PurePosixPath(adr.filename).name] = decision
            by_number[str(decision.number)] = decision
        _link(parsed, by_file, by_number, result)
    return result


def _assign_numbers(team: Team, parsed: list[ParsedAdr]) -> None:
    existing = set(Decision.objects.filter(team=team).values_list("number", flat=True))
    seen: dict[int, str] = {}
    for adr in parsed:
        if adr.number is None:
            continue
        if adr.number < 1:
            raise ImportProblem(f"{adr.filename}: ADR numbers start at 1.")
        if adr.number in existing:
            raise ImportProblem(
                f"{adr.filename}: team {team.slug} already has ADR-{adr.number:04d}; "
                "nothing was imported."
            )
        if adr.number in seen:
            raise ImportProblem(
                f"{adr.filename} and {seen[adr.number]} both claim ADR-{adr.number:04d}."
            )
        seen[adr.number] = adr.filename
    highest = max([*existing, *seen, 0])
    floor = Decision.objects.filter(team=team).aggregate(n=Max("number"))["n"] or 0
    next_number = max(highest, floor) + 1
    for adr in sorted((a for a in parsed if a.number is None), key=lambda a: a.filename):
        adr.number = next_number
        next_number += 1


def _link(
    parsed: list[ParsedAdr],
    by_file: dict[str, Decision],
    by_number: dict[str, Decision],
    result: ImportResult,
) -> None:
    def find(reference: str) -> Decision | None:
        kind, key = reference_key(reference)
        return (by_file if kind == "file" else by_number).get(key)

    for adr in parsed:
        this = by_file[PurePosixPath(adr.filename).name]
        pairs = [(this, ref, "by") for ref in adr.superseded_by]
        pairs += [(this, ref, "of") for ref in adr.supersedes]
        for decision, reference, direction in pairs:
            other = find(reference)
            if other is None or other == decision:
                result.unresolved.append(f"{adr.filename}: {reference.strip()}")
                continue
            old, new = (decision, other) if direction == "by" else (other, decision)
            if old.superseded_by_id == new.pk:
                continue
            old.superseded_by = new
            old.save(update_fields=["superseded_by", "updated"])
            DecisionChange.objects.create(
                decision=old,
                by=None,
                action="imported",
                diff={"superseded_by": [None, new.label]},
                note=f"Superseded by {new.label} (from the imported files).",
            )
            if old.status == DecisionStatus.ACCEPTED and new.status == DecisionStatus.ACCEPTED:
                # Some tools only write the link on the new record.
                old.status = DecisionStatus.SUPERSEDED
                old.save(update_fields=["status", "updated"])
