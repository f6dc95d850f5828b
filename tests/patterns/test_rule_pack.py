"""Rule packs: the default pack loads, unsafe conditions are refused, teams override by id."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from patterns.engine import (
    DEFAULT_RULE_PACK_PATH,
    PATTERN_ORDER,
    RULE_PACK_VERSION,
    RulePackError,
    UseCaseInput,
    default_rule_pack,
    load_rule_pack,
    recommend,
    rule_pack_from_dict,
)


def _pack(*rules: dict, name: str = "team", version: str = "1") -> dict:
    return {"name": name, "version": version, "rules": list(rules)}


def _rule(rule_id: str = "r", when: str = "consumers >= 2", **extra: object) -> dict:
    return {"id": rule_id, "when": when, "explanation": "Because.", **extra}


def test_the_default_pack_loads_with_a_version_matching_the_constant() -> None:
    pack = load_rule_pack(DEFAULT_RULE_PACK_PATH)
    assert pack.version == RULE_PACK_VERSION
    assert 25 <= len(pack.rules) <= 70
    assert len({rule.id for rule in pack.rules}) == len(pack.rules)


@pytest.mark.parametrize(
    "when",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "caller.upper() == 'X'",
        "consumers.__class__",
        "[c for c in caller]",
        "lambda: 1",
        "2 ** 100000",
        "caller[0] == 'b'",
        "{'a': 1}",
        "f'{caller}'",
        "undefined_name > 3",
        "consumers >=",
    ],
)
def test_unsafe_or_invalid_conditions_are_refused_naming_the_rule(when: str) -> None:
    with pytest.raises(RulePackError) as caught:
        rule_pack_from_dict(_pack(_rule("sneaky-rule", when)))
    assert "sneaky-rule" in str(caught.value)


def test_string_arithmetic_cannot_run_away() -> None:
    with pytest.raises(RulePackError, match="non-number"):
        rule_pack_from_dict(_pack(_rule("big", 'caller * 1000000000 == ""')))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (_rule(effects={"carrier-pigeon": 1}), "unknown pattern"),
        (_rule(effects={"rest": "lots"}), "must be a number"),
        (_rule(supporting=["prayer"]), "supporting"),
        (_rule(risk={"id": "x", "severity": "apocalyptic", "text": "t"}), "severity"),
        (_rule(explanation="Uses {nonsense}."), "unknown placeholder"),
        (_rule(when='top == "rest"', effects={"rest": 1}), "cannot have effects"),
        (_rule(colour="red"), "unknown keys"),
        (_rule(notes={"grpc": "x"}), "no effect on"),
    ],
)
def test_malformed_rules_are_refused(rule: dict, message: str) -> None:
    with pytest.raises(RulePackError, match=message):
        rule_pack_from_dict(_pack(rule))


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(RulePackError, match="used twice"):
        rule_pack_from_dict(_pack(_rule("twice"), _rule("twice")))


def test_conditions_support_the_documented_language() -> None:
    pack = rule_pack_from_dict(
        _pack(
            _rule(
                "all-of-it",
                'not message_loss_ok and caller in ("browser", "internal") '
                "and 0 <= consumers * 2 + 1 < 100 and peak_rps / (avg_rps + 1) > 1 "
                "and -latency_p95_ms < 0 and (1 if caller_waits else 0) == 1",
                effects={"grpc": 10},
            )
        )
    )
    rec = recommend(UseCaseInput(), rule_pack=pack)
    assert rec.top.pattern == "grpc"
    assert rec.top.because[0].inputs["caller"] == "internal"


def test_a_team_pack_overrides_rules_by_id_and_adds_new_ones(tmp_path: Path) -> None:
    team_file = tmp_path / "team.yaml"
    team_file.write_text(
        yaml.safe_dump(
            _pack(
                _rule("browser-caller", 'caller == "browser"', effects={"grpc": 5.0}),
                _rule("we-love-queues", "true == True", effects={"message-queue": 20}),
                {**_rule("many-consumers"), "enabled": False},
                name="acme",
                version="7",
            )
            | {
                "requirements": [
                    {
                        "id": "every-consumer",
                        "applies": "consumers > 1",
                        "fails": ["message-queue"],
                        "reason": "Acme fans out from its queues by binding one per consumer.",
                        "detail": "{option} would need a queue per consumer",
                        "enabled": False,
                    }
                ]
            }
        )
    )
    base = default_rule_pack()
    merged = base.merged_with(load_rule_pack(team_file))
    assert merged.name == "archway-default+acme"
    assert merged.version == f"{RULE_PACK_VERSION}+7"
    ids = [rule.id for rule in merged.rules]
    assert ids.index("browser-caller") == [r.id for r in base.rules].index("browser-caller")
    assert ids[-1] == "we-love-queues"
    assert merged.rule("browser-caller").effects == {"grpc": 5.0}

    rec = recommend(UseCaseInput(caller="browser", consumers=5), rule_pack=merged)
    assert rec.top.pattern == "message-queue"
    assert "many-consumers" not in rec.fired_rules
    assert rec.to_dict()["rule_pack"]["version"] == f"{RULE_PACK_VERSION}+7"


def test_unreadable_and_invalid_yaml_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="cannot read"):
        load_rule_pack(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(RulePackError, match="invalid YAML"):
        load_rule_pack(broken)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(RulePackError):
        load_rule_pack(tagged)


def _requirement(**extra: object) -> dict:
    return {
        "id": "no-brokers",
        "applies": "true",
        "fails": ["event-driven"],
        "reason": "We run no broker.",
        "detail": "{option} needs a broker",
        **extra,
    }


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        (_requirement(fails=["carrier-pigeon"]), "unknown pattern"),
        (_requirement(fails=[]), "fails must list"),
        (_requirement(check="vibes", fails=None), "check must be one of"),
        (_requirement(check="waited-latency"), "a computed check has no fails list"),
        (_requirement(detail=None), "needs a detail text"),
        (_requirement(detail="{option} and {nonsense}"), "unknown placeholder"),
        (_requirement(applies='top == "rest"'), "cannot read top"),
        (_requirement(applies="undefined > 1"), "unknown name"),
        (_requirement(colour="red"), "unknown keys"),
        (_requirement(fails={"event-driven": "consumers.__class__"}), "fails.event-driven"),
    ],
)
def test_malformed_requirements_are_refused_naming_them(requirement: dict, message: str) -> None:
    with pytest.raises(RulePackError, match=message):
        rule_pack_from_dict({**_pack(), "requirements": [requirement]})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"complexity": {"rest": {"cost": -1, "why": "x"}}}, "cost must be a number"),
        ({"complexity": {"rest": {"cost": 1}}}, "needs exactly cost and why"),
        ({"complexity": {"teleport": {"cost": 1, "why": "x"}}}, "unknown pattern"),
        ({"simplicity_margin": "a lot"}, "simplicity_margin"),
    ],
)
def test_malformed_complexity_is_refused(extra: dict, message: str) -> None:
    with pytest.raises(RulePackError, match=message):
        rule_pack_from_dict({**_pack(), **extra})


def test_every_default_requirement_states_the_reason_from_the_seed() -> None:
    pack = default_rule_pack()
    ids = {req.id for req in pack.requirements}
    assert ids == {
        "latency-budget",
        "availability-target",
        "all-or-nothing",
        "no-message-loss",
        "current-answer",
        "every-consumer",
        "caller-gets-result",
        "no-long-wait",
        "staleness-budget",
    }
    for req in pack.requirements:
        assert len(req.reason.split()) >= 15, req.id
    assert set(pack.complexity) == set(PATTERN_ORDER)
    assert pack.complexity["rest"].cost < pack.complexity["saga-orchestration"].cost


def test_a_team_requirement_rules_options_out() -> None:
    team = rule_pack_from_dict({**_pack(), "requirements": [_requirement()]})
    merged = default_rule_pack().merged_with(team)
    rec = recommend(UseCaseInput(caller_waits=False, consumers=4), rule_pack=merged)
    assert ("event-driven", "no-brokers") in {(m.pattern, m.requirement) for m in rec.ruled_out}
    assert rec.top.pattern != "event-driven"
    assert "Event-driven publish/subscribe needs a broker" in {m.detail for m in rec.ruled_out}
