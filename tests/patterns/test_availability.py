"""Failure tolerance per hop: stated or measured availability against the target.

Expected answers follow the seed's guidance on failure isolation: failures cascade up
a synchronous chain (so what the caller waits for multiplies into its availability),
circuit breakers and timeouts contain a failure but do not remove it, and a durable
queue or a fallback takes the dependency's failure off the request.
"""

from __future__ import annotations

from typing import Any

import pytest

from patterns.engine import (
    HopEvidence,
    Recommendation,
    parse_input,
    recommend,
    wilson_lower_bound,
)


def _hop(service: str, p50: float, p99: float, **extra: Any) -> dict[str, Any]:
    return {"service": service, "p50_ms": p50, "p99_ms": p99, **extra}


def _option(rec: Recommendation, pattern: str):  # noqa: ANN202 - an Option
    return next(option for option in rec.options if option.pattern == pattern)


PRESCRIPTION = {
    "name": "prescription",
    "caller": "browser",
    "consistency": "strong",
    "availability": 99.99,
    "latency_p95_ms": 200,
    "latency_p99_ms": 300,
    "chain": [_hop("pharmacy-stock", 40, 200, availability=99.9)],
}


def test_wilson_lower_bound_of_two_thousand_clean_requests_is_about_99_8() -> None:
    assert 100 * wilson_lower_bound(2000, 2000) == pytest.approx(99.81, abs=0.01)
    # Known value for a half-and-half sample (Wilson 1927; any statistics table).
    assert wilson_lower_bound(50, 100) == pytest.approx(0.4038, abs=1e-4)
    assert wilson_lower_bound(0, 10) == 0.0
    # More evidence supports a higher bound for the same clean record.
    assert wilson_lower_bound(200_000, 200_000) > wilson_lower_bound(2000, 2000)


@pytest.mark.parametrize(("successes", "samples"), [(1, 0), (5, 3), (-1, 3)])
def test_wilson_refuses_impossible_counts(successes: int, samples: int) -> None:
    with pytest.raises(ValueError):
        wilson_lower_bound(successes, samples)


def test_a_four_nines_target_over_a_three_nines_dependency_rules_out_every_waiting_design() -> None:
    """Seed: failures cascade; when the dependency fails, everything waiting on it fails.

    A 99.99% target through a 99.9% dependency cannot be met synchronously without a
    fallback. The budget leaves no room for a retry (300 ms p99 against a 200 ms hop),
    strong consistency rules out a cached answer, and the caller needs the stock, so no
    option meets everything: relax the target, or answer before pharmacy-stock.
    """
    rec = recommend(parse_input(PRESCRIPTION))
    assert rec.meets_all is False
    details = {(m.pattern, m.requirement): m.detail for m in rec.ruled_out}
    for pattern in ("rest", "grpc", "request-event", "saga-orchestration"):
        assert details[(pattern, "availability-target")] == (
            "waits for pharmacy-stock at 99.9%: at most 99.9% against 99.99%"
        )
    assert rec.top.availability["composite"] == pytest.approx(99.9)
    assert rec.top.availability["hops"][0]["attempts"] == 1
    relaxed = {(r.requirement, str(r.to)) for r in rec.relaxations}
    assert ("availability", "99.9") in relaxed
    assert ("role of pharmacy-stock", "side-effect") in relaxed


def test_the_target_is_met_only_with_a_cached_answer_listed_as_a_consequence() -> None:
    """Seed: a reduced answer from a local copy keeps the service answering while the
    owner is down; that is only honest when stale data is acceptable."""
    degrade = {
        **PRESCRIPTION,
        "consistency": "eventual",
        "staleness_s": 300,
        "when_dependency_down": "degrade",
    }
    rec = recommend(parse_input(degrade))
    assert rec.meets_all and rec.top.pattern == "rest"
    availability = rec.top.availability
    assert availability["meets"] and availability["hops"] == []
    assert availability["consequences"] == [
        "When pharmacy-stock is down, the answer uses cached or reduced data, at most 300 s old."
    ]
    # The same fallback with strong consistency does not count, and says why.
    strong = recommend(parse_input({**degrade, "consistency": "strong"}))
    assert not _option(strong, "rest").meets_all
    assert any(
        "not current" in text for text in _option(strong, "rest").availability["assumptions"]
    )


def test_the_target_is_met_only_with_retries_that_fit_the_budget() -> None:
    """Retries multiply the chances (1 - (1 - a)^k) only if they fit in the budget and
    failures are independent; the engine says both."""
    roomy = {**PRESCRIPTION, "latency_p95_ms": 600, "latency_p99_ms": 1000}
    rec = recommend(parse_input(roomy))
    assert rec.meets_all and rec.top.pattern == "rest"
    hop = rec.top.availability["hops"][0]
    assert hop["attempts"] == 3
    assert hop["effective"] == pytest.approx(100 * (1 - 0.001**3), abs=1e-6)
    assumptions = " ".join(rec.top.availability["assumptions"])
    assert "independently" in assumptions and "idempotency key" in assumptions


