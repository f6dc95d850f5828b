"""The engine with a measured broker: delivery against the staleness budget, the publish
confirmation in the waited part, and what the probe saw go wrong as risks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from patterns.engine import HopEvidence, InputError, parse_input, recommend, sum_quantiles

PUBLISHING = ("request-event", "event-driven", "message-queue", "saga-choreography")
ASYNC_HALF = (*PUBLISHING, "saga-orchestration")


def _input(**changes: Any):
    data: dict[str, Any] = {
        "consistency": "eventual",
        "staleness_s": 5,
        "broker_service": "order-events",
        "latency_p95_ms": 300,
        "latency_p99_ms": 800,
        "chain": [
            {"service": "payments", "p50_ms": 30, "p99_ms": 120, "role": "needed"},
            {"service": "mailer", "p50_ms": 40, "p99_ms": 200, "role": "side-effect"},
        ],
    }
    data.update(changes)
    return parse_input(data)


def _broker(**changes: Any) -> HopEvidence:
    values: dict[str, Any] = dict(
        p50_ms=4.0,
        p99_ms=38.0,
        source="probe #7 of Order events",
        samples=30_000,
        successes=30_000,
        kind="broker",
        rate_per_s=500.0,
        confirm_p50_ms=2.0,
        confirm_p99_ms=9.0,
    )
    values.update(changes)
    return HopEvidence(**values)


def _option(answer, pattern: str):
    return next(option for option in answer.options if option.pattern == pattern)


def test_without_a_broker_named_the_answer_has_no_broker_section() -> None:
    answer = recommend(_input(broker_service=""), {"order-events": _broker()})
    assert answer.to_dict()["broker"] is None
    assert all(option.confirm_p99_ms is None for option in answer.options)


def test_a_named_broker_without_a_probe_is_stated_only() -> None:
    answer = recommend(_input(), {})
    broker = answer.to_dict()["broker"]
    assert broker["measured"] is False and broker["service"] == "order-events"
    assert "not measured yet" in broker["verdict"]
    if answer.top.family != "sync":
        assert "broker-not-measured" in {risk.id for risk in answer.risks}


def test_delivery_within_the_staleness_budget_is_reported_with_its_numbers() -> None:
    broker = recommend(_input(), {"order-events": _broker()}).to_dict()["broker"]
    assert broker["measured"] and broker["within_staleness"] is True
    assert broker["delivery_p99_ms"] == 38.0 and broker["rate_per_s"] == 500.0
    assert broker["verdict"] == (
        "events reach consumers in p99 38 ms at 500 msg/s; staleness budget 5 s: within"
    )


def test_the_publish_confirmation_joins_what_the_publishing_options_wait_for() -> None:
    without = recommend(_input(), {})
    measured = recommend(_input(), {"order-events": _broker()})
    hybrid_before = _option(without, "request-event")
    hybrid_after = _option(measured, "request-event")
    expected = sum_quantiles([(30.0, 120.0), (2.0, 9.0)])
    assert hybrid_after.waited_p99_ms == pytest.approx(expected[2])
    assert hybrid_after.waited_p99_ms > hybrid_before.waited_p99_ms
    assert hybrid_after.confirm_p99_ms == 9.0
    assert "publish event to order-events, wait for its confirmation" in hybrid_after.sync_steps
    # A hand-off waits for the confirmation alone: a single term keeps its own p99.
    assert _option(measured, "event-driven").waited_p99_ms == pytest.approx(9.0)
    # Synchronous calls and the orchestrated saga publish nothing before the answer.
    for pattern in ("rest", "grpc", "saga-orchestration"):
        assert _option(measured, pattern).waited_p99_ms == _option(without, pattern).waited_p99_ms
        assert _option(measured, pattern).confirm_p99_ms is None


def test_a_slow_confirmation_pushes_the_hybrid_over_the_latency_budget() -> None:
    inp = _input(latency_p95_ms=150, latency_p99_ms=160)
    assert _option(recommend(inp, {}), "request-event").meets_all
    slow = _broker(confirm_p50_ms=60.0, confirm_p99_ms=150.0)
    hybrid = _option(recommend(inp, {"order-events": slow}), "request-event")
    assert not hybrid.meets_all
    miss = next(miss for miss in hybrid.misses if miss.requirement == "latency-budget")
    assert "payments, the publish confirmation of order-events" in miss.detail


def test_delivery_over_the_staleness_budget_rules_out_every_asynchronous_option() -> None:
    inp = _input(staleness_s=0.02, caller_waits=False)
    answer = recommend(inp, {"order-events": _broker(p99_ms=38.0)})
    for pattern in ASYNC_HALF:
        option = _option(answer, pattern)
        assert "staleness-budget" in [miss.requirement for miss in option.misses], pattern
    detail = next(m.detail for m in answer.ruled_out if m.requirement == "staleness-budget")
    assert "order-events" in detail and "38 ms" in detail and "0.02 s" in detail
    assert answer.to_dict()["broker"]["within_staleness"] is False
    for pattern in ("rest", "grpc"):
        assert "staleness-budget" not in [m.requirement for m in _option(answer, pattern).misses]


def test_the_relaxation_names_a_staleness_budget_the_measured_delivery_fits() -> None:
    inp = _input(staleness_s=0.5, caller_waits=False, message_loss_ok=False)
    evidence = {"order-events": _broker(p50_ms=300.0, p99_ms=1_400.0)}
    answer = recommend(inp, evidence)
    assert not answer.meets_all
    relaxation = next(r for r in answer.relaxations if r.requirement == "staleness_s")
    assert relaxation.to == 2.0 and "1400 ms" in relaxation.detail
    relaxed = recommend(replace(inp, staleness_s=relaxation.to), evidence)
    assert _option(relaxed, relaxation.option).meets_all


def test_staleness_is_not_judged_under_strong_consistency() -> None:
    answer = recommend(_input(consistency="strong", staleness_s=0.001), {"order-events": _broker()})
    assert all(miss.requirement != "staleness-budget" for miss in answer.ruled_out)


@pytest.mark.parametrize(("loss_ok", "severity"), [(False, "high"), (True, "low")])
def test_lost_messages_become_a_risk_with_the_numbers(loss_ok: bool, severity: str) -> None:
    inp = _input(message_loss_ok=loss_ok)
    answer = recommend(inp, {"order-events": _broker(lost=3, successes=29_997)})
    risk = next(risk for risk in answer.risks if risk.id == "broker-loss")
    assert risk.severity == severity
    assert "lost 3 of 30000 messages (0.01%) at 500 msg/s" in risk.text


def test_duplicates_are_a_risk_and_a_high_one_under_at_most_once() -> None:
    evidence = {"order-events": _broker(duplicates=12)}
    risk = next(r for r in recommend(_input(), evidence).risks if r.id == "broker-duplicates")
    assert risk.severity == "medium" and "12 of 30000 messages" in risk.text
    strict = recommend(_input(delivery="at-most-once", message_loss_ok=True), evidence)
    assert next(r for r in strict.risks if r.id == "broker-duplicates").severity == "high"


def test_reordering_matters_only_when_the_use_case_needs_order() -> None:
    evidence = {"order-events": _broker(reordered=5)}
    assert "broker-reordering" not in {r.id for r in recommend(_input(), evidence).risks}
    ordered = recommend(_input(ordering="per-entity"), evidence)
    risk = next(r for r in ordered.risks if r.id == "broker-reordering")
    assert risk.severity == "high" and "5 of 30000" in risk.text and "per-entity" in risk.text


def test_a_clean_probe_raises_no_broker_risk() -> None:
    answer = recommend(_input(ordering="per-entity"), {"order-events": _broker()})
    assert not {risk.id for risk in answer.risks} & {
        "broker-loss",
        "broker-duplicates",
        "broker-reordering",
        "broker-not-measured",
    }


def test_delivery_eating_most_of_the_budget_is_a_risk_before_it_is_a_miss() -> None:
    answer = recommend(_input(staleness_s=0.05), {"order-events": _broker(p99_ms=38.0)})
    assert answer.to_dict()["broker"]["within_staleness"] is True
    risk = next(r for r in answer.risks if r.id == "broker-delivery-near-staleness")
    assert "38 ms" in risk.text and "0.05 s" in risk.text


def test_kinds_do_not_mix_a_broker_is_not_a_hop_and_a_call_is_not_a_broker() -> None:
    evidence = {
        "payments": _broker(p50_ms=900.0, p99_ms=5_000.0),
        "order-events": HopEvidence(p50_ms=1.0, p99_ms=2.0, source="http probe"),
    }
    answer = recommend(_input(), evidence)
    payments = answer.chain_estimate.hops[0]
    assert payments.source == "stated" and payments.p99_ms == 120.0
    assert answer.to_dict()["broker"]["measured"] is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("payments", "must differ from the chain's services"),
        ("x" * 81, "at most 80 characters"),
        (5, "must be a string"),
    ],
)
def test_bad_broker_names_are_refused(value: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        _input(broker_service=value)
    assert message in caught.value.errors["broker_service"]


def test_the_broker_name_round_trips_through_the_input_dict() -> None:
    inp = _input(broker_service="  order-events ")
    assert inp.broker_service == "order-events"
    assert parse_input(inp.to_dict()) == inp


def test_what_would_change_the_answer_names_the_measured_delivery_as_a_staleness_floor() -> None:
    inp = _input(caller_waits=False, consumers=3, chain=[
        {"service": "mailer", "p50_ms": 40, "p99_ms": 200, "role": "side-effect"},
    ])  # fmt: skip
    answer = recommend(inp, {"order-events": _broker()}, sensitivity=True)
    assert answer.top.family == "async"
    found = next(item for item in answer.sensitivity if item.input == "staleness_s")
    assert found.threshold == pytest.approx(0.038)
    assert "drops below 0.038 s (now 5 s)" in found.detail
    assert "staleness-budget" in found.detail
    plain = recommend(inp, {}, sensitivity=True)
    assert all(item.threshold != pytest.approx(0.038) for item in plain.sensitivity)
