"""Measured evidence, without decisions importing probes: the seam between the two.

`probes` fills two registries in its AppConfig.ready():

- ``register(provider)``: per-service measurements for the recommendation
  engine (``evidence_for``);
- ``register_rows(provider)``: the rows of the "Measured" section of a use
  case's page (``usecase_evidence``), rendered by decisions' own template
  fragment ``decisions/_usecase_evidence.html``.

Without a provider (probes not installed) there is no evidence and no section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from patterns.engine import HopEvidence

if TYPE_CHECKING:
    from decisions.models import ChainHop, Team, UseCase

EvidenceProvider = Callable[[int, Iterable[str]], dict[str, HopEvidence]]


@dataclass(frozen=True)
class HopEvidenceRow:
    """One hop of a use case's chain: the endpoint serving it and its latest valid measurement.

    Plain values and links only, so the page needs nothing from the provider's models.
    Empty strings and ``None`` mean "none yet".
    """

    service: str
    stated_p50_ms: float
    stated_p99_ms: float
    endpoint_name: str = ""
    endpoint_url: str = ""
    endpoint_link: str = ""
    measured_p50_ms: float | None = None
    measured_p99_ms: float | None = None
    measured_at: datetime | None = None
    measurement_label: str = ""
    measurement_link: str = ""
    stated_availability: float | None = None
    # Availability from the probe: requests sent, the share that succeeded, and the
    # lower bound of its 95% Wilson interval (what the engine uses).
    samples: int = 0
    success_pct: float | None = None
    availability_lower_pct: float | None = None
    # What a facilitator can do next: measure the endpoint, or add one for the hop.
    action_label: str = ""
    action_link: str = ""

    @property
    def p99_over_stated(self) -> bool:
        return self.measured_p99_ms is not None and self.measured_p99_ms > self.stated_p99_ms


RowsProvider = Callable[["Team", "UseCase", Sequence["ChainHop"]], list[HopEvidenceRow]]

_providers: list[EvidenceProvider] = []
_rows_provider: list[RowsProvider] = []


def register(provider: EvidenceProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def register_rows(provider: RowsProvider) -> None:
    """The one provider of the use-case page's evidence rows (a later one replaces it)."""
    _rows_provider[:] = [provider]


def evidence_for(team_id: int, services: Iterable[str]) -> dict[str, HopEvidence]:
    """Latest valid measurement per service name; later providers win on a clash."""
    names = sorted(set(services))
    found: dict[str, HopEvidence] = {}
    if not names:
        return found
    for provider in _providers:
        found.update(provider(team_id, names))
    return found


def usecase_evidence(
    *, team: Team, use_case: UseCase, hops: Sequence[ChainHop]
) -> list[HopEvidenceRow]:
    """Per hop of the use case's chain, in order: what measured it; empty without a provider."""
    if not hops or not _rows_provider:
        return []
    return _rows_provider[0](team, use_case, hops)
