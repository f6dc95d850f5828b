"""manage.py export_adr --team SLUG --number N --format md|nygard|pdf -o FILE"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from decisions.management.commands._adr_common import (
    decision_or_fail,
    team_or_fail,
    write_or_fail,
)
from decisions.pdf import PdfError
from decisions.records.exports.madr import to_madr
from decisions.records.exports.nygard import to_nygard
from decisions.records.exports.pdf import adr_pdf


class Command(BaseCommand):
    help = "Export one ADR as MADR 4 Markdown, Nygard Markdown or PDF."

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--number", required=True, type=int, help="The ADR number.")
        parser.add_argument("--format", choices=("md", "nygard", "pdf"), default="md")
        parser.add_argument("-o", "--output", required=True, help="File to write ('-': stdout).")

    def handle(self, *args, team: str, number: int, format: str, output: str, **options) -> None:
        decision = decision_or_fail(team_or_fail(team), number)
        if format == "pdf":
            try:
                data = adr_pdf(decision)
            except PdfError as exc:
                raise CommandError(f"{decision.label}: {exc}", returncode=1) from None
        else:
            data = (to_nygard(decision) if format == "nygard" else to_madr(decision)).encode()
        if output == "-":
            self.stdout.write(data.decode(errors="replace"), ending="")
            return
        write_or_fail(output, data)
        self.stderr.write(f"Wrote {decision.label} ({format}) to {output}.")
