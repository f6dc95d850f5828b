"""Diagrams that show how a chosen pattern applies to one use case (pure: no ORM).

Input is the engine's own data: a ``UseCaseInput`` (or the dict a snapshot keeps) and,
optionally, the recommendation dict (``Recommendation.to_dict()``) for timeouts and the
hybrid's steps. Output is a ``graphviz.Digraph`` built with the node/edge API, and
``render_svg`` turns it into an SVG string by running ``dot`` with a time limit.

Safety: service names come from users. Node ids are internal (``n0``, ``n1``, ...), never
a name, and every label goes through ``safe_label``: backslashes are doubled (so ``\\N`` or
``\\l`` stay text), control characters become spaces, the text is cut to
``MAX_LABEL`` characters, and the result is wrapped in ``graphviz.nohtml`` so a label
such as ``<<TABLE>...>>`` is quoted as a string instead of being read as an HTML-like
label. The package then quotes it and escapes every double quote, so
``x"] ; a -> b [color=red`` cannot close the string and inject statements.

The builders also record what they draw (nodes, edges, clusters) in a ``DiagramModel``,
so ``pattern_mermaid`` writes the same graph as a Mermaid flowchart for Markdown that
GitHub, GitLab and docs sites draw. Mermaid labels are quoted and every character that
means something to Mermaid, HTML or a Markdown fence (quotes, ``#``, ``%``, brackets,
``<``, ``>``, ``&``, ``|``, backticks, ``;``) is written as a Mermaid entity code (``#34;``), so
a name cannot close its label, add statements, or end the code block.
"""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import graphviz

from patterns.engine import PATTERN_NAMES, Hop, InputError, UseCaseInput, parse_input

MAX_LABEL = 48
MAX_NODES = 40
# Chains longer than this are drawn with the middle hops folded into one "n more" node.
MAX_HOPS = 12
DOT_TIMEOUT_S = 5.0
DOT_BINARY = "dot"
# Rendered SVGs kept in memory, keyed by a hash of the DOT source (which holds every
# input that shapes the drawing) and the dot binary. About 10 kB each.
SVG_CACHE_SIZE = 256
# dot subprocesses run at once by ``render_svgs`` (a log export draws one per record).
DOT_WORKERS = 2

FONT = "DejaVu Sans"
COLOURS = {
    "caller": "#eef2ff",
    "service": "#ffffff",
    "broker": "#fff7e6",
    "dlq": "#fdecec",
    "compensate": "#b42318",
    "async": "#5b6472",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class DiagramError(Exception):
    """The diagram could not be built or rendered (too big, dot failed or took too long)."""


def _text(value: object) -> str:
    text = _CONTROL.sub(" ", str(value)).strip()
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1].rstrip() + "…"
    return text


def safe_label(*lines: object) -> graphviz.quoting.NoHtml:
    """A safe label: each line escaped, joined with DOT's centred line break."""
    return graphviz.nohtml("\\n".join(_text(line).replace("\\", "\\\\") for line in lines))


def _ms(value: float) -> str:
    return f"{value:g} ms" if value < 10 else f"{math.ceil(value):d} ms"


@dataclass
class DiagramModel:
    """What a diagram holds, independent of DOT: drawn again as Mermaid."""

    nodes: list[tuple[str, list[str], str, str, bool]] = field(default_factory=list)
    # (id, label lines, kind, cluster key or "", dashed)
    edges: list[tuple[str, str, list[str], bool]] = field(default_factory=list)
    # (tail, head, label lines, dashed)
    clusters: dict[str, str] = field(default_factory=dict)  # key -> title


