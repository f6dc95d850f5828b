"""``manage.py recommend`` run as a real subprocess from the repository root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patterns.engine import RULE_PACK_VERSION

REPO = Path(__file__).resolve().parents[2]

CHECKOUT = {
    "name": "checkout",
    "caller": "browser",
    "consistency": "strong",
    "latency_p95_ms": 150,
    "latency_p99_ms": 300,
    "chain": [
        {"service": "inventory", "p50_ms": 20, "p99_ms": 80},
        {"service": "payment", "p50_ms": 60, "p99_ms": 250},
        {"service": "email", "p50_ms": 30, "p99_ms": 200, "critical": False},
    ],
    "consumers": 3,
}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "recommend", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def use_case_file(tmp_path: Path) -> Path:
    path = tmp_path / "checkout.json"
    path.write_text(json.dumps(CHECKOUT))
    return path


def test_json_output_is_the_full_recommendation(use_case_file: Path) -> None:
    result = run("--input", str(use_case_file), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"rule_pack", "options", "supporting", "risks", "chain_estimate"}
    assert data["options"][0]["pattern"] == "request-event"
    assert data["chain_estimate"]["within_budget"] is False


def test_json_is_the_default_and_stdin_works() -> None:
    result = run("--input", "-", stdin=json.dumps(CHECKOUT))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rule_pack"]["name"] == "archway-default"


def test_text_output_is_a_readable_report(use_case_file: Path) -> None:
    result = run("--input", str(use_case_file), "--format", "text")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Recommendation for checkout")
    for heading in ("Ranked options", "Chain estimate", "Supporting decisions", "Risks"):
        assert heading in out
    assert "1. Request-event hybrid" in out
    assert "OVER BUDGET" in out
    assert "[high] chain-misses-budget" in out
    assert "before the answer: validate request -> inventory -> payment" in out


def test_a_team_rule_pack_is_layered_over_the_default(use_case_file: Path, tmp_path: Path) -> None:
    rules = tmp_path / "team.yaml"
    rules.write_text(
        "name: acme\nversion: '3'\nrules:\n"
        "  - id: acme-loves-orchestrators\n    when: 'true'\n"
        "    effects: {saga-orchestration: 50}\n"
        "    explanation: Acme runs every workflow through its orchestrator.\n"
    )
    result = run("--input", str(use_case_file), "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["options"][0]["pattern"] == "saga-orchestration"
    assert data["rule_pack"] == {
        "name": "archway-default+acme",
        "version": f"{RULE_PACK_VERSION}+3",
    }


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (
            {"consistency": "linearizable", "chain": [{"service": "a", "p50_ms": 9, "p99_ms": 3}]},
            ["consistency: must be one of strong, read-your-writes, eventual", "chain[0].p99_ms"],
        ),
        ({"latency_p95_ms": 900, "latency_p99_ms": 100}, ["latency_p99_ms: must be >="]),
        ({"colour": "blue"}, ["colour: unknown field"]),
        ([1, 2, 3], ["input:"]),
    ],
)
def test_bad_fields_exit_2_with_one_line_per_field(payload: object, fields: list[str]) -> None:
    result = run("--input", "-", stdin=json.dumps(payload))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for field in fields:
        assert field in result.stderr
    assert len(result.stderr.strip().splitlines()) == len(fields)


def test_invalid_json_and_missing_files_exit_2_without_a_traceback(tmp_path: Path) -> None:
    broken = run("--input", "-", stdin="{not json")
    assert broken.returncode == 2 and "invalid JSON" in broken.stderr
    missing = run("--input", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    bad_rules = run("--input", "-", "--rules", str(tmp_path / "nope.yaml"), stdin="{}")
    assert bad_rules.returncode == 2 and "rules:" in bad_rules.stderr
    for result in (broken, missing, bad_rules):
        assert "Traceback" not in result.stderr
