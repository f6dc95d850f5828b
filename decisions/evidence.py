"""Measured evidence for the engine, without decisions importing probes.

`probes` registers a provider in its AppConfig.ready(); the recommendation asks
every provider for per-service measurements of the team's chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from patterns.engine import HopEvidence

EvidenceProvider = Callable[[int, Iterable[str]], dict[str, HopEvidence]]

_providers: list[EvidenceProvider] = []


def register(provider: EvidenceProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def evidence_for(team_id: int, services: Iterable[str]) -> dict[str, HopEvidence]:
    """Latest valid measurement per service name; later providers win on a clash."""
    names = sorted(set(services))
    found: dict[str, HopEvidence] = {}
    if not names:
        return found
    for provider in _providers:
        found.update(provider(team_id, names))
    return found
