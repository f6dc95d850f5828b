"""Benchmark the recommendation engine: ``python bench/bench_recommend.py`` from the repo root.

Measures, per realistic scenario (tests/patterns/scenarios.py), the time of a warm
``recommend()`` call (rule pack loaded, chain estimates cached as in production); a
5-hop chain without and with the sensitivity search (what would change the answer);
and the chain estimate alone, both warm (cached) and cold (cache cleared before every
call, i.e. the full FFT convolution), up to the 64-hop input limit. Prints a Markdown
section for docs/benchmarks.md. No Django.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.timing import percentile, timings_ms  # noqa: E402
from patterns.engine import (  # noqa: E402
    Hop,
    default_rule_pack,
    parse_input,
    recommend,
    sum_quantiles,
)
from patterns.engine.latency import _sum_quantiles  # noqa: E402
from tests.patterns.scenarios import SCENARIOS  # noqa: E402

TARGET_MS = 2.0
SENSITIVITY_TARGET_MS = 25.0
REPEATS = 400
SENSITIVITY_REPEATS = 60
FIVE_HOPS = (
    Hop("gateway", 5, 20),
    Hop("orders", 12, 50),
    Hop("inventory", 30, 150),
    Hop("pricing", 8, 25),
    Hop("payment", 40, 300),
)


def row(label: str, values: list[float], target: float = TARGET_MS) -> str:
    median = statistics.median(values)
    return (
        f"| {label} | {median:.3f} | {percentile(values, 95):.3f} | {target:g} "
        f"| {median / target:.2f} |"
    )


def main() -> None:
    default_rule_pack()
    lines = [
        "## Recommendation engine",
        "",
        f"`recommend()` per realistic use case ({len(SCENARIOS)} scenarios from "
        "`tests/patterns/scenarios.py`), warm: rule pack loaded once, chain estimates "
        f"cached as in production; {REPEATS} timed calls each after a warm-up. "
        f"Target: median <= {TARGET_MS:g} ms, {SENSITIVITY_TARGET_MS:g} ms with the "
        "sensitivity search (ratio = median / target; below 1 meets it). "
        f"Python {sys.version.split()[0]}.",
        "",
        "| case | median ms | p95 ms | target ms | ratio to target |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    all_values: list[float] = []
    for scenario in SCENARIOS:
        inp = parse_input(scenario.data)
        values = timings_ms(lambda inp=inp: recommend(inp), REPEATS)
        all_values += values
        lines.append(row(scenario.id, values))
    five = parse_input({"chain": [h.to_dict() for h in FIVE_HOPS]})
    five_values = timings_ms(lambda: recommend(five), REPEATS)
    lines.append(row("**5-hop chain (target case)**", five_values))
    sensitive_values = timings_ms(
        lambda: recommend(five, sensitivity=True), SENSITIVITY_REPEATS, warmup=5
    )
    lines.append(row("**5-hop chain with sensitivity**", sensitive_values, SENSITIVITY_TARGET_MS))

    def five_cold() -> object:
        _sum_quantiles.cache_clear()
        return recommend(five)

    lines.append(row("5-hop chain, chain cache cleared each call", timings_ms(five_cold, 100)))
    lines.append(row("**all scenarios**", all_values))

    pairs = [(h.p50_ms, h.p99_ms) for h in FIVE_HOPS]
    ten = pairs * 2
    heavy = [(10.0, 200.0)] * 3
    sixty_four = [(5.0 + i, (5.0 + i) * (2 + i % 18)) for i in range(64)]

    def cold(hops: list[tuple[float, float]]) -> Callable[[], object]:
        def run() -> object:
            _sum_quantiles.cache_clear()
            return sum_quantiles(hops)

        return run

    lines += [
        "",
        "Chain estimate alone (`sum_quantiles`): warm is a cache hit; cold clears the cache "
        "first, so it measures the full discretise + FFT convolution.",
        "",
        "| case | median ms | p95 ms | target ms | ratio to target |",
        "| --- | ---: | ---: | ---: | ---: |",
        row("5 hops, warm", timings_ms(lambda: sum_quantiles(pairs), REPEATS)),
        row("5 hops, cold", timings_ms(cold(pairs), repeats=100)),
        row("10 hops, cold", timings_ms(cold(ten), repeats=100)),
        row("3 heavy-tailed hops (p99 = 20 x p50), cold", timings_ms(cold(heavy), repeats=50)),
        row("64 hops (the input limit), cold", timings_ms(cold(sixty_four), repeats=10, warmup=2)),
    ]
    plain = "meets" if statistics.median(five_values) <= TARGET_MS else "MISSES"
    searched = statistics.median(sensitive_values) <= SENSITIVITY_TARGET_MS
    lines += [
        "",
        f"The 5-hop case {plain} the {TARGET_MS:g} ms median target without the sensitivity "
        f"search and {'meets' if searched else 'MISSES'} the {SENSITIVITY_TARGET_MS:g} ms "
        "target with it.",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
