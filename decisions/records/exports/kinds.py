"""The kinds of whole-log export (the PDF and the Markdown zip): what they are called, what
file they make, how long a job may take, and how many records one part of a big one holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from decisions.records.exports.log_pdf import log_pdf_assemble_limit, log_pdf_time_limit

LOG_PDF = "log-pdf"
LOG_ZIP = "log-zip"
# Share of a job's progress bar for its records; the contents, joining and saving get the rest.
RECORDS_SHARE = 95
# The zip: a dot run per new diagram (each with its own limit) and the Markdown...
ZIP_TIME_BASE_S = 120.0
ZIP_TIME_PER_RECORD_S = 1.0
# ...and, for a job in parts, reading the parts' files again and writing them into one.
ZIP_MERGE_BASE_S = 60.0
ZIP_MERGE_PER_RECORD_S = 0.05


@dataclass(frozen=True)
class ExportKind:
    label: str
    extension: str
    content_type: str
    time_limit: Callable[[int], float]
    # Seconds to merge the parts of a job of so many records.
    merge_limit: Callable[[int], float]
    # The setting that says how many records a part holds (see ``export_part_size``).
    part_setting: str


EXPORT_KINDS = {
    LOG_PDF: ExportKind(
        "Decision log PDF",
        "pdf",
        "application/pdf",
        log_pdf_time_limit,
        log_pdf_assemble_limit,
        "EXPORT_PART_RECORDS_PDF",
    ),
    LOG_ZIP: ExportKind(
        "Decision log zip (Markdown)",
        "zip",
        "application/zip",
        lambda count: ZIP_TIME_BASE_S + ZIP_TIME_PER_RECORD_S * count,
        lambda count: ZIP_MERGE_BASE_S + ZIP_MERGE_PER_RECORD_S * count,
        "EXPORT_PART_RECORDS_ZIP",
    ),
}


def export_time_limit(kind: str, count: int) -> float:
    """A one-task job's hard time limit in seconds: never below the worker's default."""
    return max(float(settings.CELERY_TASK_TIME_LIMIT), EXPORT_KINDS[kind].time_limit(count))


def export_part_time_limit(kind: str, records: int, total: int) -> float:
    """A part's hard time limit: its own records, plus the merge of the whole job's
    ``total``, which the last part to finish runs; never below the worker's default."""
    found = EXPORT_KINDS[kind]
    limit = found.time_limit(records) + found.merge_limit(total)
    return max(float(settings.CELERY_TASK_TIME_LIMIT), limit)


def export_part_size(kind: str, total: int) -> int | None:
    """How many records each part of a ``total``-record export holds, or None when one
    task builds it all: a log up to the kind's part size (its setting) is one task;
    above, parts of that size, made larger so that there are at most EXPORT_MAX_PARTS."""
    size = max(1, int(getattr(settings, EXPORT_KINDS[kind].part_setting)))
    if total <= size:
        return None
    return max(size, math.ceil(total / max(1, int(settings.EXPORT_MAX_PARTS))))
