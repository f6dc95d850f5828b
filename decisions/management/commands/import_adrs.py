"""manage.py import_adrs --team SLUG PATH   (PATH: a folder or a .zip of ADR files)"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from decisions.management.commands._adr_common import team_or_fail
from decisions.records.imports.service import (
    ImportProblem,
    files_from_folder,
    files_from_zip,
    import_adrs,
)


class Command(BaseCommand):
    help = (
        "Import ADRs (adr-tools/Nygard, MADR 2-4, log4brains) from a folder or zip. "
        "All or nothing: on any problem nothing is imported and the exit status is 2."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("path", help="A folder of Markdown files or a .zip of them.")

    def handle(self, *args, team: str, path: str, **options) -> None:
        found = team_or_fail(team)
        source = Path(path)
        try:
            if source.is_file() and source.suffix == ".zip":
                files = files_from_zip(source.read_bytes())
            elif source.exists():
                files = files_from_folder(source)
            else:
                raise ImportProblem(f"{path}: no such file or folder.")
            result = import_adrs(team=found, files=files, by=None)
        except ImportProblem as exc:
            raise CommandError(
                f"{exc} (team {found.slug}; nothing was imported)", returncode=2
            ) from None
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror}).", returncode=2) from None
        formats = ", ".join(f"{n} {fmt}" for fmt, n in sorted(result.formats.items()))
        self.stdout.write(f"Imported {len(result.created)} records into {found.slug} ({formats}).")
        for link in result.unresolved:
            self.stderr.write(f"Link not found, left out: {link}")
