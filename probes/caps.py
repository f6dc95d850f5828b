"""The hard caps on every probe, worded once for the run form and the command line."""

from __future__ import annotations

from django.conf import settings


def cap_problems(
    *, rate: float | None, concurrency: int, duration_s: float, warmup_s: float, shards: int
) -> dict[str, str]:
    """Field name -> why the value is over its cap; empty when every cap is kept.

    The warm-up counts towards the duration: the target gets that load too.
    """
    problems: dict[str, str] = {}
    if rate is not None and rate > settings.PROBE_MAX_RATE:
        problems["rate"] = (
            f"{rate:g}/s is over the cap of {settings.PROBE_MAX_RATE:g} requests/s "
            "(ARCHWAY_PROBE_MAX_RATE)"
        )
    if concurrency > settings.PROBE_MAX_CONCURRENCY:
        problems["concurrency"] = (
            f"{concurrency} is over the cap of {settings.PROBE_MAX_CONCURRENCY} connections "
            "(ARCHWAY_PROBE_MAX_CONCURRENCY)"
        )
    if duration_s + warmup_s > settings.PROBE_MAX_DURATION_S:
        problems["duration_s"] = (
            f"{duration_s + warmup_s:g} s with the warm-up is over the cap of "
            f"{settings.PROBE_MAX_DURATION_S:g} s (ARCHWAY_PROBE_MAX_DURATION_S)"
        )
    if shards > settings.PROBE_MAX_SHARDS:
        problems["shards"] = (
            f"{shards} is over the cap of {settings.PROBE_MAX_SHARDS} shards "
            "(ARCHWAY_PROBE_MAX_SHARDS)"
        )
    return problems
