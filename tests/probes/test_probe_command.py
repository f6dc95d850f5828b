"""``manage.py probe`` as a subprocess against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.probes.outcomes import SUMMARY_KEYS
from tests.probes.servers import Behaviour, TestServer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def probe(*args: str, allow: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHWAY_PROBE_")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if allow is not None:
        env["ARCHWAY_PROBE_ALLOW"] = allow
    return subprocess.run(
        [sys.executable, "manage.py", "probe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_probes_an_allowed_local_server_and_prints_json() -> None:
    with TestServer(Behaviour(delay_ms=10, error_every=10)) as server:
        result = probe(
            f"{server.url}/orders",
            "--rate", "50", "--duration", "1", "--warmup", "0.2", "--format", "json",
            allow="127.0.0.0/8",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["requests"] == 50
    assert summary["errors"] == {"5xx": 5}
    assert 10 <= summary["p50_ms"] <= 20
    assert server.paths[0] == "/orders"


def test_it_splits_a_closed_probe_across_shards() -> None:
    with TestServer(Behaviour(delay_ms=5)) as server:
        result = probe(
            server.url,
            "--concurrency", "2", "--duration", "0.5", "--warmup", "0", "--shards", "2",
            allow="127.0.0.1",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.strip().splitlines())
    assert set(lines) == SUMMARY_KEYS
    assert int(lines["requests"]) > 20


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1:9/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
    ],
)
def test_a_refused_target_exits_2_with_the_reason(url: str, reason: str) -> None:
    result = probe(url, "--rate", "1", "--duration", "1", allow=None)
    assert result.returncode == 2
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_metadata_is_refused_even_when_everything_is_allowed() -> None:
    result = probe("http://169.254.169.254/", "--rate", "1", "--duration", "1", allow="0.0.0.0/0")
    assert result.returncode == 2
    assert "cloud metadata address" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "1000000", "--duration", "1"), "ARCHWAY_PROBE_MAX_RATE"),
        (("--concurrency", "100000", "--duration", "1"), "ARCHWAY_PROBE_MAX_CONCURRENCY"),
        (("--rate", "1", "--duration", "100000"), "ARCHWAY_PROBE_MAX_DURATION_S"),
        (("--rate", "1", "--duration", "1", "--shards", "1000"), "ARCHWAY_PROBE_MAX_SHARDS"),
    ],
)
def test_an_argument_over_a_cap_exits_2(args: tuple[str, ...], message: str) -> None:
    with TestServer() as server:
        result = probe(server.url, *args, allow="127.0.0.0/8")
        assert server.hits == 0
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
