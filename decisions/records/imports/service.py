"""Bring existing ADRs into a team: a zip (web) or a folder (command line).

Two steps. ``plan_import`` reads every file and says what each becomes (number, title,
status, links, images) or why it is skipped, storing nothing: the dry run and the import
page's preview show that plan. ``import_adrs`` stores a plan, all or nothing: the writes
run in one transaction, so a bad file leaves the team as it was.

* Files that are not records (no number or date id in the name, templates, index,
  README) are skipped and listed. Number 0000 is a number like any other.
* Numbers from file names are kept; files without one (log4brains names files by date)
  get the next free numbers in name order. A clash with the team's records is refused,
  naming the numbers, unless the person chose to renumber: then every incoming record
  goes after the existing ones and supersede and typed links follow the new numbers.
* A record without a status gets the status the person chose (default accepted). Only
  a facilitator's import (or the command line) may store a settled status; a member's
  import stores proposals and lists which records it changed.
* Images a record shows are read from beside it, checked (``images``), stored with the
  record and listed when missing.

Reading a zip is bounded: the number of entries, each entry's size, the total size and
the compression ratio are checked before anything is inflated, and every read stops at
the limit whatever the zip's header claims; a damaged zip is refused naming the entry.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction

from decisions.models import (
    Decision,
    DecisionAttachment,
    DecisionChange,
    DecisionLink,
    DecisionLinkKind,
    DecisionStatus,
    Team,
)
from decisions.records.imports.images import ImageProblem, checked_image, content_type_for
from decisions.records.imports.parse import (
    ParsedAdr,
    ParseError,
    is_record_name,
    parse_adr,
    reference_key,
)
from decisions.records.services import decision_create, pattern_for_option

MAX_FILES = 2000  # entries in a zip or files in a folder, of any kind
MAX_FILE_BYTES = 1_000_000  # one Markdown file
MAX_IMAGE_BYTES = 5_000_000
MAX_TOTAL_BYTES = 50_000_000
MAX_IMAGE_NAME = 200  # characters of an image's path, as the record links it
MAX_RATIO = 200  # inflated size / compressed size, per entry
SKIP_NAMES = {"readme.md", "index.md", "template.md", "adr-template.md", "_sidebar.md"}
S = DecisionStatus
SETTLED = set(S.values) - {S.PROPOSED}


class ImportProblem(Exception):
    """Bad input; the message names the team, the number or the file."""


@dataclass
class ImportSource:
    """What a zip or folder holds: Markdown texts, image bytes, and everything else."""

    texts: dict[str, str] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


@dataclass
class PlannedImage:
    name: str  # relative to the record's folder, as its Markdown links it
    data: bytes
    content_type: str


@dataclass
class PlannedRecord:
    adr: ParsedAdr
    source_number: int | None
    number: int = 0
    status: str = ""
    status_note: str = ""
    superseded_by: PlannedRecord | None = None
    links: list[tuple[str, PlannedRecord]] = field(default_factory=list)  # (kind, target)
    images: list[PlannedImage] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"ADR-{self.number:04d}"

    def link_lines(self) -> list[str]:
        lines = []
        if self.superseded_by:
            lines.append(f"superseded by {self.superseded_by.label}")
        for kind, target in self.links:
            lines.append(f"{DecisionLinkKind(kind).label.lower()} {target.label}")
        return lines


@dataclass
class ImportPlan:
    records: list[PlannedRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    renumbered: dict[int, int] = field(default_factory=dict)  # number in the file -> stored
    clashes: list[int] = field(default_factory=list)

    @property
    def statuses_chosen(self) -> list[str]:
        return [
            f"{r.label} ({r.adr.filename}): {r.status_note}" for r in self.records if r.status_note
        ]


@dataclass
class ImportResult:
    plan: ImportPlan
    created: list[Decision] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


# --- reading files ---------------------------------------------------------------------


def _kind(path: str) -> str:
    """ "markdown", "image" or the reason a file is skipped."""
    parts = PurePosixPath(path).parts
    name = parts[-1].lower() if parts else ""
    if any(part.startswith((".", "_")) or part == "__MACOSX" for part in parts):
        return "hidden file or folder"
    if name.endswith(".md"):
        return "markdown"
    if content_type_for(name):
        return "image"
    return "not Markdown or an image"


def _size(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit} bytes"


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise ImportProblem(f"{name}: holds a NUL byte (code 0), which is not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblem(f"{name}: not UTF-8 text.") from None


def _safe_path(path: str) -> str | None:
    """The entry's path inside the import, or None when it would leave it (../, /abs)."""
    if "\x00" in path or "\\" in path:
        return None
    normal = posixpath.normpath(path)
    if normal.startswith(("/", "../")) or normal in ("..", ".") or ":" in normal.split("/")[0]:
        return None
    return normal


