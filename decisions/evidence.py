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

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from patterns.engine import HopEvidence, UseCaseInput

if TYPE_CHECKING:
    from decisions.models import ChainHop, Team, UseCase

log = logging.getLogger(__name__)

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
    # "hop" for a call of the chain; "broker" for the use case's broker, where the
    # measured p50/p99 are the delivery latency and the stated figure is the staleness
    # budget in seconds.
    kind: str = "hop"
    stated_staleness_s: float | None = None
    rate_per_s: float | None = None
    confirm_p99_ms: float | None = None
    lost: int = 0
    duplicates: int = 0
    reordered: int = 0

    @property
    def over_staleness(self) -> bool:
        return (
            self.kind == "broker"
            and self.measured_p99_ms is not None
            and self.stated_staleness_s is not None
            and self.measured_p99_ms > 1000.0 * self.stated_staleness_s
        )

    @property
    def p99_over_stated(self) -> bool:
        return (
            self.kind == "hop"
            and self.measured_p99_ms is not None
            and self.measured_p99_ms > self.stated_p99_ms
        )


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


def evidence_for_input(team_id: int, use_case_input: UseCaseInput) -> dict[str, HopEvidence]:
    """Evidence for everything a use case names: its hops' services and its broker."""
    services = [hop.service for hop in use_case_input.chain]
    if use_case_input.broker_service:
        services.append(use_case_input.broker_service)
    return evidence_for(team_id, services)


def usecase_evidence(
    *, team: Team, use_case: UseCase, hops: Sequence[ChainHop]
) -> list[HopEvidenceRow]:
    """Per hop of the use case's chain, in order, then its broker if it names one: what
    measured it; empty without a provider."""
    if not (hops or use_case.broker_service) or not _rows_provider:
        return []
    return _rows_provider[0](team, use_case, hops)


# --- re-measuring for scheduled checks (living decisions) -------------------------


# What a check measures of a service: a call endpoint (HTTP, gRPC) answers requests, so
# its latency is a hop's; a broker endpoint (RabbitMQ, Redis Streams, NATS, MQTT) delivers
# messages, so its latency is planned send to consumer receipt, what staleness rests on.
# A service name may have both, so every question to the provider says which it means.
EndpointKind = Literal["call", "broker"]
CALL: EndpointKind = "call"
BROKER: EndpointKind = "broker"


@dataclass(frozen=True)
class Measurement:
    """One re-measurement of a service, as the provider reports it.

    ``state``: "running" (``run_id`` set, ask again later), "busy" (the team's probe
    slot is taken: try later), "refused" (a precondition said no; ``reason`` says which),
    "done" (finished: ``valid`` and the numbers), "failed" (the run ended without a
    measurement). ``success_pct`` is the share of requests that succeeded.

    A broker's measurement: the percentiles are delivery latency (planned send to the
    consumer's receipt), ``requests`` the messages published, ``lost`` and
    ``duplicates`` what the consumer never got or got twice (``None`` for a call).
    """

    state: str
    run_id: int | None = None
    link: str = ""
    valid: bool = False
    reason: str = ""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    success_pct: float | None = None
    rps: float | None = None
    measured_at: datetime | None = None
    requests: int | None = None
    lost: int | None = None
    duplicates: int | None = None


class Remeasurer:
    """What the probes app offers scheduled checks; the default measures nothing.

    ``kind`` says which endpoints of ``service`` count: ``CALL`` (HTTP and gRPC, for a
    hop) or ``BROKER`` (for staleness); one of the other kind is never picked.
    """

    def has_endpoint(self, team_id: int, service: str, *, kind: EndpointKind) -> bool:
        return False

    def team_busy(self, team_id: int) -> bool:
        return False

    def start(
        self, *, team_id: int, service: str, kind: EndpointKind, rate: float, duration_s: float
    ) -> Measurement:
        return Measurement(state="refused", reason="no probe provider is installed")

    def result(self, run_id: int) -> Measurement:
        return Measurement(state="failed", reason="no probe provider is installed")

    def latest(self, team_id: int, service: str, *, kind: EndpointKind) -> Measurement | None:
        return None


_remeasurer: list[Remeasurer] = [Remeasurer()]


def register_remeasurer(remeasurer: Remeasurer) -> None:
    _remeasurer[:] = [remeasurer]


def remeasurer() -> Remeasurer:
    return _remeasurer[0]


# ``probes`` says when a team's probe has ended (its slot is free, a measurement may be in);
# living decisions listen, so a check waiting for a probe moves on at once.
_finished_listeners: list[Callable[[int], None]] = []


def on_probe_finished(listener: Callable[[int], None]) -> None:
    if listener not in _finished_listeners:
        _finished_listeners.append(listener)


def probe_finished(team_id: int) -> None:
    for listener in _finished_listeners:
        try:
            listener(team_id)
        except Exception:  # the probe's result stands whatever a listener does
            log.exception("A listener for finished probes of team %s failed", team_id)


# --- the egress guard, for outgoing webhooks ---------------------------------------

# ``guard(url)`` returns an object with ``scheme, host, port, address, path_and_query,
# host_header`` (the checked address to connect to), or raises ValueError with the reason.
UrlGuard = Callable[[str], object]
_url_guard: list[UrlGuard] = []


def register_url_guard(guard: UrlGuard) -> None:
    _url_guard[:] = [guard]


def guard_url(url: str) -> object:
    """The egress guard's verdict on ``url``; without a guard every URL is refused."""
    if not _url_guard:
        raise ValueError("no egress guard is installed, so no outgoing calls are made")
    return _url_guard[0](url)
