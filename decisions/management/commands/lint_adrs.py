"""manage.py lint_adrs PATH   (PATH: a folder or a .zip of ADR files)

Exit status: 0 when the log is clean, 1 when a problem is found (each printed on its own
line, naming the file), 2 when PATH cannot be read. Meant for a repository's CI.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from decisions.records.imports.lint import LintRecord, lint_records
from decisions.records.imports.parse import ParseError, is_record_name, parse_adr
from decisions.records.imports.service import SKIP_NAMES, ImportProblem, files_from_path


class Command(BaseCommand):
    help = (
        "Check a folder (or zip) of ADRs: duplicate numbers, broken links, one-way or "
        "dangling supersede links, records without a date or title, accepted records that "
        "link to superseded ones. Exit 1 on problems, 2 on unreadable input."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("path", help="A folder of Markdown files or a .zip of them.")

    def handle(self, *args, path: str, **options) -> None:
        try:
            files = files_from_path(path)
        except ImportProblem as exc:
            raise CommandError(str(exc), returncode=2) from None
        records, problems = [], []
        for name in sorted(files.texts):
            if Path(name).name.lower() in SKIP_NAMES or not is_record_name(name):
                continue
            try:
                records.append(LintRecord.from_parsed(parse_adr(files.texts[name], name)))
            except ParseError as exc:
                problems.append(str(exc))
        if not records and not problems:
            raise CommandError(f"{path}: no ADR files found (NNNN-title.md).", returncode=2)
        problems += lint_records(records)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            raise CommandError(f"{count} in {len(records)} records.", returncode=1)
        self.stdout.write(f"{len(records)} records, no problems.")
