"""The chain latency estimate against a 10^6-sample Monte Carlo, budgets and evidence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from patterns.engine import Hop, HopEvidence, chain_estimate, sum_quantiles

Z_99 = 2.3263478740408408
SAMPLES = 1_000_000

CHAINS: dict[str, list[tuple[float, float]]] = {
    "one-hop": [(20, 60)],
    "two-mixed": [(10, 40), (15, 90)],
    "checkout-five": [(5, 20), (12, 50), (30, 150), (8, 25), (40, 300)],
    "tight-and-wide": [(50, 60), (2, 40), (100, 500)],
    "three-heavy-tails": [(10, 200), (10, 200), (10, 200)],
    "ten-identical": [(3, 9)] * 10,
    "ten-mixed": [
        (5, 100),
        (5, 100),
        (20, 30),
        (40, 80),
        (7, 70),
        (9, 12),
        (15, 300),
        (2, 4),
        (6, 60),
        (30, 90),
    ],
    "with-a-constant-hop": [(100, 100), (10, 30)],
    # The largest chains the input accepts (64 hops, p99 at most 20 x p50): a fixed tail
    # cut per hop used to pull the p99 of such chains down.
    "sixty-four-at-the-spread-limit": [(10, 200)] * 64,
    "sixty-four-mixed": [
        (float(p50), float(p50 * spread))
        for p50, spread in zip(
            np.geomspace(0.5, 2000, 64), np.resize([1.5, 20, 3, 8, 12, 1.1, 5, 17], 64), strict=True
        )
    ],
    "sixty-three-fast-one-heavy": [(1, 2)] * 63 + [(100, 2000)],
}


def monte_carlo(hops: list[tuple[float, float]], seed: int = 20261125) -> np.ndarray:
    rng = np.random.default_rng(seed)
    total = np.zeros(SAMPLES)
    for p50, p99 in hops:
        sigma = (math.log(p99) - math.log(p50)) / Z_99
        total += p50 * np.exp(sigma * rng.standard_normal(SAMPLES))
    return np.percentile(total, [50, 95, 99])


@pytest.mark.parametrize("name", list(CHAINS))
def test_percentiles_are_within_two_percent_of_monte_carlo(name: str) -> None:
    hops = CHAINS[name]
    estimate = sum_quantiles(hops)
    expected = monte_carlo(hops)
    for got, want in zip(estimate, expected, strict=True):
        assert abs(got - want) / want < 0.02, (name, estimate, expected)


def test_percentiles_of_a_sum_are_not_the_sum_of_percentiles() -> None:
    hops = CHAINS["checkout-five"]
    p50, p95, p99 = sum_quantiles(hops)
    assert p50 < p95 < p99
    assert max(p for _, p in hops) < p99 < sum(p for _, p in hops)


def test_the_order_of_hops_does_not_matter() -> None:
    hops = CHAINS["ten-mixed"]
    assert sum_quantiles(hops) == sum_quantiles(list(reversed(hops)))


def test_only_critical_hops_count_and_all_are_reported() -> None:
    hops = [Hop("a", 10, 40), Hop("b", 500, 2000, critical=False), Hop("c", 10, 40)]
    estimate = chain_estimate(hops, budget_p95_ms=100, budget_p99_ms=200)
    assert estimate.critical_hops == 2
    assert len(estimate.hops) == 3
    assert estimate.p99_ms == pytest.approx(sum_quantiles([(10, 40), (10, 40)])[2])
    assert estimate.within_budget is True


@pytest.mark.parametrize(
    ("budget_p95", "budget_p99", "verdict"),
    [(1000, 2000, True), (50, 2000, False), (1000, 60, False), (None, None, None)],
)
def test_budget_verdicts(
    budget_p95: float | None, budget_p99: float | None, verdict: bool | None
) -> None:
    hops = [Hop("a", 20, 80), Hop("b", 30, 100)]
    estimate = chain_estimate(hops, budget_p95_ms=budget_p95, budget_p99_ms=budget_p99)
    assert estimate.within_budget is verdict


def test_no_critical_hops_means_no_verdict() -> None:
    estimate = chain_estimate([Hop("a", 20, 80, critical=False)], None, 100, 200)
    assert estimate.within_budget is None
    assert estimate.p99_ms == 0
    assert chain_estimate([], None, 100, 200).to_dict()["within_budget"] is None


def test_measured_evidence_replaces_stated_numbers() -> None:
    hops = [Hop("inventory", 10, 30), Hop("payment", 40, 120)]
    evidence = {"payment": HopEvidence(p50_ms=90, p99_ms=700, source="probe run #12, 2026-11-25")}
    stated = chain_estimate(hops, None, 200, 300)
    measured = chain_estimate(hops, evidence, 200, 300)
    assert stated.within_budget is True and measured.within_budget is False
    assert measured.p99_ms == pytest.approx(sum_quantiles([(10, 30), (90, 700)])[2])
    data = measured.to_dict()
    inventory, payment = data["hops"]
    assert inventory == {
        "service": "inventory",
        "p50_ms": 10.0,
        "p99_ms": 30.0,
        "critical": True,
        "source": "stated",
        "role": "needed",
        "availability": None,
        "availability_source": "unstated",
    }
    assert payment["source"] == "measured"
    assert (payment["p50_ms"], payment["p99_ms"]) == (90.0, 700.0)
    assert (payment["stated_p50_ms"], payment["stated_p99_ms"]) == (40.0, 120.0)
    assert payment["evidence"] == "probe run #12, 2026-11-25"


def test_to_dict_has_the_documented_keys() -> None:
    data = chain_estimate([Hop("a", 10, 20)], None, 100, 200).to_dict()
    assert set(data) == {
        "hops",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "budget_p95_ms",
        "budget_p99_ms",
        "within_budget",
        "critical_hops",
    }
