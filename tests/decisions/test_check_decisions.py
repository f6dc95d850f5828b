"""manage.py check_decisions: exit statuses, JSON and JUnit output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from decisions.models import DecisionStatus
from decisions.records.services import decision_create
from tests.conftest import REPO, _test_database_url
from tests.decisions.living_support import accepted_checkout
from tests.decisions.test_living_checks import NIGHT, done, run_round, scripted  # noqa: F401


def check(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("check_decisions", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_all_holding_exits_0_with_json_per_assumption(acme, owner, scripted):  # noqa: F811
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(100, 120)]
    run_round(decision, NIGHT)
    status, out = check("--team", "acme", "--format", "json")
    assert status == 0
    report = json.loads(out)["decisions"]
    assert [d["number"] for d in report] == [decision.number]
    assert report[0]["health"] == "holding"
    p99 = next(
        a
        for a in report[0]["assumptions"]
        if a["metric"] == "hop_p99_ms" and a["target"] == "payments"
    )
    assert p99 | {"measured_at": None} == p99 | {
        "comparator": "<=", "threshold": 150.0, "measured": 120.0, "ok": True, "measured_at": None,
    }  # fmt: skip
    assert p99["measured_at"].startswith("2026-03-02")
    stated = next(a for a in report[0]["assumptions"] if a["target"] == "inventory")
    assert stated["ok"] is None and stated["measured"] is None


def test_a_failing_assumption_exits_1_even_when_another_could_not_be_measured(
    acme,
    owner,
    scripted,  # noqa: F811
):
    failing = accepted_checkout(acme, owner)
    invalid = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    run_round(failing, NIGHT)
    scripted.script = [done(1, 1, valid=False, reason="late sends")]
    run_round(invalid, NIGHT)
    status, out = check("--team", "acme")
    assert status == 1
    assert "payments p99 is 910 ms, assumed ≤ 150 ms" in out
    assert "Could not measure" in out

    status, _ = check("--team", "acme", "--adr", str(invalid.number))
    assert status == 3


def test_junit_has_one_testcase_per_assumption(acme, owner, scripted):  # noqa: F811
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    run_round(decision, NIGHT)
    status, out = check("--team", "acme", "--format", "junit")
    assert status == 1
    cases = ET.fromstring(out).findall(".//testcase")
    assert len(cases) == decision.assumptions.count()
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "payments p99 latency ≤ 150 ms" in failed
    assert any(c.find("skipped") is not None for c in cases)  # stated, not measured


def test_bad_input_exits_2(acme, owner, scripted):  # noqa: F811
    proposed = decision_create(team=acme, data={"title": "Not yet"}, by=owner)
    assert proposed.status == DecisionStatus.PROPOSED
    assert check("--team", "nope")[0] == 2
    assert check("--team", "acme", "--adr", "99")[0] == 2
    assert check("--team", "acme", "--adr", str(proposed.number))[0] == 2


@pytest.mark.django_db(transaction=True)
def test_the_real_command_line_exit_status(acme, owner):
    accepted_checkout(acme, owner)
    env = {**os.environ, "DATABASE_URL": _test_database_url()}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check_decisions", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    assert run("--team", "acme").returncode == 0  # nothing measured yet: nothing fails
    bad = run("--team", "acme", "--format", "yaml")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    missing = run("--team", "nope")
    assert missing.returncode == 2 and "No team with the slug 'nope'" in missing.stderr


def test_a_probe_refused_by_the_guard_exits_2_with_now(acme, owner, settings):
    from tests.probes.probe_factories import make_endpoint

    settings.PROBE_ALLOW = None  # loopback is refused by the default policy
    make_endpoint(acme, "http://127.0.0.1:9/pay", name="Payments", service="payments")
    accepted_checkout(acme, owner)
    status, out = check("--team", "acme", "--now", "--format", "json")
    assert status == 2
    p99 = next(
        a
        for a in json.loads(out)["decisions"][0]["assumptions"]
        if (a["target"], a["metric"]) == ("payments", "hop_p99_ms")
    )
    assert p99["status"] == "invalid" and p99["reason"].startswith("Refused: ")