@dataclass
class _Builder:
    """Hands out internal node ids, enforces the node limit and records the model."""

    graph: graphviz.Digraph
    count: int = 0
    model: DiagramModel = field(default_factory=DiagramModel)
    _cluster_of: dict[int, str] = field(default_factory=dict)

    def cluster(self, graph: Any, key: str, title: str, **attrs: str) -> None:
        graph.attr(label=safe_label(title), **attrs)
        self._cluster_of[id(graph)] = key
        self.model.clusters[key] = _text(title)

    def node(self, *lines: object, kind: str = "service", graph: Any = None, **attrs: str) -> str:
        if self.count >= MAX_NODES:
            raise DiagramError(f"A diagram may have at most {MAX_NODES} nodes.")
        node_id = f"n{self.count}"
        self.count += 1
        style = {
            "caller": {"shape": "oval", "fillcolor": COLOURS["caller"]},
            "service": {"shape": "box", "fillcolor": COLOURS["service"]},
            "broker": {"shape": "cylinder", "fillcolor": COLOURS["broker"]},
            "dlq": {"shape": "cylinder", "fillcolor": COLOURS["dlq"]},
            "step": {"shape": "box", "style": "rounded,filled", "fillcolor": COLOURS["service"]},
        }[kind]
        (graph or self.graph).node(node_id, safe_label(*lines), **{**style, **attrs})
        cluster = self._cluster_of.get(id(graph), "") if graph is not None else ""
        dashed = "dashed" in attrs.get("style", "")
        self.model.nodes.append((node_id, [_text(x) for x in lines], kind, cluster, dashed))
        return node_id

    def edge(self, tail: str, head: str, *lines: object, graph: Any = None, **attrs: str) -> None:
        dashed = any(word in attrs.get("style", "") for word in ("dashed", "dotted"))
        self.model.edges.append((tail, head, [_text(x) for x in lines], dashed))
        if lines:
            attrs["label"] = safe_label(*lines)
        (graph or self.graph).edge(tail, head, **attrs)


def _new_graph(title: str) -> graphviz.Digraph:
    graph = graphviz.Digraph(name="pattern")
    graph.attr(
        rankdir="LR",
        label=safe_label(title),
        labelloc="t",
        fontname=FONT,
        fontsize="12",
        bgcolor="transparent",
        pad="0.2",
        nodesep="0.35",
        ranksep="0.45",
    )
    graph.attr("node", fontname=FONT, fontsize="10", style="filled", color="#5b6472")
    graph.attr("edge", fontname=FONT, fontsize="9", color="#5b6472")
    return graph


def _as_input(use_case: UseCaseInput | Mapping[str, Any]) -> UseCaseInput:
    if isinstance(use_case, UseCaseInput):
        return use_case
    known = {key: value for key, value in use_case.items() if key in UseCaseInput.__annotations__}
    try:
        return parse_input(known)
    except InputError as exc:
        raise DiagramError(f"The use case cannot be drawn: {exc}") from None


