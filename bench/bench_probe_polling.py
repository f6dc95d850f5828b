"""Benchmark the probe run page's poll: ``python bench/bench_probe_polling.py`` from the repo root.

Every open run page polls its ``run-body`` fragment twice a second, so the
fragment's cost decides how many people can watch probes at once. Measured in
this process through Django's test client (the full middleware stack, sessions
and the database, no network), on a fresh SQLite file under var/:

* the poll while the run is active (the common case, 2 per second per viewer);
* the poll that finds the run finished, which renders the results with both
  SVG plots (once per viewer per run);
* a bare view through the same middleware, as the floor.

Prints a Markdown section ``## Probe progress polling``.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.timing import percentile, timings_ms  # noqa: E402

DB_FILE = ROOT / "var" / "bench-probes.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB_FILE}"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

REPEATS = 300
WARM_UP = 20
TARGET_ACTIVE_P95_MS = 10.0  # a 2-core laptop then serves ~100 viewers' polls per core
TARGET_FINISHED_P95_MS = 100.0


def prepare() -> tuple[object, str, str]:
    """A fresh database: a team, a viewer, an active run and a finished one with a real outcome."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from decisions.models import Role
    from probes.engine import ProbeOutcome, summary
    from probes.models import Endpoint, JobStatus, ProbeRun, ProbeShard
    from tests.factories import add_member, make_team, make_user
    from tests.probes.outcomes import measured_outcome

    team = make_team("acme", "Acme Shop")
    user = make_user("watcher")
    add_member(team, user, Role.VIEWER)
    endpoint = Endpoint.objects.create(team=team, name="Search", url="http://127.0.0.1:9/")
    active = ProbeRun.objects.create(
        team=team,
        endpoint=endpoint,
        url=endpoint.url,
        rate=200,
        status=JobStatus.RUNNING,
        progress=42.0,
        sent=1680,
        completed=1675,
        errors=3,
        p50_ms=4.2,
        p99_ms=18.0,
    )
    outcome = measured_outcome()
    finished = ProbeRun.objects.create(
        team=team,
        endpoint=endpoint,
        url=endpoint.url,
        rate=60,
        status=JobStatus.SUCCEEDED,
        outcome=outcome,
        summary=summary(ProbeOutcome.from_dict(outcome)),
        valid=outcome["valid"],
        finished_at=timezone.now(),
    )
    ProbeShard.objects.create(run=finished, index=0, status=JobStatus.SUCCEEDED, outcome=outcome)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client, active.get_absolute_url(), finished.get_absolute_url()


def main() -> None:
    client, active_url, finished_url = prepare()
    htmx = {"HTTP_HX_REQUEST": "true"}

    def poll_active() -> None:
        response = client.get(active_url, **htmx)
        assert response.status_code == 200, response.status_code

    def poll_finished() -> None:
        response = client.get(finished_url, **htmx)
        assert response.status_code == 286, response.status_code

    def bare() -> None:
        assert client.get("/bench/bare/").status_code == 200

    rows = [
        ("bare view (floor)", timings_ms(bare, REPEATS, WARM_UP), None),
        ("poll, run active", timings_ms(poll_active, REPEATS, WARM_UP), TARGET_ACTIVE_P95_MS),
        (
            "poll, run finished (results + 2 SVG plots)",
            timings_ms(poll_finished, 100, WARM_UP),
            TARGET_FINISHED_P95_MS,
        ),
    ]
    floor = statistics.median(rows[0][1])
    print("## Probe progress polling\n")
    print(
        "The run page's `run-body` fragment, fetched as htmx does (every 500 ms per open "
        "page), through the full middleware stack and a SQLite database in one process "
        f"(Django test client, {REPEATS} requests after {WARM_UP} warm-up). "
        "The finished poll renders the results and both SVG plots once per viewer.\n"
    )
    print("| request | median ms | p95 ms | × bare median | target p95 ms | p95 / target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, values, target in rows:
        median = statistics.median(values)
        target_text = f"{target:g}" if target else "—"
        ratio = f"{percentile(values, 95) / target:.2f}" if target else "—"
        print(
            f"| {label} | {median:.2f} | {percentile(values, 95):.2f} | {median / floor:.1f} "
            f"| {target_text} | {ratio} |"
        )
    active_p95 = percentile(rows[1][1], 95)
    print(
        f"\nAt {active_p95:.1f} ms per poll (p95), one core answers about "
        f"{1000 / active_p95 / 2:.0f} open run pages polling twice a second."
    )


if __name__ == "__main__":
    main()
