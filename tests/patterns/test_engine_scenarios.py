"""Realistic use cases: the engine's top pick, its reasons, supporting decisions and risks."""

from __future__ import annotations

import json

import pytest

from patterns.engine import (
    PATTERN_ORDER,
    RULE_PACK_VERSION,
    HopEvidence,
    Recommendation,
    UseCaseInput,
    default_rule_pack,
    parse_input,
    recommend,
)
from tests.patterns.scenarios import SCENARIOS, Scenario


def _run(scenario: Scenario) -> Recommendation:
    return recommend(parse_input(scenario.data))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_gets_the_expected_top_pattern(scenario: Scenario) -> None:
    rec = _run(scenario)
    expected = scenario.top if isinstance(scenario.top, tuple) else (scenario.top,)
    assert rec.top.pattern in expected, [(o.pattern, o.score) for o in rec.options]
    assert rec.top.family == scenario.family
    assert rec.meets_all is scenario.meets_all


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_fires_the_key_rules(scenario: Scenario) -> None:
    rec = _run(scenario)
    assert set(scenario.rules) <= set(rec.fired_rules)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_gets_its_supporting_decisions_and_risks(scenario: Scenario) -> None:
    rec = _run(scenario)
    supporting = {item.id for item in rec.supporting}
    assert set(scenario.supporting) <= supporting
    assert not set(scenario.not_supporting) & supporting
    assert set(scenario.risks) <= {risk.id for risk in rec.risks}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_output_is_json_and_deterministic(scenario: Scenario) -> None:
    first = json.dumps(_run(scenario).to_dict(), sort_keys=True)
    second = json.dumps(_run(scenario).to_dict(), sort_keys=True)
    assert first == second
    data = json.loads(first)
    assert data["rule_pack"] == {"name": "archway-default", "version": RULE_PACK_VERSION}
    assert {o["pattern"] for o in data["options"]} == set(PATTERN_ORDER)
    # Options meeting every requirement come first, by score after the first (which may
    # be a simpler option not clearly outscored); then the ruled-out ones, fewest misses
    # first.
    meeting = [o for o in data["options"] if o["meets_all"]]
    assert data["options"][: len(meeting)] == meeting
    scores = [o["score"] for o in meeting[1:]]
    assert scores == sorted(scores, reverse=True)
    misses = [len(o["misses"]) for o in data["options"][len(meeting) :]]
    assert misses == sorted(misses) and all(misses)
    assert data["meets_all"] is data["options"][0]["meets_all"]
    ruled_out = {(r["pattern"], r["requirement"]) for r in data["ruled_out"]}
    if meeting:
        assert ruled_out == {
            (o["pattern"], m) for o in data["options"] if not o["meets_all"] for m in o["misses"]
        }
    for option in data["options"]:
        assert option["strengths"] and option["weaknesses"]
        for reason in option["because"]:
            assert set(reason) == {"rule", "explanation", "inputs", "effect"}
            assert reason["effect"] != 0
            assert "{" not in reason["explanation"]
    for item in data["supporting"]:
        assert set(item) == {"id", "title", "why", "settings"}
    for risk in data["risks"]:
        assert risk["severity"] in ("high", "medium", "low")


def test_reasons_name_the_inputs_that_fired_them() -> None:
    rec = recommend(UseCaseInput(caller="browser"))
    rest = next(o for o in rec.options if o.pattern == "rest")
    reason = next(r for r in rest.because if r.rule == "browser-caller")
    assert reason.inputs == {"caller": "browser"}
    assert reason.effect > 0
    grpc = next(o for o in rec.options if o.pattern == "grpc")
    assert any(r.rule == "browser-caller" and r.effect < 0 for r in grpc.because)
    assert any("proxy" in w for w in grpc.weaknesses)


def test_ties_are_broken_by_the_fixed_pattern_order() -> None:
    pack = default_rule_pack()
    empty = type(pack)(name="flat", version="1", rules=(), base_scores={})
    rec = recommend(UseCaseInput(), rule_pack=empty)
    assert [o.pattern for o in rec.options] == list(PATTERN_ORDER)


