from __future__ import annotations

from django import template

from patterns.engine import PATTERN_FAMILY, PATTERN_NAMES

register = template.Library()


@register.filter
def pattern_name(pattern_id: str) -> str:
    return PATTERN_NAMES.get(pattern_id, pattern_id)


@register.filter
def pattern_family(pattern_id: str) -> str:
    return PATTERN_FAMILY.get(pattern_id, "")


@register.filter
def percent(value: float | None) -> str:
    """A percentage as people write it: 99.9, 99.99, 68.2179 (four decimals at most)."""
    if value is None or value == "":
        return ""
    return format(round(float(value), 4), "g")


@register.filter
def thousands(number: int) -> str:
    """10000 -> "10,000" (list counts)."""
    return f"{number:,}"
