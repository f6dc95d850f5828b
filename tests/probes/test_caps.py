from __future__ import annotations

import pytest

from probes.caps import cap_problems

WITHIN = dict(rate=100.0, concurrency=8, duration_s=10.0, warmup_s=1.0, shards=2)


@pytest.fixture(autouse=True)
def caps(settings):
    settings.PROBE_MAX_RATE, settings.PROBE_MAX_CONCURRENCY = 5000.0, 64
    settings.PROBE_MAX_DURATION_S, settings.PROBE_MAX_SHARDS = 120.0, 8


def test_a_probe_within_every_cap_has_no_problem():
    assert cap_problems(**WITHIN) == {}


@pytest.mark.parametrize(
    ("field", "value", "names"),
    [
        ("rate", 5001.0, "ARCHWAY_PROBE_MAX_RATE"),
        ("concurrency", 65, "ARCHWAY_PROBE_MAX_CONCURRENCY"),
        ("duration_s", 121.0, "ARCHWAY_PROBE_MAX_DURATION_S"),
        ("shards", 9, "ARCHWAY_PROBE_MAX_SHARDS"),
    ],
)
def test_each_cap_names_its_field_and_setting(field, value, names):
    problems = cap_problems(**{**WITHIN, field: value})
    assert list(problems) == [field]
    assert names in problems[field] and "over the cap" in problems[field]


def test_the_warm_up_counts_towards_the_duration_cap():
    assert cap_problems(**{**WITHIN, "duration_s": 115.0, "warmup_s": 5.0}) == {}
    problems = cap_problems(**{**WITHIN, "duration_s": 115.0, "warmup_s": 6.0})
    assert "121 s with the warm-up" in problems["duration_s"]


def test_a_closed_probe_has_no_rate_to_cap():
    assert cap_problems(**{**WITHIN, "rate": None}) == {}
