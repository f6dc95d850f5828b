"""``manage.py probe URL (--rate R | --concurrency C) --duration S``: a probe without Celery.

Checks the caps, the egress guard (allow-list from ``settings.PROBE_ALLOW``) and,
for a public host, the ownership proof, through the same functions as the web
(``probes.services.preconditions``); runs the engine (``--shards N`` runs N engine processes with
the rate or connections split between them, merged exactly) and prints the
summary. A refused target or an argument over a cap exits with status 2.
"""

from __future__ import annotations

import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from probes.engine import LoadPlan, Target, merge_outcomes, run_probe_sync, summary
from probes.services.preconditions import (
    GivenTokenProof,
    ProbeRefused,
    check_caps,
    checked_target,
)


def _refuse(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Probe an HTTP endpoint through the egress guard and print latency and errors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        load = parser.add_mutually_exclusive_group(required=True)
        load.add_argument("--rate", type=float, help="open model: requests per second")
        load.add_argument("--concurrency", type=int, help="closed model: connections")
        parser.add_argument("--duration", type=float, required=True, help="seconds measured")
        parser.add_argument("--warmup", type=float, default=1.0, help="seconds not measured")
        parser.add_argument("--shards", type=int, default=1, help="parallel engine processes")
        parser.add_argument(
            "--connections",
            type=int,
            default=None,
            help="open model: connection pool size (default: sized from the rate)",
        )
        parser.add_argument("--method", default="GET")
        parser.add_argument("--timeout", type=float, default=2.0, help="per-request seconds")
        parser.add_argument("--expect", type=int, default=None, help="expected status code")
        parser.add_argument(
            "--ownership-token",
            default=None,
            help="for a public host: the token it serves at /.well-known/archway-probe.txt",
        )
        parser.add_argument("--format", choices=("json", "text"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        plan = self._plan(options)
        try:
            guarded = checked_target(
                options["url"], load=plan, proof=GivenTokenProof(options["ownership_token"])
            )
        except ProbeRefused as exc:
            raise _refuse(f"refused: {exc.reason}") from None
        target = Target.from_guarded(
            guarded,
            method=options["method"],
            expected_status=options["expect"],
            timeout_s=options["timeout"],
        )
        if plan.shards == 1:
            outcome = run_probe_sync(target, plan)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=plan.shards, mp_context=ctx) as pool:
                futures = [
                    # The engine itself is the target: spawned children import
                    # only the pure engine, never this Django command.
                    pool.submit(run_probe_sync, target, plan.for_shard(k, plan.shards))
                    for k in range(plan.shards)
                ]
                outcome = merge_outcomes(f.result() for f in futures)

        result = summary(outcome)
        if options["format"] == "json":
            self.stdout.write(json.dumps(result))
        else:
            width = max(map(len, result))
            for key, value in result.items():
                self.stdout.write(f"{key:<{width}}  {value if value != '' else '-'}")

    def _plan(self, options: dict[str, Any]) -> LoadPlan:
        duration, warmup, shards = options["duration"], options["warmup"], options["shards"]
        if duration is None or duration <= 0 or warmup < 0:
            raise _refuse("--duration must be > 0 and --warmup >= 0")
        rate, concurrency = options["rate"], options["concurrency"]
        if shards < 1 or (rate is not None and rate <= 0) or (rate is None and concurrency < 1):
            raise _refuse("--shards, --rate and --concurrency must be positive")
        try:
            check_caps(
                rate=rate,
                concurrency=concurrency or 1,
                duration_s=duration,
                warmup_s=warmup,
                shards=shards,
            )
        except ProbeRefused as exc:
            raise _refuse(exc.reason) from None
        max_conc = settings.PROBE_MAX_CONCURRENCY
        if rate is not None:
            # Little's law with a generous 100 ms latency, at least 2 per shard.
            pool = options["connections"] or min(max_conc, max(2 * shards, math.ceil(rate / 10)))
            if not 1 <= pool <= max_conc:
                raise _refuse(f"--connections must be between 1 and {max_conc}")
            return LoadPlan(
                "open", rate=rate, concurrency=pool, duration_s=duration, warmup_s=warmup,
                shards=shards,
            )  # fmt: skip
        return LoadPlan(
            "closed", concurrency=concurrency, duration_s=duration, warmup_s=warmup, shards=shards
        )