def _fold(hops: Sequence[Hop]) -> list[Hop | str]:
    """Long chains keep their ends; the middle becomes one 'n more' entry."""
    if len(hops) <= MAX_HOPS:
        return list(hops)
    keep = MAX_HOPS - 1
    head, tail = hops[: keep // 2], hops[len(hops) - (keep - keep // 2) :]
    return [*head, f"… {len(hops) - keep} more hops", *tail]


def _timeouts(recommendation: Mapping[str, Any] | None) -> dict[str, Any]:
    for item in (recommendation or {}).get("supporting", []):
        if item.get("id") == "timeouts":
            return dict(item.get("settings", {}).get("per_hop_timeout_ms", {}))
    return {}


def _caller_name(inp: UseCaseInput) -> str:
    return {"browser": "browser", "public-api": "API client", "internal": "internal caller"}.get(
        inp.caller, inp.caller
    )


def _entry(inp: UseCaseInput) -> str:
    return inp.name or "use case"


# --- one builder per pattern family ------------------------------------------


def _sync_chain(b: _Builder, inp: UseCaseInput, rec: Mapping[str, Any] | None, proto: str) -> None:
    timeouts = _timeouts(rec)
    caller = b.node(_caller_name(inp), kind="caller")
    entry = b.node(_entry(inp), f"{proto} service")
    budget = f"budget p95 {_ms(inp.latency_p95_ms)} / p99 {_ms(inp.latency_p99_ms)}"
    b.edge(caller, entry, proto, budget)
    previous, hop_no = entry, 0
    for hop in _fold(inp.chain):
        if isinstance(hop, str):
            node = b.node(hop, style="dashed")
            b.edge(previous, node, style="dashed")
            previous = node
            continue
        hop_no += 1
        node = b.node(hop.service, f"p50 {_ms(hop.p50_ms)} · p99 {_ms(hop.p99_ms)}")
        if hop.critical:
            timeout = timeouts.get(hop.service)
            extra = f"timeout {_ms(float(timeout))}" if timeout else f"{proto}"
            b.edge(previous, node, f"hop {hop_no}", extra)
            previous = node
        else:
            b.edge(entry, node, "after the answer", style="dashed", color=COLOURS["async"])
    if not inp.chain:
        b.edge(entry, b.node("no downstream calls", style="dashed"), style="dotted")


def _fan_out(b: _Builder, inp: UseCaseInput) -> None:
    producer = b.node(_entry(inp), "producer")
    caller = b.node(_caller_name(inp), kind="caller")
    b.edge(caller, producer, "request" if inp.caller_waits else "fire and forget")
    broker = b.node("event broker", kind="broker")
    topic = b.node(f"topic: {_topic(inp)}", kind="broker")
    b.edge(producer, broker, "publish event", f"{inp.delivery}")
    b.edge(broker, topic)
    consumers = [hop.service for hop in inp.chain] or [
        f"consumer {i}" for i in range(1, max(1, min(inp.consumers, MAX_HOPS)) + 1)
    ]
    ordering = f"key: {inp.ordering}" if inp.ordering != "none" else "subscribe"
    for name in consumers[:MAX_HOPS]:
        b.edge(topic, b.node(name, "consumer"), ordering)


def _queue(b: _Builder, inp: UseCaseInput) -> None:
    caller = b.node(_caller_name(inp), kind="caller")
    producer = b.node(_entry(inp), "producer")
    b.edge(caller, producer, "202 Accepted" if not inp.caller_waits else "request")
    queue = b.node("work queue", f"peak {inp.peak_rps:g}/s", kind="broker")
    b.edge(producer, queue, "enqueue")
    workers = [hop.service for hop in inp.chain][:MAX_HOPS] or ["worker 1", "worker 2", "worker 3"]
    for name in workers:
        b.edge(queue, b.node(name, "competing consumer"), "ack after work")
    dlq = b.node("dead-letter queue", kind="dlq")
    b.edge(queue, dlq, "after 5 failed deliveries", style="dashed", color=COLOURS["compensate"])


def _saga(b: _Builder, inp: UseCaseInput, orchestrated: bool) -> None:
    caller = b.node(_caller_name(inp), kind="caller")
    steps = [hop.service for hop in inp.chain][:MAX_HOPS] or ["step 1", "step 2", "step 3"]
    if orchestrated:
        hub = b.node(_entry(inp), "saga orchestrator")
        b.edge(caller, hub, "start saga", "saga id")
    else:
        hub = b.node("event broker", kind="broker")
        first = b.node(_entry(inp), "starts the saga")
        b.edge(caller, first, "request")
        b.edge(first, hub, "OrderStarted" if "order" in _entry(inp).lower() else "saga started")
    nodes = [b.node(f"{i}. {name}", "do step", kind="step") for i, name in enumerate(steps, 1)]
    for i, node in enumerate(nodes, 1):
        if orchestrated:
            b.edge(hub, node, f"step {i}")
        else:
            b.edge(hub, node, f"event {i}")
            b.edge(node, hub, "done", style="dotted")
    # Compensations undo the completed steps in reverse order.
    comps = [
        b.node(f"undo {name}", kind="step", color=COLOURS["compensate"])
        for name in reversed(steps[:-1])
    ]
    if comps:
        b.edge(
            nodes[-1], comps[0], "fails: compensate", style="dashed", color=COLOURS["compensate"]
        )
        for i, (a, c) in enumerate(zip(comps, comps[1:], strict=False), 2):
            b.edge(a, c, f"then {i}", style="dashed", color=COLOURS["compensate"])


def _hybrid(b: _Builder, inp: UseCaseInput, rec: Mapping[str, Any] | None, pattern: str) -> None:
    option = next((o for o in (rec or {}).get("options", []) if o.get("pattern") == pattern), None)
    critical = [hop.service for hop in inp.chain if hop.critical]
    deferred = [hop.service for hop in inp.chain if not hop.critical]
    sync_steps = list((option or {}).get("sync_steps") or ["validate request", *critical])
    async_steps = list((option or {}).get("async_steps") or ["publish event", *deferred])
    caller = b.node(_caller_name(inp), kind="caller")

    with b.graph.subgraph(name="cluster_sync") as sync:
        b.cluster(
            sync, "sync", "synchronous phase: the caller waits", style="rounded", color="#4f5bd5"
        )
        sync_nodes = [b.node(step, graph=sync) for step in sync_steps[:MAX_HOPS]]
    with b.graph.subgraph(name="cluster_async") as after:
        b.cluster(
            after, "after", "after the answer: events", style="rounded,dashed", color="#5b6472"
        )
        broker = b.node("event broker", kind="broker", graph=after)
        async_nodes = [b.node(step, graph=after) for step in async_steps[:MAX_HOPS]]

    b.edge(caller, sync_nodes[0] if sync_nodes else broker, "request")
    for a, c in zip(sync_nodes, sync_nodes[1:], strict=False):
        b.edge(a, c)
    last = sync_nodes[-1] if sync_nodes else caller
    b.edge(last, caller, "response", style="bold")
    b.edge(last, broker, "publish", style="dashed")
    for node in async_nodes:
        b.edge(broker, node, style="dashed", color=COLOURS["async"])


def _topic(inp: UseCaseInput) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (inp.name or "events").lower()).strip("-")
    return slug or "events"


