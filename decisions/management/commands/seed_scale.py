"""manage.py seed_scale --use-cases N --adrs M --team SLUG: a team at company size."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from decisions.scale import TeamExists, seed_scale

MAX_USE_CASES = 50_000
MAX_ADRS = 50_000


class Command(BaseCommand):
    help = (
        "Create a new team with N use cases (varied, realistic answers) and M decision "
        "records drafted from them, through the app's own services. Refuses an existing team."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001 - argparse parser
        parser.add_argument("--team", required=True, help="Slug of the new team.")
        parser.add_argument("--use-cases", type=int, required=True, dest="use_cases")
        parser.add_argument("--adrs", type=int, default=0)

    def handle(self, *args, team: str, use_cases: int, adrs: int, **options) -> None:
        if not 0 <= use_cases <= MAX_USE_CASES:
            raise CommandError(f"--use-cases must be 0 to {MAX_USE_CASES:,}.", returncode=2)
        if not 0 <= adrs <= MAX_ADRS:
            raise CommandError(f"--adrs must be 0 to {MAX_ADRS:,}.", returncode=2)
        if adrs and not use_cases:
            raise CommandError("--adrs needs at least one use case to draft from.", returncode=2)
        started = time.monotonic()

        def progress(what: str, done: int, total: int) -> None:
            elapsed = time.monotonic() - started
            self.stderr.write(f"{what}: {done:,} of {total:,} ({elapsed:.0f} s)")

        try:
            made = seed_scale(slug=team, use_cases=use_cases, adrs=adrs, progress=progress)
        except TeamExists as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(
            f"Team {made.slug}: {use_cases:,} use cases and {adrs:,} decision records "
            f"in {time.monotonic() - started:.0f} s. Facilitator: {made.slug}-owner "
            "(no password; give one with manage.py changepassword)."
        )
