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


def test_json_adds_the_judgement_and_keeps_every_earlier_key(use_case_file: Path) -> None:
    result = run("--input", str(use_case_file), "--format", "json")
    data = json.loads(result.stdout)
    assert set(data) >= {"fired_rules", "derived", "ruled_out", "meets_all", "relaxations"}
    assert set(data) >= {"sensitivity", "availability"}
    # The two hops the caller needs miss the 150 ms p95 on their own: nothing meets
    # everything, the hybrid misses by the least, and the relaxations say what to change.
    assert data["meets_all"] is False
    assert {"pattern", "requirement", "detail"} == set(data["ruled_out"][0])
    assert {"requirement", "to", "option", "detail"} == set(data["relaxations"][0])
    assert ("latency_p95_ms", 200.0, "request-event") in {
        (r["requirement"], r["to"], r["option"]) for r in data["relaxations"]
    }
    assert data["sensitivity"], "the command searches what would change the answer"
    assert {"input", "current", "threshold", "option", "detail"} == set(data["sensitivity"][0])
    hop = data["chain_estimate"]["hops"][0]
    assert (hop["role"], hop["availability_source"]) == ("needed", "unstated")
    assert data["availability"]["target"] == 99.9
    first = data["options"][0]
    assert first["misses"] == ["latency-budget"] and first["waits_for"] == ["inventory", "payment"]
    assert {"composite", "meets", "hops", "assumptions"} <= set(first["availability"])


def test_no_sensitivity_skips_the_search(use_case_file: Path) -> None:
    result = run("--input", str(use_case_file), "--no-sensitivity")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sensitivity"] == []


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
    for heading in ("Ruled out", "Relaxations", "What would change the answer"):
        assert heading in out
    assert "NO OPTION MEETS EVERY REQUIREMENT" in out
    assert "answer before payment, which then lags by up to its event delay" in out
    assert "If the p95 budget rises above 192 ms (now 150 ms)" in out
    assert "rest (latency-budget): waits for inventory, payment, email" in out
    assert "RULED OUT: latency-budget" in out
    assert "email: p50 30 ms, p99 200 ms, side-effect, after the answer" in out
    assert "against a target of 99.9%: meets it" in out


def test_text_output_names_the_broker_of_the_asynchronous_half(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({**CHECKOUT, "broker_service": "order-events"}))
    out = run("--input", str(path), "--format", "text").stdout
    assert "Asynchronous half" in out
    assert "order-events: not measured yet; staleness budget 5 s (stated)" in out
    assert "Asynchronous half" not in run("--input", "-", "--format", "text", stdin="{}").stdout


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
        (
            {"chain": [{"service": "a", "p50_ms": 1, "p99_ms": 2}] * 65},
            ["chain: must have at most 64 hops"],
        ),
        ({"peak_rps": 10**400}, ["peak_rps: must be a number from 0 to 10,000,000"]),
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