# --- public API --------------------------------------------------------------


def pattern_diagram(
    use_case: UseCaseInput | Mapping[str, Any],
    pattern: str,
    recommendation: Mapping[str, Any] | None = None,
) -> graphviz.Digraph:
    """The graph for ``pattern`` applied to ``use_case`` (see the module docstring)."""
    return _build(use_case, pattern, recommendation).graph


def pattern_mermaid(
    use_case: UseCaseInput | Mapping[str, Any],
    pattern: str,
    recommendation: Mapping[str, Any] | None = None,
) -> str:
    """The same graph as ``pattern_diagram``, as a Mermaid flowchart (no code fence)."""
    return mermaid_flowchart(_build(use_case, pattern, recommendation).model)


def pattern_drawing(
    use_case: UseCaseInput | Mapping[str, Any],
    pattern: str,
    recommendation: Mapping[str, Any] | None = None,
) -> tuple[graphviz.Digraph, DiagramModel]:
    """``pattern_diagram``'s graph and the model ``mermaid_flowchart`` draws, from one
    build, for a caller that wants both (the log zip writes the SVG and the Mermaid)."""
    built = _build(use_case, pattern, recommendation)
    return built.graph, built.model


_MERMAID_SPECIAL = re.compile(r"[\"#%&<>|`;\[\]{}()\\]")
_MERMAID_SHAPES = {
    "caller": ('(["', '"])'),
    "service": ('["', '"]'),
    "broker": ('[("', '")]'),
    "dlq": ('[("', '")]'),
    "step": ('("', '")'),
}


def mermaid_text(lines: Iterable[str]) -> str:
    """Label lines for a quoted Mermaid label: special characters as entity codes."""
    return "<br/>".join(
        _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m.group())};", _text(line)) for line in lines
    )


