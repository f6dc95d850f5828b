"""Rule packs: versioned YAML files of readable rules, loaded and checked up front.

A pack is ``name``, ``version``, optional ``base_scores`` (pattern -> starting score) and
``rules``. A rule is::

    - id: many-consumers            # unique, lowercase words joined by dashes
      when: consumers >= 3          # safe expression, see patterns.engine.expr
      effects: {event-driven: 2.5}  # pattern -> score delta
      explanation: "..."            # why; {name} / {name:.0f} insert context values
      notes: {rest: "..."}          # optional short strengths/weaknesses per pattern
      risk: {id: ..., severity: high|medium|low, text: "..."}   # optional
      supporting: [timeouts, retries]                            # optional
      enabled: true                 # optional; false switches an inherited rule off

Everything is validated when the pack loads: unknown keys, patterns, supporting ids or
names in conditions and templates, and forbidden constructs are errors naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from patterns.engine.context import ALL_NAMES, LATE_NAMES, sample_context
from patterns.engine.expr import Evaluator, ExpressionError, compile_condition
from patterns.engine.meta import PATTERN_ORDER, SEVERITIES, SUPPORTING_ORDER

RULE_PACK_VERSION = "2026.12.2"
DEFAULT_RULE_PACK_PATH = Path(__file__).resolve().parent.parent / "rules" / "default.yaml"

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")
_RULE_KEYS = frozenset(
    {"id", "when", "effects", "explanation", "notes", "risk", "supporting", "enabled"}
)
_PACK_KEYS = frozenset(
    {
        "name",
        "version",
        "description",
        "base_scores",
        "rules",
        "requirements",
        "complexity",
        "simplicity_margin",
    }
)
_REQUIREMENT_KEYS = frozenset({"id", "applies", "check", "fails", "reason", "detail", "enabled"})
# Requirements whose check needs numbers per option, computed in requirements.py.
COMPUTED_CHECKS: tuple[str, ...] = ("waited-latency", "waited-availability")


class RulePackError(ValueError):
    """A rule pack could not be loaded; the message names the rule and the problem."""


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` and ``{name:spec}`` placeholders; nothing else is interpreted."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), match.group(0))
        spec = match.group(2) or ""
        if isinstance(value, float) and not spec:
            spec = ".0f" if abs(value) >= 1000 or value == int(value) else ".4g"
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)

    return _PLACEHOLDER.sub(fill, template)


def _check_template(text: Any, where: str, extra: tuple[str, ...] = ()) -> str:
    if not isinstance(text, str) or not text.strip():
        raise RulePackError(f"{where}: must be a non-empty string")
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in ALL_NAMES and match.group(1) not in extra:
            raise RulePackError(f"{where}: unknown placeholder {{{match.group(1)}}}")
    return text.strip()


@dataclass(frozen=True)
class RiskSpec:
    id: str
    severity: str
    text: str


@dataclass(frozen=True)
class Rule:
    id: str
    when: str
    effects: Mapping[str, float]
    explanation: str
    notes: Mapping[str, str] = field(default_factory=dict)
    risk: RiskSpec | None = None
    supporting: tuple[str, ...] = ()
    enabled: bool = True
    reads: tuple[str, ...] = ()
    late: bool = False
    test: Evaluator = field(default=lambda ctx: False, compare=False, repr=False)


@dataclass(frozen=True)
class Requirement:
    """A hard requirement: an option that fails it is ruled out, not scored down.

    ``applies`` says when the use case has the requirement at all. A declared requirement
    lists in ``fails`` the patterns that cannot meet it (each with a condition, ``true``
    when always); a computed one (``check``) is evaluated per option from numbers the
    engine derives (what the option waits for, and how available that is).
    """

    id: str
    reason: str
    applies: Evaluator
    applies_source: str
    check: str = ""
    fails: Mapping[str, Evaluator] = field(default_factory=dict)
    detail: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Complexity:
    """What running a pattern costs beyond the code itself, as a score penalty."""

    cost: float
    why: str


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    rules: tuple[Rule, ...]
    base_scores: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    requirements: tuple[Requirement, ...] = ()
    complexity: Mapping[str, Complexity] = field(default_factory=dict)
    # A more complex option goes first only when it outscores a simpler one by more.
    simplicity_margin: float = 0.0

    @cached_property
    def active_requirements(self) -> tuple[Requirement, ...]:
        return tuple(req for req in self.requirements if req.enabled)

    @cached_property
    def active_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    @cached_property
    def early_rules(self) -> tuple[Rule, ...]:
        """Active rules evaluated before scoring (those not reading top/top_family)."""
        return tuple(rule for rule in self.active_rules if not rule.late)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def merged_with(self, other: RulePack) -> RulePack:
        """This pack with ``other`` layered on top.

        A rule in ``other`` replaces the rule with the same id in place (so its position,
        and the order of explanations, stays the same); new ids are appended. Base scores
        are overridden per pattern. The result is named and versioned after both packs so
        a snapshot records exactly what produced it.
        """
        overrides = {rule.id: rule for rule in other.rules}
        merged = [overrides.pop(rule.id, rule) for rule in self.rules]
        merged.extend(rule for rule in other.rules if rule.id in overrides)
        req_overrides = {req.id: req for req in other.requirements}
        requirements = [req_overrides.pop(req.id, req) for req in self.requirements]
        requirements.extend(req for req in other.requirements if req.id in req_overrides)
        return RulePack(
            name=f"{self.name}+{other.name}",
            version=f"{self.version}+{other.version}",
            rules=tuple(merged),
            base_scores={**self.base_scores, **other.base_scores},
            description=other.description or self.description,
            requirements=tuple(requirements),
            complexity={**self.complexity, **other.complexity},
            simplicity_margin=other.simplicity_margin or self.simplicity_margin,
        )


def _parse_rule(raw: Any, index: int) -> Rule:
    if not isinstance(raw, Mapping):
        raise RulePackError(f"rules[{index}]: must be a mapping")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RulePackError(f"rules[{index}]: id must be lowercase words joined by dashes")
    where = f"rule {rule_id!r}"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise RulePackError(f"{where}: unknown keys {', '.join(map(str, unknown))}")
    when: Any = raw.get("when")  # compile_condition takes only a non-empty string
    try:
        test, reads = compile_condition(when, ALL_NAMES)
    except ExpressionError as exc:
        raise RulePackError(f"{where}: condition {when!r}: {exc}") from None
    late = any(name in LATE_NAMES for name in reads)

    effects_raw = raw.get("effects") or {}
    if not isinstance(effects_raw, Mapping):
        raise RulePackError(f"{where}: effects must map pattern ids to numbers")
    effects: dict[str, float] = {}
    for pattern, delta in effects_raw.items():
        if pattern not in PATTERN_ORDER:
            raise RulePackError(
                f"{where}: unknown pattern {pattern!r}; known: {', '.join(PATTERN_ORDER)}"
            )
        if isinstance(delta, bool) or not isinstance(delta, int | float):
            raise RulePackError(f"{where}: effect for {pattern} must be a number")
        effects[pattern] = float(delta)
    if late and effects:
        raise RulePackError(
            f"{where}: a rule that reads top or top_family is evaluated after scoring "
            "and cannot have effects"
        )

    explanation = _check_template(raw.get("explanation"), f"{where}: explanation")
    notes_raw = raw.get("notes") or {}
    if not isinstance(notes_raw, Mapping):
        raise RulePackError(f"{where}: notes must map pattern ids to text")
    notes: dict[str, str] = {}
    for pattern, text in notes_raw.items():
        if pattern not in effects:
            raise RulePackError(f"{where}: note for {pattern!r}, which the rule has no effect on")
        notes[pattern] = _check_template(text, f"{where}: note for {pattern}")

    risk = None
    if raw.get("risk") is not None:
        risk_raw = raw["risk"]
        if not isinstance(risk_raw, Mapping) or set(risk_raw) != {"id", "severity", "text"}:
            raise RulePackError(f"{where}: risk needs exactly id, severity and text")
        if not isinstance(risk_raw["id"], str) or not _ID.match(risk_raw["id"]):
            raise RulePackError(f"{where}: risk id must be lowercase words joined by dashes")
        if risk_raw["severity"] not in SEVERITIES:
            raise RulePackError(f"{where}: risk severity must be one of {', '.join(SEVERITIES)}")
        risk = RiskSpec(
            id=risk_raw["id"],
            severity=risk_raw["severity"],
            text=_check_template(risk_raw["text"], f"{where}: risk text"),
        )

    supporting_raw = raw.get("supporting") or []
    if not isinstance(supporting_raw, list) or any(
        item not in SUPPORTING_ORDER for item in supporting_raw
    ):
        raise RulePackError(
            f"{where}: supporting must be a list drawn from {', '.join(SUPPORTING_ORDER)}"
        )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RulePackError(f"{where}: enabled must be true or false")

    rule = Rule(
        id=rule_id,
        when=when.strip(),
        effects=effects,
        explanation=explanation,
        notes=notes,
        risk=risk,
        supporting=tuple(supporting_raw),
        enabled=enabled,
        reads=reads,
        late=late,
        test=test,
    )
    try:
        rule.test(_SAMPLE)
    except (TypeError, ZeroDivisionError) as exc:
        raise RulePackError(f"{where}: condition fails on the default inputs: {exc}") from None
    return rule


_SAMPLE: dict[str, Any] = sample_context()


def _condition(source: Any, where: str) -> tuple[Evaluator, str]:
    """Compile an early condition (one that may not read top/top_family) and try it once."""
    if source is True:
        source = "true"
    try:
        test, reads = compile_condition(source, ALL_NAMES)
    except ExpressionError as exc:
        raise RulePackError(f"{where}: condition {source!r}: {exc}") from None
    if any(name in LATE_NAMES for name in reads):
        raise RulePackError(f"{where}: a requirement cannot read top or top_family")
    try:
        test(_SAMPLE)
    except (TypeError, ZeroDivisionError) as exc:
        raise RulePackError(f"{where}: condition fails on the default inputs: {exc}") from None
    return test, source.strip()


def _parse_requirement(raw: Any, index: int) -> Requirement:
    if not isinstance(raw, Mapping):
        raise RulePackError(f"requirements[{index}]: must be a mapping")
    req_id = raw.get("id")
    if not isinstance(req_id, str) or not _ID.match(req_id):
        raise RulePackError(f"requirements[{index}]: id must be lowercase words joined by dashes")
    where = f"requirement {req_id!r}"
    unknown = sorted(set(raw) - _REQUIREMENT_KEYS)
    if unknown:
        raise RulePackError(f"{where}: unknown keys {', '.join(map(str, unknown))}")
    applies, applies_source = _condition(raw.get("applies", "true"), f"{where}: applies")
    check = raw.get("check", "")
    fails_raw = raw.get("fails")
    fails: dict[str, Evaluator] = {}
    if check:
        if check not in COMPUTED_CHECKS:
            raise RulePackError(f"{where}: check must be one of {', '.join(COMPUTED_CHECKS)}")
        if fails_raw:
            raise RulePackError(f"{where}: a computed check has no fails list")
    else:
        if isinstance(fails_raw, list):
            fails_raw = dict.fromkeys(fails_raw, "true")
        if not isinstance(fails_raw, Mapping) or not fails_raw:
            raise RulePackError(f"{where}: fails must list the patterns that cannot meet it")
        for pattern, condition in fails_raw.items():
            if pattern not in PATTERN_ORDER:
                raise RulePackError(f"{where}: unknown pattern {pattern!r}")
            fails[pattern], _ = _condition(condition, f"{where}: fails.{pattern}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RulePackError(f"{where}: enabled must be true or false")
    detail = ""
    if raw.get("detail") is not None:
        detail = _check_template(raw["detail"], f"{where}: detail", extra=("option",))
    elif not check:
        raise RulePackError(f"{where}: a declared requirement needs a detail text")
    return Requirement(
        id=req_id,
        reason=_check_template(raw.get("reason"), f"{where}: reason"),
        applies=applies,
        applies_source=applies_source,
        check=check,
        fails=fails,
        detail=detail,
        enabled=enabled,
    )


def _parse_complexity(raw: Any, source: str) -> dict[str, Complexity]:
    if not isinstance(raw, Mapping):
        raise RulePackError(f"{source}: complexity must map pattern ids to cost and why")
    costs: dict[str, Complexity] = {}
    for pattern, entry in raw.items():
        where = f"{source}: complexity.{pattern}"
        if pattern not in PATTERN_ORDER:
            raise RulePackError(f"{where}: unknown pattern")
        if not isinstance(entry, Mapping) or set(entry) != {"cost", "why"}:
            raise RulePackError(f"{where}: needs exactly cost and why")
        cost = entry["cost"]
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not 0 <= cost <= 100:
            raise RulePackError(f"{where}: cost must be a number from 0 to 100")
        costs[pattern] = Complexity(float(cost), _check_template(entry["why"], where))
    return costs


def rule_pack_from_dict(data: Any, source: str = "<rule pack>") -> RulePack:
    """Build and validate a pack from parsed YAML/JSON data."""
    if not isinstance(data, Mapping):
        raise RulePackError(f"{source}: a rule pack must be a mapping")
    unknown = sorted(set(data) - _PACK_KEYS)
    if unknown:
        raise RulePackError(f"{source}: unknown keys {', '.join(map(str, unknown))}")
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not name.strip():
        raise RulePackError(f"{source}: name must be a non-empty string")
    if not isinstance(version, str | int | float) or not str(version).strip():
        raise RulePackError(f'{source}: version must be given (quote it, e.g. "2026.11.1")')
    base_raw = data.get("base_scores") or {}
    if not isinstance(base_raw, Mapping):
        raise RulePackError(f"{source}: base_scores must map pattern ids to numbers")
    base: dict[str, float] = {}
    for pattern, score in base_raw.items():
        if pattern not in PATTERN_ORDER or isinstance(score, bool):
            raise RulePackError(f"{source}: base_scores: unknown pattern {pattern!r}")
        if not isinstance(score, int | float):
            raise RulePackError(f"{source}: base_scores: {pattern} must be a number")
        base[pattern] = float(score)
    rules_raw = data.get("rules") or []
    if not isinstance(rules_raw, list):
        raise RulePackError(f"{source}: rules must be a list")
    rules = [_parse_rule(raw, i) for i, raw in enumerate(rules_raw)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulePackError(f"rule {rule.id!r}: id used twice in {source}")
        seen.add(rule.id)
    requirements_raw = data.get("requirements") or []
    if not isinstance(requirements_raw, list):
        raise RulePackError(f"{source}: requirements must be a list")
    requirements = [_parse_requirement(raw, i) for i, raw in enumerate(requirements_raw)]
    if len({req.id for req in requirements}) != len(requirements):
        raise RulePackError(f"{source}: a requirement id is used twice")
    margin = data.get("simplicity_margin", 0)
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin <= 100:
        raise RulePackError(f"{source}: simplicity_margin must be a number from 0 to 100")
    return RulePack(
        name=name.strip(),
        version=str(version).strip(),
        rules=tuple(rules),
        base_scores=base,
        description=str(data.get("description") or "").strip(),
        requirements=tuple(requirements),
        complexity=_parse_complexity(data.get("complexity") or {}, source),
        simplicity_margin=float(margin),
    )


def load_rule_pack(path: str | Path) -> RulePack:
    """Load a rule pack from a YAML file (``yaml.safe_load``; no custom tags)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulePackError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulePackError(f"{path}: invalid YAML: {exc}") from None
    return rule_pack_from_dict(data, source=str(path))


@lru_cache(maxsize=1)
def default_rule_pack() -> RulePack:
    """The pack shipped with Archway (``patterns/rules/default.yaml``), loaded once."""
    return load_rule_pack(DEFAULT_RULE_PACK_PATH)


def disabled(rule: Rule) -> Rule:
    """A copy of ``rule`` switched off (handy for tests and overrides in code)."""
    return replace(rule, enabled=False)
