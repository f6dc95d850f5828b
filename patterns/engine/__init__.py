"""Archway's pure recommendation engine: dataclasses in, dataclasses out.

Imports nothing from Django or Celery (``tests/patterns/test_engine_purity.py`` checks).
"""

from __future__ import annotations

from patterns.engine.context import DERIVED_HELP, LATE_HELP
from patterns.engine.expr import ExpressionError
from patterns.engine.inputs import (
    CHOICES,
    FIELD_HELP,
    HOP_ROLES,
    MAX_DESCRIPTION_CHARS,
    MAX_HOP_SPREAD,
    MAX_HOPS,
    MAX_NAME_CHARS,
    MAX_SERVICE_CHARS,
    NUMBER_RANGES,
    Hop,
    InputError,
    UseCaseInput,
    parse_input,
)
from patterns.engine.latency import (
    ChainEstimate,
    HopEstimate,
    HopEvidence,
    chain_estimate,
    sum_quantiles,
    wilson_lower_bound,
)
from patterns.engine.meta import (
    BASE_STRENGTHS,
    BASE_WEAKNESSES,
    FAMILIES,
    PATTERN_FAMILY,
    PATTERN_NAMES,
    PATTERN_ORDER,
    SUPPORTING_ORDER,
    ms_text,
)
from patterns.engine.recommend import Option, Reason, Recommendation, Risk, recommend
from patterns.engine.relaxations import Relaxation
from patterns.engine.requirements import AvailabilityCheck, Miss
from patterns.engine.rules import (
    DEFAULT_RULE_PACK_PATH,
    RULE_PACK_VERSION,
    Requirement,
    Rule,
    RulePack,
    RulePackError,
    default_rule_pack,
    load_rule_pack,
    rule_pack_from_dict,
)
from patterns.engine.sensitivity import Sensitivity
from patterns.engine.supporting import Supporting

__all__ = [
    "BASE_STRENGTHS",
    "BASE_WEAKNESSES",
    "CHOICES",
    "DEFAULT_RULE_PACK_PATH",
    "DERIVED_HELP",
    "FAMILIES",
    "FIELD_HELP",
    "HOP_ROLES",
    "LATE_HELP",
    "MAX_DESCRIPTION_CHARS",
    "MAX_HOP_SPREAD",
    "MAX_HOPS",
    "MAX_NAME_CHARS",
    "MAX_SERVICE_CHARS",
    "NUMBER_RANGES",
    "PATTERN_FAMILY",
    "PATTERN_NAMES",
    "PATTERN_ORDER",
    "RULE_PACK_VERSION",
    "SUPPORTING_ORDER",
    "AvailabilityCheck",
    "ChainEstimate",
    "ExpressionError",
    "Hop",
    "HopEstimate",
    "HopEvidence",
    "InputError",
    "Miss",
    "Option",
    "Reason",
    "Recommendation",
    "Relaxation",
    "Requirement",
    "Risk",
    "Rule",
    "RulePack",
    "RulePackError",
    "Sensitivity",
    "Supporting",
    "UseCaseInput",
    "chain_estimate",
    "default_rule_pack",
    "load_rule_pack",
    "ms_text",
    "parse_input",
    "recommend",
    "rule_pack_from_dict",
    "sum_quantiles",
    "wilson_lower_bound",
]