def mermaid_flowchart(model: DiagramModel) -> str:
    out = ["flowchart LR"]

    def node_line(node: tuple[str, list[str], str, str, bool], indent: str) -> str:
        node_id, lines, kind, _, _ = node
        opening, closing = _MERMAID_SHAPES[kind]
        return f"{indent}{node_id}{opening}{mermaid_text(lines)}{closing}"

    for node in model.nodes:
        if not node[3]:
            out.append(node_line(node, "    "))
    for key, title in model.clusters.items():
        out.append(f'    subgraph {key}["{mermaid_text([title])}"]')
        out += [node_line(node, "        ") for node in model.nodes if node[3] == key]
        out.append("    end")
    for tail, head, lines, dashed in model.edges:
        arrow = "-.->" if dashed else "-->"
        label = f'|"{mermaid_text(lines)}"|' if lines else ""
        out.append(f"    {tail} {arrow}{label} {head}")
    dashed_nodes = [node[0] for node in model.nodes if node[4]]
    if dashed_nodes:
        out.append("    classDef folded stroke-dasharray: 4 3")
        out.append(f"    class {','.join(dashed_nodes)} folded")
    return "\n".join(out) + "\n"


def _build(
    use_case: UseCaseInput | Mapping[str, Any],
    pattern: str,
    recommendation: Mapping[str, Any] | None,
) -> _Builder:
    if pattern not in PATTERN_NAMES:
        raise DiagramError(f"No diagram for the unknown pattern “{_text(pattern)}”.")
    inp = _as_input(use_case)
    graph = _new_graph(
        f"{PATTERN_NAMES[pattern]}: {inp.name}" if inp.name else PATTERN_NAMES[pattern]
    )
    b = _Builder(graph)
    if pattern in {"rest", "grpc"}:
        _sync_chain(b, inp, recommendation, "REST" if pattern == "rest" else "gRPC")
    elif pattern == "event-driven":
        _fan_out(b, inp)
    elif pattern == "message-queue":
        _queue(b, inp)
    elif pattern == "saga-orchestration":
        _saga(b, inp, orchestrated=True)
    elif pattern == "saga-choreography":
        _saga(b, inp, orchestrated=False)
    else:
        _hybrid(b, inp, recommendation, pattern)
    return b


