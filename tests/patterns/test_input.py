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


def _hop(**extra: object) -> dict:
    return {"service": "a", "p50_ms": 10, "p99_ms": 40, **extra}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"chain": [_hop()] * 65}, "chain", "at most 64 hops (it has 65)"),
        ({"chain": [_hop(service="s" * 81)]}, "chain[0].service", "at most 80 characters"),
        ({"name": "n" * 121}, "name", "at most 120 characters"),
        ({"description": "d" * 10_001}, "description", "at most 10,000 characters"),
        ({"latency_p99_ms": 1e308}, "latency_p99_ms", "from 0 to 3,600,000"),
        ({"peak_rps": 10**400}, "peak_rps", "from 0 to 10,000,000"),
        ({"consumers": 10**400}, "consumers", "whole number from 0 to 1,000"),
        ({"staleness_s": float("inf")}, "staleness_s", "from 0 to 31,536,000"),
        ({"avg_rps": float("nan")}, "avg_rps", "from 0 to 10,000,000"),
        ({"availability": 100}, "availability", "between 0 and 100 (exclusive)"),
        ({"chain": [_hop(p50_ms=1e308, p99_ms=1e308)]}, "chain[0].p50_ms", "to 3,600,000"),
        ({"chain": [_hop(p99_ms=10**400)]}, "chain[0].p99_ms", "to 3,600,000"),
        ({"chain": [_hop(p99_ms=201)]}, "chain[0].p99_ms", "at most 20 times p50_ms"),
        ({"chain": [_hop(availability=0)]}, "chain[0].availability", "above 0 and at most 100"),
        ({"chain": [_hop(availability=100.5)]}, "chain[0].availability", "at most 100"),
        ({"chain": [_hop(availability="high")]}, "chain[0].availability", "or null"),
        ({"chain": [_hop(role="optional")]}, "chain[0].role", "needed, confirm, side-effect"),
        (
            {"chain": [_hop(role="side-effect", critical=True)]},
            "chain[0].critical",
            "contradicts role 'side-effect'",
        ),
        ({"operation": "delete"}, "operation", "must be one of read, write"),
        ({"long_running": "sometimes"}, "long_running", "true or false"),
    ],
)
def test_limits_are_named_in_the_message(data: dict, field: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_input(data)
    assert message in caught.value.errors[field]


def test_the_largest_accepted_input_parses() -> None:
    inp = parse_input(
        {
            "name": "n" * 120,
            "description": "d" * 10_000,
            "chain": [_hop(service=f"{i:0>80}", p99_ms=200, availability=100) for i in range(64)],
            "latency_p99_ms": 3_600_000,
        }
    )
    assert len(inp.chain) == 64 and inp.chain[0].availability == 100


def test_old_inputs_without_roles_or_operation_keep_their_meaning() -> None:
    """A stored snapshot from before roles: critical decides, nothing else is assumed."""
    old = {
        "name": "checkout",
        "chain": [
            {"service": "inventory", "p50_ms": 10, "p99_ms": 40, "critical": True},
            {"service": "email", "p50_ms": 20, "p99_ms": 90, "critical": False},
        ],
    }
    inp = parse_input(old)
    assert [hop.role for hop in inp.chain] == ["needed", "side-effect"]
    assert [hop.availability for hop in inp.chain] == [None, None]
    assert inp.operation == "write" and inp.long_running is False
    assert parse_input(inp.to_dict()) == inp


def test_a_role_sets_critical_and_critical_alone_sets_the_role() -> None:
    assert Hop("a", 1, 2, role="confirm").critical is True
    assert Hop("a", 1, 2, role="side-effect").critical is False
    assert Hop("a", 1, 2, critical=False).role == "side-effect"
    assert Hop("a", 1, 2) == Hop("a", 1, 2, role="needed")
