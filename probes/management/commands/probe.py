"""``manage.py probe URL (--rate R | --concurrency C) --duration S``: a probe without Celery.

Every probe scheme: http(s), grpc(s) (``--body`` is the JSON request), and the
brokers amqp(s), redis(s), nats / tls (``?jetstream=1``), mqtt(s), whose
summary adds ``lost``, ``duplicates``, ``reordered`` and ``confirm_p99_ms``. A
broker login in the URL is used for the run and never printed.

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
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from probes.egress import SCHEME_KINDS, GuardedTarget, split_credentials
from probes.engine import (
    BrokerError,
    BrokerTarget,
    GrpcSetupError,
    LoadPlan,
    Target,
    merge_outcomes,
    run_broker_probe_sync,
    run_probe_sync,
    summary,
)
from probes.services.preconditions import (
    GivenTokenProof,
    ProbeRefused,
    check_caps,
    checked_target,
)


@dataclass(frozen=True)
class OperatorConfirmation:
    """Broker and gRPC hosts serve no token file: the operator confirms with a flag."""

    confirmed: bool

    def proven(self, guarded: GuardedTarget) -> bool:
        return self.confirmed

    def problem(self, guarded: GuardedTarget) -> str:
        return (
            f"{guarded.host} ({guarded.address}) is a public host: confirm that you operate it "
            "with --confirm-operated (brokers and gRPC servers cannot serve the token file)"
        )


def _refuse(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Probe an HTTP, gRPC or broker endpoint through the egress guard and print latency, "
        "errors and (brokers) deliveries."
    )

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
        parser.add_argument("--body", default="", help="request body (gRPC: the JSON request)")
        parser.add_argument(
            "--confirm-operated",
            action="store_true",
            help="broker or gRPC on a public host: you confirm that you operate it",
        )
        parser.add_argument("--format", choices=("json", "text"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        plan = self._plan(options)
        url = options["url"]
        scheme = url.split(":", 1)[0].lower()
        kind = SCHEME_KINDS.get(scheme, "http")
        credentials = None
        if kind not in ("http", "grpc"):
            url, credentials = split_credentials(url)
        proof = (
            GivenTokenProof(options["ownership_token"])
            if kind == "http"
            else OperatorConfirmation(options["confirm_operated"])
        )
        try:
            guarded = checked_target(url, load=plan, proof=proof)
        except ProbeRefused as exc:
            raise _refuse(f"refused: {exc.reason}") from None
        body = options["body"].encode("utf-8")
        if kind == "http":
            target: Target | BrokerTarget = Target.from_guarded(
                guarded,
                method=options["method"],
                body=body,
                expected_status=options["expect"],
                timeout_s=options["timeout"],
            )
        elif kind == "grpc":
            target = Target.from_guarded(guarded, body=body, timeout_s=options["timeout"])
        else:
            target = BrokerTarget.from_guarded(guarded, credentials, timeout_s=options["timeout"])
        try:
            outcome = self._run(target, plan)
        except (BrokerError, GrpcSetupError, OSError) as exc:
            raise _refuse(f"could not probe: {exc}") from None

        result = summary(outcome)
        if options["format"] == "json":
            self.stdout.write(json.dumps(result))
        else:
            width = max(map(len, result))
            for key, value in result.items():
                self.stdout.write(f"{key:<{width}}  {value if value != '' else '-'}")

    def _run(self, target: Target | BrokerTarget, plan: LoadPlan) -> Any:
        run_id = "cli" + uuid.uuid4().hex[:10]

        def one(shard_plan: LoadPlan) -> Any:
            if isinstance(target, BrokerTarget):
                return run_broker_probe_sync(target, shard_plan, run_id)
            return run_probe_sync(target, shard_plan)

        if plan.shards == 1:
            return one(plan)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=plan.shards, mp_context=ctx) as pool:
            # The engine itself is the target: spawned children import only
            # the pure engine, never this Django command.
            if isinstance(target, BrokerTarget):
                futures = [
                    pool.submit(
                        run_broker_probe_sync, target, plan.for_shard(k, plan.shards), run_id
                    )
                    for k in range(plan.shards)
                ]
            else:
                futures = [
                    pool.submit(run_probe_sync, target, plan.for_shard(k, plan.shards))
                    for k in range(plan.shards)
                ]
            return merge_outcomes(f.result() for f in futures)

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
