"""The load engine against real HTTP servers on 127.0.0.1 (short, bounded runs)."""

from __future__ import annotations

import ast
import asyncio
import pathlib
import time

import pytest

from probes.egress import guard_target, parse_allow_list
from probes.engine import (
    LoadPlan,
    Progress,
    Target,
    decode_histogram,
    fetch_ownership_token,
    merge_outcomes,
    run_probe,
    run_probe_sync,
    summarize,
    summary,
)
from tests.probes.servers import Behaviour, TestServer, free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOOPBACK = parse_allow_list("127.0.0.0/8")


def local(port: int, **kwargs) -> Target:
    return Target(address="127.0.0.1", port=port, host="127.0.0.1", scheme="http", **kwargs)


def open_plan(rate: float, duration_s: float = 1.0, concurrency: int = 4, **kw) -> LoadPlan:
    return LoadPlan("open", rate=rate, concurrency=concurrency, duration_s=duration_s, **kw)


@pytest.mark.parametrize("model", ["open", "closed"])
def test_a_fixed_20ms_delay_is_measured_as_20ms(model: str) -> None:
    with TestServer(Behaviour(delay_ms=20)) as server:
        plan = LoadPlan(model, rate=50, concurrency=4, duration_s=1.5, warmup_s=0.3)
        outcome = run_probe_sync(local(server.port), plan)
    s = summary(outcome)
    assert s["errors"] == {}
    assert s["requests"] > 40
    assert 20.0 <= s["p50_ms"] <= 26.0
    assert outcome.latency_label == ("corrected" if model == "open" else "closed-loop")


def test_a_stall_shows_in_the_corrected_histogram_only() -> None:
    # One connection, 200 requests/s: while the server stalls for 300 ms the
    # schedule keeps running and ~60 requests queue behind the stall.
    with TestServer(Behaviour(delay_ms=1, stall_after_s=1.2, stall_ms=300)) as server:
        plan = open_plan(200, duration_s=3.0, concurrency=1, warmup_s=0.2)
        outcome = run_probe_sync(local(server.port), plan)
    corrected = summarize(outcome.histogram)
    service = summarize(outcome.service_histogram)
    assert outcome.errors == {}
    assert corrected["p99_ms"] >= 150
    assert corrected["p99_ms"] > 3 * service["p99_ms"]
    # Dozens of requests queued behind the stall: the corrected histogram shows
    # them all; service time saw only the one or two in flight when it began.
    assert slower_than(outcome.histogram, 150) >= 20
    assert slower_than(outcome.service_histogram, 150) <= 3
    assert service["max_ms"] >= 250


def slower_than(encoded: str, ms: float) -> int:
    h = decode_histogram(encoded)
    return sum(
        item.count_at_value_iterated_to
        for item in h.get_recorded_iterator()
        if item.value_iterated_to >= ms * 1000
    )


def test_the_generator_connects_to_the_address_and_sends_the_host_name() -> None:
    with TestServer() as server:
        target = Target(
            address="127.0.0.1",
            port=server.port,
            host="api.example.test",
            scheme="http",
            path="/v1/items?limit=5",
        )
        run_probe_sync(target, open_plan(40, duration_s=0.3, warmup_s=0))
    assert server.hits > 5
    assert set(server.host_headers) == {f"api.example.test:{server.port}"}
    assert set(server.paths) == {"/v1/items?limit=5"}


@pytest.mark.parametrize(
    ("behaviour", "error_class"),
    [
        (Behaviour(status=404), "4xx"),
        (Behaviour(status=503), "5xx"),
        (Behaviour(malformed=True), "protocol"),
        (Behaviour(hang_up=True), "read"),
        (Behaviour(delay_ms=400), "timeout"),
    ],
)
def test_errors_are_classified(behaviour: Behaviour, error_class: str) -> None:
    with TestServer(behaviour) as server:
        target = local(server.port, timeout_s=0.15)
        outcome = run_probe_sync(target, open_plan(40, duration_s=0.5, warmup_s=0))
    assert set(outcome.errors) == {error_class}
    assert outcome.errors[error_class] == outcome.requests == 20


def test_a_refused_connection_is_a_connect_error() -> None:
    outcome = run_probe_sync(local(free_port()), open_plan(40, duration_s=0.5, warmup_s=0))
    assert outcome.errors == {"connect": 20}
    assert outcome.completed == 0


def test_a_share_of_500s_is_counted_with_status_codes() -> None:
    with TestServer(Behaviour(error_every=4)) as server:
        outcome = run_probe_sync(local(server.port), open_plan(80, duration_s=0.5, warmup_s=0))
    assert outcome.status_counts == {"200": 30, "500": 10}
    assert outcome.errors == {"5xx": 10}


def test_an_unexpected_status_counts_as_an_error_of_its_class() -> None:
    with TestServer(Behaviour(status=200)) as server:
        target = local(server.port, expected_status=204)
        outcome = run_probe_sync(target, open_plan(40, duration_s=0.25, warmup_s=0))
    assert outcome.errors == {"2xx": 10}