def files_from_zip(data: bytes) -> ImportSource:
    """The zip's records and images, read in memory with limits (see the module doc)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except NotImplementedError as exc:  # a zip format version zipfile does not read
        raise ImportProblem(f"The upload is a zip Archway cannot read ({exc}).") from None
    except Exception:  # zipfile raises many types on a damaged directory; all mean the same
        raise ImportProblem("The upload is not a zip file (or the zip is damaged).") from None
    if len(infos) > MAX_FILES:
        raise ImportProblem(f"The zip holds {len(infos)} entries; the limit is {MAX_FILES}.")
    source = ImportSource()
    wanted: list[tuple[zipfile.ZipInfo, str, str]] = []
    for info in infos:
        if not info.filename:
            raise ImportProblem("The zip has an entry without a name; the zip is damaged.")
        if info.is_dir():
            continue
        path = _safe_path(info.filename)
        if path is None:
            raise ImportProblem(f"{info.filename[:200]}: a path outside the zip's folder.")
        kind = _kind(path)
        if kind not in ("markdown", "image"):
            source.skipped.append((path, kind))
            continue
        limit = MAX_FILE_BYTES if kind == "markdown" else MAX_IMAGE_BYTES
        if info.file_size > limit:
            raise ImportProblem(f"{path}: larger than the limit of {_size(limit)}.")
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise ImportProblem(
                f"{path}: compressed more than {MAX_RATIO} to 1; refused as a zip bomb."
            )
        if info.flag_bits & 0x1:
            raise ImportProblem(f"{path}: encrypted.")
        wanted.append((info, path, kind))
    if sum(info.file_size for info, _, _ in wanted) > MAX_TOTAL_BYTES:
        raise ImportProblem(f"The zip's files are larger than {_size(MAX_TOTAL_BYTES)} in total.")
    total = 0
    for info, path, kind in wanted:
        limit = MAX_FILE_BYTES if kind == "markdown" else MAX_IMAGE_BYTES
        raw = _read_entry(archive, info, path, limit)
        total += len(raw)
        if total > MAX_TOTAL_BYTES:
            raise ImportProblem(
                f"The zip's files are larger than {_size(MAX_TOTAL_BYTES)} in total."
            )
        if kind == "markdown":
            source.texts[path] = _decode(raw, path)
        else:
            source.images[path] = raw
    return source


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limit: int) -> bytes:
    try:
        with archive.open(info) as handle:
            # Read at most the limit + 1 byte: the header's size may lie.
            raw = handle.read(limit + 1)
    except NotImplementedError:
        raise ImportProblem(f"{path}: compressed with a method Archway cannot read.") from None
    except Exception as exc:  # zipfile and its decompressors raise many types on bad data
        raise ImportProblem(f"{path}: damaged in the zip ({type(exc).__name__}: {exc}).") from None
    if len(raw) > limit:
        raise ImportProblem(f"{path}: larger than the limit of {_size(limit)}.")
    return raw


def files_from_path(path: str) -> ImportSource:
    """A .zip file or a folder named on the command line."""
    source = Path(path)
    try:
        if source.is_file() and source.suffix.lower() != ".zip":
            raise ImportProblem(f"{path}: not a folder or a .zip file.")
        if source.is_file():
            return files_from_zip(source.read_bytes())
        if source.is_dir():
            return files_from_folder(source)
    except OSError as exc:
        raise ImportProblem(f"{path}: cannot be read ({exc.strerror}).") from None
    raise ImportProblem(f"{path}: no such file or folder.")


def files_from_folder(folder: Path) -> ImportSource:
    if not folder.is_dir():
        raise ImportProblem(f"{folder}: not a folder.")
    source = ImportSource()
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    if len(paths) > MAX_FILES:
        raise ImportProblem(f"{folder} holds {len(paths)} files; the limit is {MAX_FILES}.")
    for path in paths:
        relative = path.relative_to(folder).as_posix()
        kind = _kind(relative)
        if kind not in ("markdown", "image"):
            source.skipped.append((relative, kind))
            continue
        limit = MAX_FILE_BYTES if kind == "markdown" else MAX_IMAGE_BYTES
        try:
            if path.stat().st_size > limit:
                raise ImportProblem(f"{path}: larger than the limit of {_size(limit)}.")
            data = path.read_bytes()
        except OSError as exc:
            raise ImportProblem(f"{path}: cannot be read ({exc.strerror}).") from None
        if kind == "markdown":
            source.texts[relative] = _decode(data, str(path))
        else:
            source.images[relative] = data
    return source


def _as_source(files: ImportSource | dict[str, str]) -> ImportSource:
    return files if isinstance(files, ImportSource) else ImportSource(texts=dict(files))


# --- planning ---------------------------------------------------------------------------


def plan_import(
    *,
    team: Team,
    files: ImportSource | dict[str, str],
    missing_status: str = S.ACCEPTED,
    may_settle: bool = True,
    renumber: bool = False,
) -> ImportPlan:
    """What importing ``files`` into ``team`` would do; nothing is stored."""
    if missing_status not in S.values:
        raise ImportProblem(f"“{missing_status}” is not an ADR status.")
    source = _as_source(files)
    plan = ImportPlan(skipped=list(source.skipped))
    for path in sorted(source.texts):
        name = PurePosixPath(path).name.lower()
        if name in SKIP_NAMES:
            plan.skipped.append((path, "a template, index or README, not a record"))
            continue
        if not is_record_name(path):
            plan.skipped.append((path, "no number or date id in its name (0001-title.md)"))
            continue
        try:
            adr = parse_adr(source.texts[path], path)
        except ParseError as exc:
            plan.problems.append(str(exc))
            continue
        plan.records.append(PlannedRecord(adr=adr, source_number=adr.number))
    if not plan.records and not plan.problems:
        plan.problems.append("No ADR files found (expected NNNN-title.md Markdown files).")
    _plan_numbers(team, plan, renumber)
    _plan_statuses(plan, missing_status, may_settle)
    _plan_links(plan)
    _plan_images(plan, source)
    used = {image.name for r in plan.records for image in r.images}
    for path in sorted(source.images):
        owner_dirs = {posixpath.dirname(r.adr.filename) for r in plan.records}
        relative = {posixpath.relpath(path, d or ".") for d in owner_dirs}
        if not relative & used:
            plan.skipped.append((path, "an image no record shows"))
    return plan


def _plan_numbers(team: Team, plan: ImportPlan, renumber: bool) -> None:
    existing = set(Decision.objects.filter(team=team).values_list("number", flat=True))
    seen: dict[int, str] = {}
    for record in plan.records:
        number = record.source_number
        if number is None:
            continue
        if number in seen:
            plan.problems.append(
                f"{record.adr.filename} and {seen[number]} both claim ADR-{number:04d}."
            )
        seen[number] = record.adr.filename
    highest = max(existing, default=0)
    ordered = sorted(
        plan.records,
        key=lambda r: (r.source_number is None, r.source_number or 0, r.adr.filename),
    )
    if renumber and existing:
        for offset, record in enumerate(ordered, 1):
            record.number = highest + offset
            if record.source_number is not None:
                plan.renumbered[record.source_number] = record.number
        return
    plan.clashes = sorted(set(seen) & existing)
    if plan.clashes:
        numbers = ", ".join(f"ADR-{n:04d}" for n in plan.clashes)
        plan.problems.append(
            f"team {team.slug} already has {numbers}; renumber the incoming records after "
            f"ADR-{highest:04d} (--renumber, or the choice in the preview), or nothing is imported."
        )
    next_number = max([highest, *seen]) + 1
    for record in ordered:
        if record.source_number is not None:
            record.number = record.source_number
        else:
            record.number = next_number
            next_number += 1


def _plan_statuses(plan: ImportPlan, missing_status: str, may_settle: bool) -> None:
    for record in plan.records:
        status = record.adr.status or missing_status
        notes = [] if record.adr.status else [f"no status in the file: {status} chosen"]
        if status in SETTLED and not may_settle:
            notes.append(
                f"stored as proposed, not {status}: only a facilitator's import settles records"
            )
            status = S.PROPOSED
        record.status, record.status_note = status, "; ".join(notes)


def _plan_links(plan: ImportPlan) -> None:
    by_file = {PurePosixPath(r.adr.filename).name: r for r in plan.records}
    by_number = {str(r.source_number): r for r in plan.records if r.source_number is not None}
    for record in plan.records:
        by_number.setdefault(str(record.number), record)

    def find(record: PlannedRecord, reference: str) -> PlannedRecord | None:
        kind, key = reference_key(reference)
        other = (by_file if kind == "file" else by_number).get(key)
        if other is None or other is record:
            plan.warnings.append(
                f"{record.adr.filename}: link not found, left out: {reference.strip()}"
            )
            return None
        return other

    for record in plan.records:
        adr = record.adr
        pairs = [(ref, "by") for ref in adr.superseded_by] + [(ref, "of") for ref in adr.supersedes]
        for reference, direction in pairs:
            other = find(record, reference)
            if other is None:
                continue
            old, new = (record, other) if direction == "by" else (other, record)
            if _replaced_by(new, old):
                plan.warnings.append(
                    f"{old.adr.filename}: superseded by {new.label}, which is itself replaced "
                    f"by {old.label}; the link is left out."
                )
                continue
            if old.superseded_by is not None and old.superseded_by is not new:
                plan.warnings.append(
                    f"{old.adr.filename}: superseded by both {old.superseded_by.label} and "
                    f"{new.label}; {old.superseded_by.label} kept."
                )
                continue
            old.superseded_by = new
        for kind, direction, reference in adr.links:
            other = find(record, reference)
            if other is None:
                continue
            source, target = (record, other) if direction == "out" else (other, record)
            if kind == DecisionLinkKind.RELATES_TO and (kind, source) in target.links:
                continue  # "relates to" reads the same from both ends: one link
            if (kind, target) not in source.links:
                source.links.append((kind, target))
    for record in plan.records:
        successor = record.superseded_by
        if successor is not None and record.status == successor.status == S.ACCEPTED:
            # Some tools only write the link on the new record.
            record.status = S.SUPERSEDED
    for record in plan.records:
        for kind, target in record.links:
            if target.status in (S.SUPERSEDED, S.REJECTED):
                plan.warnings.append(
                    f"{record.label} {DecisionLinkKind(kind).label.lower()} {target.label}, "
                    f"which is {target.status}."
                )


def _replaced_by(record: PlannedRecord | None, other: PlannedRecord) -> bool:
    """Whether following ``record``'s supersede links reaches ``other`` (a cycle)."""
    seen = set()
    while record is not None and id(record) not in seen:
        if record is other:
            return True
        seen.add(id(record))
        record = record.superseded_by
    return False


