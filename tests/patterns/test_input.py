"""parse_input: defaults, types, ranges, and every error reported at once."""

from __future__ import annotations

import pytest

from patterns.engine import CHOICES, FIELD_HELP, Hop, InputError, UseCaseInput, parse_input


def test_an_empty_input_takes_the_defaults() -> None:
    assert parse_input({}) == UseCaseInput()


def test_a_full_input_round_trips() -> None:
    inp = UseCaseInput(
        name="checkout",
        caller="browser",
        consistency="strong",
        chain=(Hop("inventory", 10, 40), Hop("email", 20, 90, critical=False)),
        consumers=3,
    )
    assert parse_input(inp.to_dict()) == inp


def test_every_field_has_help_text_and_every_choice_field_a_default_in_its_choices() -> None:
    defaults = UseCaseInput()
    for name in UseCaseInput.__dataclass_fields__:
        assert FIELD_HELP[name].strip()
    for name, allowed in CHOICES.items():
        assert getattr(defaults, name) in allowed


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"consistency": "linearizable"},
            "consistency",
            "must be one of strong, read-your-writes, eventual",
        ),
        ({"caller": 3}, "caller", "must be one of browser, public-api, internal"),
        (
            {"latency_p95_ms": 500, "latency_p99_ms": 400},
            "latency_p99_ms",
            "must be >= latency_p95_ms",
        ),
        ({"availability": 100}, "availability", "between 0 and 100"),
        ({"availability": 0}, "availability", "between 0 and 100"),
        ({"staleness_s": -1}, "staleness_s", "must be a number from 0 to 31,536,000"),
        ({"peak_rps": "lots"}, "peak_rps", "must be a number"),
        ({"peak_rps": float("nan")}, "peak_rps", "must be a number"),
        ({"caller_waits": "yes"}, "caller_waits", "must be true or false"),
        ({"consumers": 2.5}, "consumers", "whole number"),
        ({"consumers": True}, "consumers", "whole number"),
        ({"peak_rps": 5, "avg_rps": 10}, "peak_rps", "must be >= avg_rps"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"chain": "a,b"}, "chain", "must be a list"),
        (
            {"chain": [{"service": "a", "p50_ms": 10, "p99_ms": 5}]},
            "chain[0].p99_ms",
            "must be >= p50_ms",
        ),
        (
            {"chain": [{"service": "a", "p50_ms": 0, "p99_ms": 5}]},
            "chain[0].p50_ms",
            "from 0.01",
        ),
        ({"chain": [{"p50_ms": 1, "p99_ms": 5}]}, "chain[0].service", "non-empty"),
        (
            {"chain": [{"service": "a", "p50_ms": 1, "p99_ms": 5, "critical": "no"}]},
            "chain[0].critical",
            "true or false",
        ),
        (
            {"chain": [{"service": "a", "p50_ms": 1, "p99_ms": 5, "rps": 3}]},
            "chain[0].rps",
            "unknown field",
        ),
        (
            {"delivery": "exactly-once"},
            "delivery",
            "must be one of at-most-once, at-least-once, effectively-once",
        ),
    ],
)
def test_bad_values_are_reported_by_field(data: dict, field: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_input(data)
    assert field in caught.value.errors
    assert message in caught.value.errors[field]


def test_all_errors_are_collected_before_raising() -> None:
    good = {"service": "a", "p50_ms": 10, "p99_ms": 20}
    bad = {"service": "b", "p50_ms": 10, "p99_ms": 5}
    with pytest.raises(InputError) as caught:
        parse_input(
            {
                "consistency": "nope",
                "ordering": "random",
                "availability": 120,
                "chain": [good, good, bad],
            }
        )
    assert set(caught.value.errors) == {
        "consistency",
        "ordering",
        "availability",
        "chain[2].p99_ms",
    }
    assert "chain[2].p99_ms" in str(caught.value)


def test_a_non_mapping_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        parse_input([1, 2])  # type: ignore[arg-type]
    assert "input" in caught.value.errors
