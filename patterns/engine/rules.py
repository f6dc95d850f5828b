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
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from patterns.engine.context import ALL_NAMES, LATE_NAMES, sample_context
from patterns.engine.expr import Evaluator, ExpressionError, compile_condition
from patterns.engine.meta import PATTERN_ORDER, SEVERITIES, SUPPORTING_ORDER

RULE_PACK_VERSION = "2026.11.1"
DEFAULT_RULE_PACK_PATH = Path(__file__).resolve().parent.parent / "rules" / "default.yaml"

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")
_RULE_KEYS = frozenset(
    {"id", "when", "effects", "explanation", "notes", "risk", "supporting", "enabled"}
)
_PACK_KEYS = frozenset({"name", "version", "description", "base_scores", "rules"})


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


def _check_template(text: Any, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise RulePackError(f"{where}: must be a non-empty string")
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in ALL_NAMES:
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
class RulePack:
    name: str
    version: str
    rules: tuple[Rule, ...]
    base_scores: Mapping[str, float] = field(default_factory=dict)
    description: str = ""

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

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
        return RulePack(
            name=f"{self.name}+{other.name}",
            version=f"{self.version}+{other.version}",
            rules=tuple(merged),
            base_scores={**self.base_scores, **other.base_scores},
            description=other.description or self.description,
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
    return RulePack(
        name=name.strip(),
        version=str(version).strip(),
        rules=tuple(rules),
        base_scores=base,
        description=str(data.get("description") or "").strip(),
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
