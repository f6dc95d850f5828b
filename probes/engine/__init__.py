"""Archway's pure load engine: asyncio load generation and HDR histograms.

Imports nothing from Django or Celery. The Django side builds a
:class:`Target` from a ``probes.egress.GuardedTarget`` and a :class:`LoadPlan`,
awaits :func:`run_probe` (or calls :func:`run_probe_sync` from a worker) and
stores :meth:`ProbeOutcome.to_dict`. Shard outcomes merge exactly with
:func:`merge_outcomes`. HTTP and gRPC targets (``grpc``/``grpcs`` schemes) run
through :func:`run_probe`; broker targets (:class:`BrokerTarget`) through
:func:`run_broker_probe`, and :func:`cleanup_leftovers` deletes what a killed
broker probe left.
"""

from __future__ import annotations

from probes.engine.broker_clients import BrokerTarget, pinned_tls_context
from probes.engine.brokers import (
    BrokerError,
    cleanup_leftovers,
    cleanup_leftovers_sync,
    run_broker_probe,
    run_broker_probe_sync,
    shard_tag,
)
from probes.engine.clients import fetch_ownership_token
from probes.engine.deliveries import DeliveryCounts, DeliveryLedger, count_deliveries
from probes.engine.grpc_client import GrpcSetupError
from probes.engine.histogram import (
    Recorder,
    decode_histogram,
    encode_histogram,
    merge_histograms,
    new_histogram,
    summarize,
)
from probes.engine.model import (
    BROKER_KINDS,
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
    "BROKER_KINDS",
    "BrokerError",
    "BrokerTarget",
    "DeliveryCounts",
    "DeliveryLedger",
    "ERROR_CLASSES",
    "GrpcSetupError",
    "cleanup_leftovers",
    "cleanup_leftovers_sync",
    "count_deliveries",
    "pinned_tls_context",
    "run_broker_probe",
    "run_broker_probe_sync",
    "shard_tag",
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