@pytest.mark.parametrize("redirect_to", ["http://169.254.169.254/latest/meta-data/", "canary"])
def test_redirects_are_recorded_and_never_followed(redirect_to: str) -> None:
    with TestServer() as canary:
        location = f"{canary.url}/stolen" if redirect_to == "canary" else redirect_to
        with TestServer(Behaviour(redirect_to=location)) as server:
            outcome = run_probe_sync(local(server.port), open_plan(40, duration_s=0.3, warmup_s=0))
    assert outcome.redirects == [{"status": 302, "location": location}]
    assert outcome.status_counts == {"302": 12}
    assert canary.hits == 0
    assert canary.connections == 0


def test_the_aiohttp_client_measures_the_same_things() -> None:
    with TestServer(Behaviour(delay_ms=10, error_every=5)) as server:
        outcome = run_probe_sync(
            local(server.port), open_plan(50, duration_s=0.6, warmup_s=0.1), client="aiohttp"
        )
        redirect_server_hits = server.hits
    assert outcome.requests == 30
    assert outcome.errors == {"5xx": 6}
    assert 10.0 <= summarize(outcome.histogram)["p50_ms"] <= 20.0
    assert redirect_server_hits >= 30


def test_should_stop_ends_the_run_early_and_keeps_what_was_measured() -> None:
    progress: list[Progress] = []
    with TestServer(Behaviour(delay_ms=2)) as server:
        started = time.monotonic()

        def stop() -> bool:
            return time.monotonic() - started > 0.5

        plan = open_plan(100, duration_s=30, warmup_s=0)
        outcome = run_probe_sync(
            local(server.port), plan, should_stop=stop, on_progress=progress.append
        )
    assert outcome.stopped
    assert 20 < outcome.requests < 300  # the plan was 3,000
    assert outcome.duration_s < 2
    assert outcome.completed == outcome.requests


def test_progress_is_reported_at_least_twice_a_second() -> None:
    progress: list[Progress] = []
    with TestServer(Behaviour(delay_ms=5)) as server:
        run_probe_sync(
            local(server.port),
            open_plan(50, duration_s=1.0, warmup_s=0),
            on_progress=progress.append,
        )
    assert len(progress) >= 3
    assert progress[-1].sent >= progress[0].sent
    assert 4.0 <= progress[-1].p50_ms <= 15.0
    assert all(0 <= p.percent <= 100 for p in progress)


def test_two_half_rate_shards_merge_into_one_full_rate_run() -> None:
    with TestServer(Behaviour(delay_ms=3)) as server:
        target = local(server.port)
        plan = open_plan(120, duration_s=1.0, concurrency=8, warmup_s=0.2)

        async def sharded():
            return await asyncio.gather(
                run_probe(target, plan.for_shard(0, 2)), run_probe(target, plan.for_shard(1, 2))
            )

        shards = asyncio.run(sharded())
        whole = run_probe_sync(target, plan)
    merged = merge_outcomes(shards)
    assert [s.requests for s in shards] == [60, 60]
    assert merged.requests == whole.requests == 120
    assert merged.completed == sum(s.completed for s in shards)
    assert summarize(merged.histogram)["count"] == 120
    assert merged.rps == pytest.approx(whole.rps, rel=0.1)


def test_the_warmup_is_not_measured() -> None:
    with TestServer() as server:
        outcome = run_probe_sync(local(server.port), open_plan(50, duration_s=0.4, warmup_s=0.4))
    assert outcome.requests == 20
    assert server.hits >= 40


def test_the_outcome_reports_the_generator_self_check() -> None:
    with TestServer() as server:
        outcome = run_probe_sync(local(server.port), open_plan(100, duration_s=0.5, warmup_s=0))
    assert outcome.send_lag_p99_ms >= 0
    assert 0 <= outcome.late_fraction <= 1
    assert outcome.generator_cpu >= 0
    assert outcome.valid == (outcome.invalid_reason == "")


def test_an_ownership_token_is_fetched_from_the_guarded_address() -> None:
    with TestServer(Behaviour(body=b"archway-token-123\n")) as server:
        guarded = guard_target(f"{server.url}/api", allow=LOOPBACK)
        token = asyncio.run(fetch_ownership_token(guarded, timeout=2))
    assert token == "archway-token-123"
    assert server.paths == ["/.well-known/archway-probe.txt"]


def test_an_ownership_redirect_is_not_followed() -> None:
    with TestServer() as canary, TestServer(Behaviour(redirect_to=canary.url)) as server:
        guarded = guard_target(server.url, allow=LOOPBACK)
        assert asyncio.run(fetch_ownership_token(guarded, timeout=2)) is None
    assert canary.hits == 0


@pytest.mark.parametrize("path", ["probes/engine", "probes/egress.py", "probes/credentials.py"])
def test_the_pure_cores_import_neither_django_nor_celery(path: str) -> None:
    root = ROOT / path
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    for file in files:
        tree = ast.parse(file.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"django", "celery"}, f"{file}: {name}"
