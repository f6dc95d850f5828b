"""manage.py export_log --team SLUG -o FILE.zip (or FILE.pdf for the whole log as PDF)"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from decisions.management.commands._adr_common import team_or_fail, write_or_fail
from decisions.models import Decision
from decisions.pdf import PdfError
from decisions.records.exports.log_pdf import log_pdf
from decisions.records.exports.zip import log_zip


class Command(BaseCommand):
    help = "Export a team's decision log: a zip of MADR files (.zip) or one PDF (.pdf)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("-o", "--output", required=True, help="FILE.zip or FILE.pdf")

    def handle(self, *args, team: str, output: str, **options) -> None:
        found = team_or_fail(team)
        decisions = list(
            Decision.objects.filter(team=found)
            .select_related("team", "superseded_by", "use_case", "snapshot")
            .prefetch_related("supersedes")
            .order_by("number")
        )
        if output.endswith(".pdf"):
            try:
                data = log_pdf(found, decisions)
            except PdfError as exc:
                raise CommandError(f"{found.slug}: {exc}", returncode=1) from None
        elif output.endswith(".zip"):
            data = log_zip(found, decisions)
        else:
            raise CommandError(f"{output}: the file name must end in .zip or .pdf.", returncode=2)
        assert data is not None  # log_pdf returns the bytes when given no target
        write_or_fail(output, data)
        self.stderr.write(f"Wrote {len(decisions)} records of {found.slug} to {output}.")