def _plan_images(plan: ImportPlan, source: ImportSource) -> None:
    for record in plan.records:
        folder = posixpath.dirname(record.adr.filename)
        for target in record.adr.images:
            name = posixpath.normpath(target.split("#")[0].split("?")[0])
            where = f"{record.adr.filename}: image {target[:200]}"
            if name.startswith("../") or name in ("..", ".") or "\\" in name:
                plan.warnings.append(f"{where} is outside the record's folder; left out.")
                continue
            if len(name) > MAX_IMAGE_NAME:
                plan.warnings.append(f"{where}: a name longer than {MAX_IMAGE_NAME}; left out.")
                continue
            data = source.images.get(posixpath.normpath(posixpath.join(folder, name)))
            if data is None:
                plan.warnings.append(f"{where} is not in the files; left out.")
                continue
            try:
                stored, content_type = checked_image(name, data)
            except ImageProblem as exc:
                plan.warnings.append(f"{where}: {exc}; left out.")
                continue
            record.images.append(PlannedImage(name, stored, content_type))


# --- storing ----------------------------------------------------------------------------


def import_adrs(
    *,
    team: Team,
    files: ImportSource | dict[str, str],
    by: User | None,
    missing_status: str = S.ACCEPTED,
    may_settle: bool = True,
    renumber: bool = False,
) -> ImportResult:
    """Create the records in ``files`` in ``team``, or nothing at all (``ImportProblem``)."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            # Lock the team so numbering cannot race a person drafting an ADR right now.
            Team.objects.select_for_update().filter(pk=team.pk).first()
            plan = plan_import(
                team=team,
                files=files,
                missing_status=missing_status,
                may_settle=may_settle,
                renumber=renumber,
            )
            if plan.problems:
                raise ImportProblem(" ".join(plan.problems[:10]) + _more(plan.problems, 10))
            return _store(team, plan, by, stored)
    except BaseException:
        for name in stored:  # files are not part of the transaction
            DecisionAttachment.file.field.storage.delete(name)
        raise


def _more(items: list[str], shown: int) -> str:
    return f" (and {len(items) - shown} more problems)" if len(items) > shown else ""


def _store(team: Team, plan: ImportPlan, by: User | None, stored: list[str]) -> ImportResult:
    result = ImportResult(plan=plan)
    created: dict[int, Decision] = {}
    for record in sorted(plan.records, key=lambda r: r.number):
        adr = record.adr
        data = dict(adr.fields)
        data["title"] = adr.title
        data["chosen_pattern"] = pattern_for_option(data.get("chosen_option", ""))
        data["considered_options"] = [
            {**option, "pattern": pattern_for_option(option["name"])}
            for option in data["considered_options"]
        ]
        if adr.date:
            data["date"] = adr.date
        note = f"Imported from {adr.filename} ({adr.format})."
        if record.number != record.source_number and record.source_number is not None:
            note += f" Renumbered from {record.source_number:04d}."
        if record.status_note:
            note += f" Status: {record.status_note}."
        decision = decision_create(
            team=team,
            data=data,
            by=by,
            status=record.status,
            number=record.number,
            action="imported",
            note=note,
        )
        for image in record.images:
            attachment = DecisionAttachment(
                decision=decision,
                name=image.name,
                content_type=image.content_type,
                size=len(image.data),
            )
            attachment.file.save(image.name, ContentFile(image.data), save=False)
            stored.append(attachment.file.name)
            attachment.save()
        created[id(record)] = decision
        result.created.append(decision)
        result.formats[adr.format] = result.formats.get(adr.format, 0) + 1
    for record in plan.records:
        decision = created[id(record)]
        if record.superseded_by is not None:
            new = created[id(record.superseded_by)]
            decision.superseded_by = new
            decision.save(update_fields=["superseded_by", "updated"])
            DecisionChange.objects.create(
                decision=decision,
                by=None,
                action="imported",
                diff={"superseded_by": [None, new.label]},
                note=f"Superseded by {new.label} (from the imported files).",
            )
        for kind, target in record.links:
            DecisionLink.objects.create(source=decision, target=created[id(target)], kind=kind)
    result.unresolved = [w for w in plan.warnings if "link not found" in w]
    return result
