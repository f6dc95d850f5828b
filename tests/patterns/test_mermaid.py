"""The Mermaid flowchart: the same graph as the DOT one, with every label escaped."""

from __future__ import annotations

import re

import pytest

from patterns.diagrams import mermaid_text, pattern_diagram, pattern_mermaid
from patterns.engine import PATTERN_ORDER, Hop, UseCaseInput, recommend

HOSTILE = [
    'x"] --> evil["owned',
    "a|b|c",
    "```\n# heading after the fence",
    "<script>alert(1)</script>",
    "#quot; and &amp;",
    "click n0 call alert()",
    "%%{init: {'theme': 'dark'}}%%",
    "end",
    "tab\tand\x00nul",
]

LABEL = r'"(?:[^"`<>\n]|<br/>)*"'
GRAMMAR = [
    re.compile(r"^flowchart LR$"),
    re.compile(rf"^    +n\d+(\(\[{LABEL}\]\)|\[\({LABEL}\)\]|\[{LABEL}\]|\({LABEL}\))$"),
    re.compile(rf"^    subgraph (sync|after)\[{LABEL}\]$"),
    re.compile(r"^    end$"),
    re.compile(rf"^    n\d+ (-->|-\.->)(\|{LABEL}\|)? n\d+$"),
    re.compile(r"^    classDef folded stroke-dasharray: 4 3$"),
    re.compile(r"^    class n\d+(,n\d+)* folded$"),
]


def order(name: str = "Place an order", services=("inventory", "payments", "shipping")):
    return UseCaseInput(
        name=name,
        caller="browser",
        latency_p95_ms=400,
        latency_p99_ms=900,
        consumers=3,
        distributed_transaction=True,
        chain=tuple(Hop(s, 10, 50) for s in services) + (Hop("notify", 5, 30, critical=False),),
    )


def assert_grammar(text: str) -> None:
    for line in text.rstrip("\n").split("\n"):
        assert any(rule.match(line) for rule in GRAMMAR), line


@pytest.mark.parametrize("pattern", PATTERN_ORDER)
def test_each_pattern_has_the_same_nodes_and_edges_as_its_dot_graph(pattern):
    inp = order()
    rec = recommend(inp).to_dict()
    dot = pattern_diagram(inp, pattern, rec).source
    mermaid = pattern_mermaid(inp, pattern, rec)
    assert_grammar(mermaid)
    dot_nodes = set(re.findall(r"^\s+(n\d+) \[", dot, re.M))
    dot_edges = re.findall(r"^\s+(n\d+) -> (n\d+)", dot, re.M)
    assert set(re.findall(r"^\s+(n\d+)[\[(]", mermaid, re.M)) == dot_nodes
    assert re.findall(r"^\s+(n\d+) -\.?-> ?(?:\|\"[^\"]*\"\| )?(n\d+)", mermaid, re.M) == dot_edges
    assert "inventory" in mermaid and "payments" in mermaid


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("pattern", ["rest", "saga-orchestration", "request-event"])
def test_hostile_names_stay_inside_their_labels(name, pattern):
    inp = order(name=name, services=(name, "payments"))
    mermaid = pattern_mermaid(inp, pattern, recommend(inp).to_dict())
    assert_grammar(mermaid)
    assert "```" not in mermaid and "<script" not in mermaid and "%%" not in mermaid
    assert mermaid.count("\n") == len(mermaid.rstrip("\n").split("\n"))


def test_escaped_text_uses_mermaid_entity_codes():
    assert mermaid_text(['say "hi" #1 <b>|x|']) == "say #34;hi#34; #35;1 #60;b#62;#124;x#124;"
    assert mermaid_text(["two", "lines"]) == "two<br/>lines"
