"""manage.py import_adrs --team SLUG [--dry-run] [--renumber] [--status S] PATH

PATH: a folder or a .zip of ADR files. ``--dry-run`` prints what each file would become
(number, title, status, links, images) or why it is skipped, and stores nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from decisions.management.commands._adr_common import team_or_fail
from decisions.models import DecisionStatus
from decisions.records.imports.service import (
    ImportPlan,
    ImportProblem,
    files_from_path,
    import_adrs,
    plan_import,
)


class Command(BaseCommand):
    help = (
        "Import ADRs (adr-tools/Nygard, MADR 2-4, log4brains) from a folder or zip. "
        "All or nothing: on any problem nothing is imported and the exit status is 2."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be imported; store nothing."
        )
        parser.add_argument(
            "--renumber",
            action="store_true",
            help="Number the incoming records after the team's existing ones.",
        )
        parser.add_argument(
            "--status",
            default=DecisionStatus.ACCEPTED,
            choices=DecisionStatus.values,
            help="Status for records whose file has none (default: accepted).",
        )
        parser.add_argument("path", help="A folder of Markdown files or a .zip of them.")

    def handle(self, *args, team: str, path: str, dry_run: bool, renumber: bool, **options) -> None:
        found = team_or_fail(team)
        choices = {"missing_status": options["status"], "renumber": renumber}
        try:
            files = files_from_path(path)
            if dry_run:
                plan = plan_import(team=found, files=files, **choices)
                self._show(plan)
                if plan.problems:
                    raise ImportProblem(" ".join(plan.problems))
                self.stdout.write(f"Dry run: {len(plan.records)} records; nothing was stored.")
                return
            result = import_adrs(team=found, files=files, by=None, **choices)
        except ImportProblem as exc:
            raise CommandError(
                f"{exc} (team {found.slug}; nothing was imported)", returncode=2
            ) from None
        formats = ", ".join(f"{n} {fmt}" for fmt, n in sorted(result.formats.items()))
        self.stdout.write(f"Imported {len(result.created)} records into {found.slug} ({formats}).")
        for line in result.plan.statuses_chosen:
            self.stdout.write(f"Status: {line}")
        for old, new in result.plan.renumbered.items():
            self.stdout.write(f"Renumbered: {old:04d} -> {new:04d}")
        for warning in result.plan.warnings:
            self.stderr.write(f"Warning: {warning}")

    def _show(self, plan: ImportPlan) -> None:
        for record in plan.records:
            line = f"{record.adr.filename} -> {record.label} {record.adr.title!r} [{record.status}]"
            if record.source_number is not None and record.source_number != record.number:
                line += f" (was {record.source_number:04d})"
            if record.link_lines():
                line += f"; {', '.join(record.link_lines())}"
            if record.images:
                line += f"; images: {', '.join(image.name for image in record.images)}"
            if record.status_note:
                line += f"; {record.status_note}"
            self.stdout.write(line)
        for path, why in plan.skipped:
            self.stdout.write(f"{path}: skipped, {why}")
        for warning in plan.warnings:
            self.stdout.write(f"Warning: {warning}")
        for problem in plan.problems:
            self.stdout.write(f"Problem: {problem}")