def test_a_chain_over_budget_rules_out_every_design_that_waits_for_it() -> None:
    chain = [{"service": f"s{i}", "p50_ms": 40, "p99_ms": 200} for i in range(4)]
    fresh = {"chain": chain, "consistency": "read-your-writes"}
    fits = recommend(parse_input({**fresh, "latency_p95_ms": 2000, "latency_p99_ms": 4000}))
    blows = recommend(parse_input({**fresh, "latency_p95_ms": 150, "latency_p99_ms": 300}))
    assert fits.chain_estimate.within_budget is True and fits.meets_all
    assert blows.chain_estimate.within_budget is False
    assert any(risk.id == "chain-misses-budget" and risk.severity == "high" for risk in blows.risks)

    # Every hop is needed: the hybrid waits for the same four hops, so it is ruled out
    # like the plain call, never recommended as if it solved the problem.
    over = {(m.pattern, m.requirement) for m in blows.ruled_out}
    for pattern in ("rest", "grpc", "request-event", "saga-orchestration"):
        assert (pattern, "latency-budget") in over
    assert blows.meets_all is False
    rest = next(o for o in blows.options if o.pattern == "rest")
    assert rest.waited_p99_ms == pytest.approx(blows.chain_estimate.p99_ms)
    assert any("against a budget of 150 ms / 300 ms" in w for w in rest.weaknesses)
    assert {r.requirement for r in blows.relaxations} >= {"latency_p99_ms"}

    # If stale data will do, a local copy fed by events answers without the chain.
    stale = recommend(parse_input({"chain": chain, "latency_p95_ms": 150, "latency_p99_ms": 300}))
    assert stale.meets_all and stale.top.pattern == "event-driven"
    assert stale.top.waits_for == ()


def test_hybrid_steps_follow_the_critical_flags() -> None:
    rec = recommend(
        parse_input(
            {
                "chain": [
                    {"service": "inventory", "p50_ms": 10, "p99_ms": 40},
                    {"service": "email", "p50_ms": 30, "p99_ms": 90, "critical": False},
                    {"service": "orders", "p50_ms": 10, "p99_ms": 40},
                ]
            }
        )
    )
    hybrid = next(o for o in rec.options if o.pattern == "request-event")
    assert "inventory" in hybrid.sync_steps and "orders" in hybrid.sync_steps
    assert "email" in hybrid.async_steps and "email" not in hybrid.sync_steps
    data = hybrid.to_dict()
    assert data["sync_steps"][0] == "validate request"
    assert "sync_steps" not in next(o for o in rec.options if o.pattern == "rest").to_dict()


def test_measured_evidence_can_change_the_verdict() -> None:
    inp = parse_input(
        {
            "latency_p95_ms": 200,
            "latency_p99_ms": 300,
            "chain": [{"service": "pricing", "p50_ms": 20, "p99_ms": 60}],
        }
    )
    stated = recommend(inp)
    measured = recommend(inp, {"pricing": HopEvidence(120, 900, "probe run #12, 2026-11-25")})
    assert stated.chain_estimate.within_budget is True
    assert measured.chain_estimate.within_budget is False
    hop = measured.to_dict()["chain_estimate"]["hops"][0]
    assert hop["source"] == "measured" and hop["stated_p99_ms"] == 60
    assert "stated-latencies" in {r.id for r in stated.risks}
    assert "stated-latencies" not in {r.id for r in measured.risks}


def test_timeouts_are_derived_from_the_budget() -> None:
    rec = recommend(
        parse_input(
            {
                "latency_p99_ms": 500,
                "chain": [
                    {"service": "a", "p50_ms": 20, "p99_ms": 100},
                    {"service": "b", "p50_ms": 20, "p99_ms": 100},
                ],
            }
        )
    )
    timeouts = next(item for item in rec.supporting if item.id == "timeouts")
    assert timeouts.settings["overall_deadline_ms"] == 500
    assert timeouts.settings["per_hop_timeout_ms"] == {"a": 150, "b": 150}
    assert "500 ms" in timeouts.why


def test_risks_are_sorted_by_severity() -> None:
    rec = _run(next(s for s in SCENARIOS if s.id == "long-sync-chain-blows-budget"))
    order = {"high": 0, "medium": 1, "low": 2}
    severities = [order[r.severity] for r in rec.risks]
    assert severities == sorted(severities)
