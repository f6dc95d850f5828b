"""Timing helpers shared by the in-process benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def timings_ms(fn: Callable[[], object], repeats: int, warmup: int = 20) -> list[float]:
    """``repeats`` wall-clock timings of ``fn()`` in milliseconds, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
