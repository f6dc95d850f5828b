"""Delivery accounting on recorded sequences, and broker outcomes' summary and merge."""

from __future__ import annotations

import pytest

from probes.engine import (
    DeliveryLedger,
    ProbeOutcome,
    count_deliveries,
    encode_histogram,
    merge_outcomes,
    new_histogram,
    summary,
)
from tests.probes.outcomes import SUMMARY_KEYS


def test_everything_delivered_once_in_order() -> None:
    counts = count_deliveries(range(6), [(s % 2, s) for s in range(6)])
    assert (counts.published, counts.received) == (6, 6)
    assert (counts.lost, counts.duplicates, counts.reordered) == (0, 0, 0)


def test_a_skipped_sequence_number_is_lost() -> None:
    counts = count_deliveries(range(5), [(0, 0), (0, 1), (0, 3), (0, 4)])
    assert counts.lost == 1 and counts.reordered == 0


def test_a_message_acknowledged_twice_is_a_duplicate_not_a_second_receipt() -> None:
    counts = count_deliveries(range(3), [(0, 0), (0, 1), (0, 1), (0, 2), (0, 0)])
    assert (counts.received, counts.duplicates, counts.lost) == (3, 2, 0)


def test_reordering_counts_per_key_only() -> None:
    # Keys 0 and 1 interleave; only key 0 sees 4 after 6.
    arrivals = [(0, 0), (1, 1), (1, 3), (0, 2), (0, 6), (0, 4), (1, 5)]
    counts = count_deliveries([0, 1, 2, 3, 4, 5, 6], arrivals)
    assert counts.reordered == 1
    assert counts.lost == 0


def test_a_failed_publish_is_withdrawn_not_lost() -> None:
    ledger = DeliveryLedger()
    for seq in range(4):
        ledger.published(seq)
    ledger.withdrawn(2)
    for seq in (0, 1, 3):
        assert ledger.arrived(0, seq)
    assert ledger.counts().lost == 0
    assert ledger.knows(1) and not ledger.knows(2) and not ledger.knows(99)


def _broker_outcome(lost: int, dups: int, confirm_us: list[int], kind: str = "redis"):
    h = new_histogram()
    for v in (1000, 2000, 3000):
        h.record_value(v)
    c = new_histogram()
    for v in confirm_us:
        c.record_value(v)
    return ProbeOutcome(
        model="open",
        requests=3,
        completed=3 - lost,
        errors={},
        status_counts={},
        duration_s=1.0,
        rps=3.0,
        histogram=encode_histogram(h),
        service_histogram=encode_histogram(h),
        kind=kind,
        lost=lost,
        duplicates=dups,
        reordered=1,
        confirm_histogram=encode_histogram(c) if confirm_us else "",
    )


def test_broker_summary_adds_the_delivery_fields() -> None:
    s = summary(_broker_outcome(1, 2, [500] * 99 + [9000]))
    assert set(s) == SUMMARY_KEYS | {
        "lost",
        "duplicates",
        "reordered",
        "confirm_p50_ms",
        "confirm_p99_ms",
    }
    assert (s["lost"], s["duplicates"], s["reordered"]) == (1, 2, 1)
    assert s["confirm_p50_ms"] == pytest.approx(0.5, abs=0.01)
    assert s["confirm_p99_ms"] == pytest.approx(0.5, abs=0.01)
    assert summary(_broker_outcome(0, 0, []))["confirm_p99_ms"] is None
    assert summary(_broker_outcome(0, 0, []))["confirm_p50_ms"] is None


def test_http_summary_has_no_delivery_fields() -> None:
    assert set(summary(_broker_outcome(0, 0, [], kind="http"))) == SUMMARY_KEYS


def test_broker_outcomes_merge_counts_and_confirm_histograms() -> None:
    merged = merge_outcomes(
        [_broker_outcome(1, 0, [1000] * 10), _broker_outcome(2, 3, [8000] * 10)]
    )
    assert (merged.lost, merged.duplicates, merged.reordered) == (3, 3, 2)
    s = summary(merged)
    assert s["confirm_p99_ms"] == pytest.approx(8.0, rel=0.01)
    assert s["requests"] == 6


def test_outcomes_of_different_kinds_do_not_merge() -> None:
    with pytest.raises(ValueError, match="kinds"):
        merge_outcomes([_broker_outcome(0, 0, []), _broker_outcome(0, 0, [], kind="amqp")])


def test_an_outcome_round_trips_through_its_dict() -> None:
    outcome = _broker_outcome(1, 1, [700])
    assert ProbeOutcome.from_dict(outcome.to_dict()) == outcome