def test_hops_with_no_stated_availability_are_assumed_to_hold_their_share_and_it_says_so() -> None:
    """Nothing is known about three hops: the engine does not invent a figure for them,
    it states what each must reach for a 99.95% target, and a probe or a stated figure
    below that changes the verdict."""
    data = {
        "name": "profile",
        "caller": "browser",
        "availability": 99.95,
        "consistency": "read-your-writes",
        "chain": [_hop("profile", 10, 40), _hop("prefs", 8, 30), _hop("avatar", 5, 20)],
    }
    rec = recommend(parse_input(data), sensitivity=True)
    assert rec.meets_all and rec.top.pattern == "rest"
    availability = rec.top.availability
    assert availability["unstated"] == ["profile", "prefs", "avatar"]
    each = 100 * 0.9995 ** (1 / 3)
    assert availability["required_each"] == pytest.approx(each, abs=1e-4)
    assert f"at least {round(each, 4):g}% each" in availability["assumptions"][0]
    hops = rec.to_dict()["chain_estimate"]["hops"]
    assert {hop["availability_source"] for hop in hops} == {"unstated"}
    # Sensitivity names the availability of each hop at which the answer changes (with
    # the retries the budget leaves room for)...
    named = {s.input: s for s in rec.sensitivity if s.input.endswith(".availability")}
    threshold = named["chain[0].availability"].threshold
    assert 0 < threshold < 99.95
    assert "profile's availability drops below" in named["chain[0].availability"].detail
    # ...and stating it just either side of that does or does not change it.
    data["chain"][0]["availability"] = threshold + 0.01
    assert recommend(parse_input(data)).top.pattern == "rest"
    data["chain"][0]["availability"] = threshold - 0.01
    changed = recommend(parse_input(data))
    assert changed.top.pattern != "rest" or not changed.meets_all


def test_a_durable_hand_off_takes_a_weak_side_effect_off_the_waited_path() -> None:
    """Seed: asynchronous patterns decouple availability; messages wait for a consumer
    that is down. A 99% side effect does not touch the hybrid's availability."""
    rec = recommend(
        parse_input(
            {
                "caller": "browser",
                "availability": 99.95,
                "consistency": "read-your-writes",
                # Too tight for a retry of loyalty inside the request.
                "latency_p95_ms": 150,
                "latency_p99_ms": 250,
                "chain": [
                    _hop("orders", 10, 40, role="confirm", availability=99.99),
                    _hop("loyalty", 30, 200, role="side-effect", availability=99.0),
                ],
            }
        )
    )
    assert rec.top.pattern == "request-event" and rec.meets_all
    assert ("rest", "availability-target") in {(m.pattern, m.requirement) for m in rec.ruled_out}
    counted = [hop["service"] for hop in rec.top.availability["hops"]]
    assert counted == ["orders"] and rec.top.availability["composite"] >= 99.99
    assert (
        "When loyalty is down, its work waits and finishes late."
        in (rec.top.availability["consequences"])
    )


def test_measured_availability_uses_the_wilson_lower_bound_not_the_stated_figure() -> None:
    """A hop stated at 99.99% whose probe saw 2,000 clean requests supports about 99.81%,
    which does not carry a 99.9% target through two such hops."""
    data = {
        "availability": 99.9,
        "consistency": "read-your-writes",
        # No room for a retry, so the measured figure is what the caller gets.
        "latency_p95_ms": 60,
        "latency_p99_ms": 100,
        "chain": [
            _hop("stock", 10, 40, availability=99.99),
            _hop("prices", 10, 40, availability=99.99),
        ],
    }
    inp = parse_input(data)
    assert recommend(inp).meets_all
    evidence = {
        "stock": HopEvidence(12, 45, "probe run #7", samples=2000, successes=2000),
        "prices": HopEvidence(12, 45, "probe run #8", samples=2000, successes=2000),
    }
    rec = recommend(inp, evidence)
    hop = rec.to_dict()["chain_estimate"]["hops"][0]
    assert hop["availability_source"] == "measured"
    assert hop["availability"] == pytest.approx(99.8083, abs=1e-3)
    assert hop["stated_availability"] == 99.99 and hop["samples"] == 2000
    assert hop["success_ratio"] == 100.0
    assert not _option(rec, "rest").meets_all
    # A probe without success counts leaves the stated availability in place.
    latency_only = {"stock": HopEvidence(12, 45, "probe run #9")}
    kept = recommend(inp, latency_only).to_dict()["chain_estimate"]["hops"][0]
    assert kept["availability_source"] == "stated" and kept["source"] == "measured"
