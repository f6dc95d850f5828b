"""Archway's pure load engine: asyncio load generation and HDR histograms.

Imports nothing from Django or Celery. The Django side builds a
:class:`Target` from a ``probes.egress.GuardedTarget`` and a :class:`LoadPlan`,
awaits :func:`run_probe` (or calls :func:`run_probe_sync` from a worker) and
stores :meth:`ProbeOutcome.to_dict`. Shard outcomes merge exactly with
:func:`merge_outcomes`.
"""

from __future__ import annotations

from probes.engine.clients import fetch_ownership_token
from probes.engine.histogram import (
    Recorder,
    decode_histogram,
    encode_histogram,
    merge_histograms,
    new_histogram,
    summarize,
)
from probes.engine.model import (
    ERROR_CLASSES,
    LoadPlan,
    ProbeOutcome,
    Progress,
    Target,
    merge_outcomes,
    summary,
)
from probes.engine.runner import run_probe, run_probe_sync

__all__ = [
    "ERROR_CLASSES",
    "LoadPlan",
    "ProbeOutcome",
    "Progress",
    "Recorder",
    "Target",
    "decode_histogram",
    "encode_histogram",
    "fetch_ownership_token",
    "merge_histograms",
    "merge_outcomes",
    "new_histogram",
    "run_probe",
    "run_probe_sync",
    "summarize",
    "summary",
]
