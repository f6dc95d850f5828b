"""What would change the answer: every threshold reported is checked by moving the input
to either side of it and ranking again."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from patterns.engine import HopEvidence, Recommendation, UseCaseInput, parse_input, recommend

CHECKOUT = {
    "name": "checkout",
    "caller": "browser",
    "consistency": "read-your-writes",
    "latency_p95_ms": 250,
    "latency_p99_ms": 450,
    "consumers": 2,
    "chain": [
        {"service": "inventory", "p50_ms": 20, "p99_ms": 80, "role": "confirm"},
        {"service": "payments", "p50_ms": 60, "p99_ms": 250, "role": "confirm"},
        {"service": "email", "p50_ms": 30, "p99_ms": 200, "role": "side-effect"},
    ],
}


def _answer(rec: Recommendation) -> tuple[str, bool]:
    return rec.top.pattern, rec.meets_all


def _set(inp: UseCaseInput, name: str, value: Any) -> UseCaseInput:
    """``inp`` with the input ``name`` (a field or ``chain[i].field``) set to ``value``."""
    if name.startswith("chain["):
        index = int(name[6 : name.index("]")])
        field = name.split(".", 1)[1]
        chain = tuple(
            replace(hop, **{field: value}) if i == index else hop for i, hop in enumerate(inp.chain)
        )
        return replace(inp, chain=chain)
    changes = {name: value}
    if name == "latency_p99_ms" and value < inp.latency_p95_ms:
        changes["latency_p95_ms"] = value
    return replace(inp, **changes)


def test_sensitivity_is_off_unless_asked_for() -> None:
    inp = parse_input(CHECKOUT)
    assert recommend(inp).sensitivity == ()
    assert recommend(inp).to_dict()["sensitivity"] == []
    assert recommend(inp, sensitivity=True).sensitivity


def test_every_numeric_threshold_is_a_real_tipping_point() -> None:
    inp = parse_input(CHECKOUT)
    rec = recommend(inp, sensitivity=True)
    before = _answer(rec)
    numeric = [
        s
        for s in rec.sensitivity
        if isinstance(s.threshold, int | float) and not isinstance(s.threshold, bool)
    ]
    assert numeric
    for item in numeric:
        current = item.current if item.current is not None else 100.0
        step = max(abs(item.threshold) * 0.01, 0.01)
        direction = 1 if item.threshold > current else -1
        near = _set(inp, item.input, item.threshold - direction * step)
        beyond = _set(inp, item.input, item.threshold + direction * step)
        assert _answer(recommend(near)) == before, item
        assert _answer(recommend(beyond)) != before, item
        assert item.option == recommend(beyond).top.pattern


def test_a_hop_latency_threshold_names_the_hop_and_its_stated_value() -> None:
    rec = recommend(parse_input(CHECKOUT), sensitivity=True)
    payments = next(s for s in rec.sensitivity if s.input == "chain[1].p99_ms")
    assert payments.current == 250 and payments.threshold > 250
    assert payments.detail.startswith("If payments's p99 rises above")
    assert "(stated at 250 ms)" in payments.detail


def test_choice_inputs_that_change_the_answer_are_listed_once_each() -> None:
    inp = parse_input(CHECKOUT)
    rec = recommend(inp, sensitivity=True)
    choices = [s for s in rec.sensitivity if isinstance(s.threshold, str | bool)]
    assert len({s.input for s in choices}) == len(choices)
    for item in choices:
        changed = recommend(_set(inp, item.input, item.threshold))
        assert _answer(changed) != _answer(rec), item


def test_the_json_shape_of_a_sensitivity() -> None:
    data = recommend(parse_input(CHECKOUT), sensitivity=True).to_dict()
    for item in data["sensitivity"]:
        assert set(item) == {"input", "current", "threshold", "option", "detail"}


@pytest.mark.parametrize("hops", [1, 5, 12])
def test_the_search_is_deterministic(hops: int) -> None:
    chain = [{"service": f"s{i}", "p50_ms": 5 + i, "p99_ms": 40 + 10 * i} for i in range(hops)]
    inp = parse_input({"chain": chain, "latency_p99_ms": 600})
    first = recommend(inp, sensitivity=True).to_dict()["sensitivity"]
    assert first == recommend(inp, sensitivity=True).to_dict()["sensitivity"]


def test_a_measured_hop_threshold_is_read_against_its_measurement() -> None:
    """Issue 12's example: "if payments' p99 rises above 600 ms (it is measured at 450 ms),
    the chain misses its budget"; the evidence moves, not the stated figure."""
    inp = parse_input(CHECKOUT)
    evidence = {"payments": HopEvidence(70, 300, "probe run #3")}
    rec = recommend(inp, evidence, sensitivity=True)
    payments = next(s for s in rec.sensitivity if s.input == "chain[1].p99_ms")
    assert payments.current == 300 and "(measured at 300 ms)" in payments.detail
    before = (rec.top.pattern, rec.meets_all)
    for factor, same in ((0.99, True), (1.01, False)):
        moved = {"payments": HopEvidence(70, payments.threshold * factor, "probe run #3")}
        after = recommend(inp, moved)
        assert ((after.top.pattern, after.meets_all) == before) is same