class _SvgCache:
    """A small thread-safe LRU of rendered SVGs; failures are never cached."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            svg = self._items.get(key)
            if svg is not None:
                self._items.move_to_end(key)
            return svg

    def put(self, key: str, svg: str) -> None:
        with self._lock:
            self._items[key] = svg
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


svg_cache = _SvgCache(SVG_CACHE_SIZE)


def svg_cache_key(graph: graphviz.Digraph) -> str:
    """What the SVG depends on: the DOT source (labels, shapes, colours, layout
    attributes, i.e. everything the use case, pattern and recommendation put in) and
    the binary that draws it."""
    digest = hashlib.sha256()
    digest.update(DOT_BINARY.encode())
    digest.update(b"\0")
    digest.update(graph.source.encode())
    return digest.hexdigest()


class SvgStore(Protocol):
    """Where drawn SVGs outlive the process, keyed by ``svg_cache_key``. The caller brings
    it (``decisions.records.diagrams`` keeps them in the database): this module stays pure.
    """

    def get_many(self, keys: Collection[str]) -> dict[str, str]: ...

    def put_many(self, svgs: Mapping[str, str]) -> None: ...


def render_svg(
    graph: graphviz.Digraph, *, timeout: float = DOT_TIMEOUT_S, store: SvgStore | None = None
) -> str:
    """Run ``dot -Tsvg`` on the graph's source, killed after ``timeout`` seconds.

    The result is looked up by ``svg_cache_key`` first in this process's small cache, then
    in ``store``: the same source gives the same SVG, so a repeat export or a record that
    did not change costs no subprocess. A new drawing goes into both."""
    key = svg_cache_key(graph)
    svg = svg_cache.get(key)
    if svg is None and store is not None:
        svg = store.get_many([key]).get(key)
    if svg is None:
        svg = _run_dot(graph.source, timeout)
        if store is not None:
            store.put_many({key: svg})
    svg_cache.put(key, svg)
    return svg


def render_svgs(
    graphs: Iterable[graphviz.Digraph | None],
    *,
    timeout: float = DOT_TIMEOUT_S,
    store: SvgStore | None = None,
) -> list[str | DiagramError | None]:
    """``render_svg`` for many graphs: one look-up in ``store`` for all of them, then each
    distinct source not found drawn once, up to ``DOT_WORKERS`` dot processes at once (each
    with its own time limit). In order; a failure is returned as its DiagramError, a None
    graph gives None."""
    graphs = list(graphs)
    keys = [None if graph is None else svg_cache_key(graph) for graph in graphs]
    found: dict[str, str | DiagramError] = {}
    for key in {key for key in keys if key is not None}:
        svg = svg_cache.get(key)
        if svg is not None:
            found[key] = svg
    missing = {key for key in keys if key is not None and key not in found}
    if store is not None and missing:
        found.update(store.get_many(missing))
    to_draw = {
        key: graph.source
        for key, graph in zip(keys, graphs, strict=True)
        if key is not None and graph is not None and key not in found
    }

    def draw(source: str) -> str | DiagramError:
        try:
            return _run_dot(source, timeout)
        except DiagramError as exc:
            return exc

    if len(to_draw) < 2 or DOT_WORKERS < 2:
        drawn = [draw(source) for source in to_draw.values()]
    else:
        with ThreadPoolExecutor(max_workers=DOT_WORKERS, thread_name_prefix="dot") as pool:
            drawn = list(pool.map(draw, to_draw.values()))
    new = {key: svg for key, svg in zip(to_draw, drawn, strict=True) if isinstance(svg, str)}
    if store is not None and new:
        store.put_many(new)
    found.update(zip(to_draw, drawn, strict=True))
    for key, answer in found.items():
        if isinstance(answer, str):
            svg_cache.put(key, answer)
    return [None if key is None else found[key] for key in keys]


def _run_dot(source: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            [DOT_BINARY, "-Tsvg"],
            input=source.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DiagramError(f"dot took longer than {timeout:g} s and was stopped.") from None
    except OSError as exc:
        raise DiagramError(f"dot could not run: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()[:300]
        raise DiagramError(f"dot failed: {message}")
    return _strip_prologue(done.stdout.decode())


_IDS = re.compile(r'(<(?:g|a)\b[^>]*?)\s+id="[^"]*"')
_COMMENTS = re.compile(r"<!--.*?-->\n?", re.S)
_TITLES = re.compile(r"<title>[^<]*</title>\n?")


def _strip_prologue(svg: str) -> str:
    """Make the SVG fit to sit inline in HTML: drop the XML declaration and DOCTYPE, and
    graphviz's element ids (graph0, node1, ...), which would clash between two diagrams
    on one page or in one PDF."""
    start = svg.find("<svg")
    return _IDS.sub(r"\1", svg[start:] if start >= 0 else svg)


def diagram_svg(
    use_case: UseCaseInput | Mapping[str, Any],
    pattern: str,
    recommendation: Mapping[str, Any] | None = None,
    *,
    timeout: float = DOT_TIMEOUT_S,
    store: SvgStore | None = None,
) -> str:
    """``render_svg(pattern_diagram(...))`` in one call."""
    return render_svg(
        pattern_diagram(use_case, pattern, recommendation), timeout=timeout, store=store
    )


def print_svg(svg: str) -> str:
    """The SVG without what a printed page never shows: graphviz's comments and the
    ``<title>`` of every node, edge and the graph (hover tooltips in a browser). Shapes
    and text are untouched, so the drawing stays the same vector graphics with fewer
    elements for the PDF renderer to parse and walk."""
    return _TITLES.sub("", _COMMENTS.sub("", svg))
