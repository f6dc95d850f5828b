"""HDR histograms and outcome merging: exact, lossless, JSON-able."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from probes.engine import (
    LoadPlan,
    ProbeOutcome,
    Recorder,
    decode_histogram,
    encode_histogram,
    merge_histograms,
    merge_outcomes,
    new_histogram,
    summarize,
    summary,
)
from probes.engine.histogram import value_at_percentile
from tests.probes.outcomes import SUMMARY_KEYS


def lognormal_values(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [int(rng.lognormvariate(8.5, 1.2)) for _ in range(n)]


def library_histogram(values: list[int]):
    h = new_histogram()
    for v in values:
        h.record_value(v)
    return h


def test_encode_then_decode_gives_back_the_same_histogram() -> None:
    h = library_histogram(lognormal_values(1, 5000))
    back = decode_histogram(encode_histogram(h))
    assert back.get_total_count() == 5000
    assert list(back.counts) == list(h.counts)
    assert summarize(back) == summarize(h)


def test_merged_percentiles_equal_those_of_one_histogram_fed_all_values() -> None:
    parts = [lognormal_values(seed, 3000) for seed in range(4)]
    everything = library_histogram([v for part in parts for v in part])
    merged = merge_histograms(encode_histogram(library_histogram(p)) for p in parts)
    assert list(merged.counts) == list(everything.counts)
    assert merged.get_total_count() == everything.get_total_count()
    for pct in (50, 90, 95, 99, 99.9, 100):
        assert merged.get_value_at_percentile(pct) == everything.get_value_at_percentile(pct)
    assert summarize(merged) == summarize(everything)


def test_the_fast_recorder_matches_the_library_bucket_for_bucket() -> None:
    values = lognormal_values(7, 20000) + [0, 1, 2, 1023, 2048, 59_999_999, 60_000_000]
    recorder = Recorder()
    for v in values:
        recorder.record(v)
    expected = library_histogram(values)
    for pct in (0, 1, 50, 99, 99.99, 100):
        assert recorder.value_at_percentile(pct) == expected.get_value_at_percentile(pct)
    h = recorder.finish()
    assert list(h.counts) == list(expected.counts)
    assert h.get_total_count() == expected.get_total_count()
    assert h.get_max_value() == expected.get_max_value()
    assert h.get_min_value() == expected.get_min_value()
    assert value_at_percentile(h, 99.9) == expected.get_value_at_percentile(99.9)


@pytest.mark.parametrize("batch", [1, 7, 255, 256, 5000])
def test_recording_in_batches_fills_the_same_buckets_as_one_by_one(batch: int) -> None:
    values = lognormal_values(11, 20000) + [-5, 0, 1, 2047, 2048, 4095, 4096, 60_000_000, 2**40]
    one_by_one, batched = Recorder(), Recorder()
    for v in values:
        one_by_one.record(v)
    for start in range(0, len(values), batch):
        batched.record_many(np.array(values[start : start + batch], dtype=np.int64))
    batched.record_many(np.array([], dtype=np.int64))
    assert batched.count == one_by_one.count == len(values)
    for pct in (0, 50, 99, 99.99, 100):
        assert batched.value_at_percentile(pct) == one_by_one.value_at_percentile(pct)
    assert list(batched.finish().counts) == list(one_by_one.finish().counts)


def test_values_beyond_sixty_seconds_are_clamped_not_lost() -> None:
    recorder = Recorder()
    recorder.record(500_000_000)
    recorder.record(-5)
    assert recorder.finish().get_total_count() == 2


def test_summaries_are_in_milliseconds() -> None:
    h = library_histogram([20_000] * 99 + [300_000])
    s = summarize(h)
    assert s["count"] == 100
    assert s["p50_ms"] == pytest.approx(20.0, abs=0.05)
    assert s["max_ms"] == pytest.approx(300.0, rel=0.001)
    assert summarize(new_histogram())["count"] == 0


def shard_outcome(values: list[int], second_values: dict[int, list[int]], errors: int):
    h = encode_histogram(library_histogram(values))
    per_second = []
    for t, vals in sorted(second_values.items()):
        sh = library_histogram(vals)
        s = summarize(sh)
        per_second.append(
            {
                "t": t,
                "rate": len(vals),
                "p50_ms": s["p50_ms"],
                "p99_ms": s["p99_ms"],
                "errors": errors,
                "histogram": encode_histogram(sh),
            }
        )
    return ProbeOutcome(
        model="open",
        requests=len(values) + errors,
        completed=len(values),
        errors={"5xx": errors} if errors else {},
        status_counts={"200": len(values)},
        duration_s=2.0,
        rps=len(values) / 2.0,
        histogram=h,
        service_histogram=h,
        per_second=per_second,
    )


def test_shard_outcomes_merge_exactly() -> None:
    a_vals, b_vals = lognormal_values(1, 400), lognormal_values(2, 600)
    a = shard_outcome(a_vals, {0: a_vals[:200], 1: a_vals[200:]}, errors=1)
    b = shard_outcome(b_vals, {0: b_vals[:300], 1: b_vals[300:500], 2: b_vals[500:]}, errors=2)
    merged = merge_outcomes([a, b])
    assert merged.requests == a.requests + b.requests
    assert merged.completed == 1000
    assert merged.errors == {"5xx": 3}
    assert merged.status_counts == {"200": 1000}
    assert merged.rps == pytest.approx(500.0)
    assert summarize(merged.histogram) == summarize(library_histogram(a_vals + b_vals))
    assert [row["t"] for row in merged.per_second] == [0, 1, 2]
    first = merged.per_second[0]
    assert first["rate"] == 500 and first["errors"] == 3
    assert first["p99_ms"] == summarize(library_histogram(a_vals[:200] + b_vals[:300]))["p99_ms"]


def test_outcomes_survive_a_json_round_trip() -> None:
    vals = lognormal_values(3, 100)
    outcome = shard_outcome(vals, {0: vals}, errors=0)
    again = ProbeOutcome.from_dict(json.loads(json.dumps(outcome.to_dict())))
    assert again == outcome
    s = summary(again)
    assert set(s) == SUMMARY_KEYS


def test_a_plan_splits_connections_between_shards() -> None:
    plan = LoadPlan("closed", concurrency=5, shards=2)
    assert [plan.for_shard(k, 2).shard_concurrency for k in range(2)] == [3, 2]
    with pytest.raises(ValueError):
        LoadPlan("open", rate=0)
    with pytest.raises(ValueError):
        LoadPlan("sideways")
