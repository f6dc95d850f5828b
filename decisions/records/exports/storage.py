"""Finished exports and their parts, through Django's storage API (docs/operations.md).

A worker writes a file locally (a temporary file, so a big export never sits in memory
as one bytes object) and hands it to ``default_storage``: the file system under
MEDIA_ROOT by default, an S3-compatible store when workers run on several machines. Web
processes read it back through the same API, so they need no shared disk. Names are
``exports/<team>-<kind>-<job>.<ext>``, unique per job; a job row names its file only once
the file is saved, so a half-written file is never offered for download. The parts of a
job built by several workers wait under ``exports/parts/`` until the merge deletes them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, BinaryIO, cast

from django.core.files import File
from django.core.files.storage import default_storage

EXPORT_DIR = "exports"
# Parts are kept in memory up to this size, then spill to a temporary file on disk.
SPOOL_BYTES = 8 * 1024 * 1024


def export_name(*, team_slug: str, kind: str, job_id: int, ext: str) -> str:
    return f"{EXPORT_DIR}/{team_slug}-{kind}-{job_id}.{ext}"


def export_part_name(*, team_slug: str, kind: str, job_id: int, index: int, ext: str) -> str:
    """Where one part of a job in parts waits for the merge (deleted after it)."""
    return f"{EXPORT_DIR}/parts/{team_slug}-{kind}-{job_id}-part{index + 1}.{ext}"


def export_save(name: str, write: Callable[[BinaryIO], object]) -> str:
    """Run ``write(file)`` into a temporary file and save it under ``name``; the name the
    storage actually used (it never overwrites)."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as scratch:
        write(cast(BinaryIO, scratch))
        scratch.seek(0)
        return default_storage.save(name, File(scratch, name=name))


def export_save_bytes(name: str, data: bytes) -> str:
    return export_save(name, lambda target: target.write(data))


def export_open(name: str) -> IO[bytes] | None:
    """The saved export for reading, or None when the name is not an export or is gone."""
    if not name.startswith(f"{EXPORT_DIR}/") or ".." in name.split("/"):
        return None
    if not default_storage.exists(name):
        return None
    return default_storage.open(name, "rb")


def export_delete(name: str) -> None:
    if name.startswith(f"{EXPORT_DIR}/"):
        default_storage.delete(name)
