"""Whether a probe may run: the egress guard, the ownership proof and the caps, in one place.

Every entry point goes through these functions: saving an endpoint
(``runs.endpoint_save``), starting a run (``runs.probe_start``), the worker just
before it connects (``execution``: DNS answers and the allow-list can change
between a request and its run) and ``manage.py probe``. Each refusal is one
``ProbeRefused`` whose reason the caller shows as a form error or prints.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from decisions.models import Team
from probes.caps import cap_problems
from probes.egress import (
    LOW_RATE_WITHOUT_PROOF,
    OWNERSHIP_PATH,
    PROBE_SCHEMES,
    EgressRefused,
    GuardedTarget,
    guard_target,
    ownership_url,
)
from probes.engine import fetch_ownership_token
from probes.models import ACTIVE, Endpoint, Kind, LoadModel, ProbeRun


class ProbeRefused(Exception):  # noqa: N818 - reads as what happened
    """A probe (or an endpoint's URL) is refused; ``reason`` is one sentence.

    ``fields`` names the form field each part of the refusal belongs to, when
    it belongs to one (a cap to its value, a guard refusal to the URL).
    """

    def __init__(self, reason: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields or {}


class Load(Protocol):
    """What the proof rule reads of a probe's load (a RunRequest, a ProbeRun, a LoadPlan)."""

    # Read-only, so frozen dataclasses match.
    @property
    def model(self) -> str: ...
    @property
    def rate(self) -> float | None: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def warmup_s(self) -> float: ...


class Proof(Protocol):
    """How a public host proves that whoever asks for the probe controls it."""

    def proven(self, guarded: GuardedTarget) -> bool: ...

    def problem(self, guarded: GuardedTarget) -> str: ...


def guard(url: str) -> GuardedTarget:
    """The egress guard with the administrator's allow-list; refusals name the URL field.

    Every probe scheme is accepted; a login in the URL is refused here (it is
    split out and sealed before the URL is stored, see ``runs.endpoint_save``).
    """
    try:
        return guard_target(url, allow=settings.PROBE_ALLOW, schemes=PROBE_SCHEMES)
    except EgressRefused as exc:
        raise ProbeRefused(exc.reason, fields={"url": f"Refused: {exc.reason}."}) from exc


@dataclass(frozen=True)
class FacilitatorConfirmation:
    """Broker and gRPC endpoints: a facilitator confirmed the team operates the server.

    The HTTP token file cannot apply (see docs/probes.md): these protocols serve
    no documents at a well-known path.
    """

    endpoint: Endpoint

    def proven(self, guarded: GuardedTarget) -> bool:
        return self.endpoint.confirmed_at is not None

    def problem(self, guarded: GuardedTarget) -> str:
        return (
            f"a facilitator has not confirmed that {self.endpoint.team.name} operates "
            f"{guarded.host}:{guarded.port}; confirm it on the endpoint's form first"
        )


def proof_for(endpoint: Endpoint) -> Proof:
    """How this endpoint proves ownership: the token file (HTTP) or a confirmation."""
    if endpoint.kind == Kind.HTTP:
        return TeamProof(endpoint.team)
    return FacilitatorConfirmation(endpoint)


def check_confirmed(endpoint: Endpoint, guarded: GuardedTarget) -> None:
    """Broker and gRPC endpoints always need the facilitator's confirmation."""
    proof = FacilitatorConfirmation(endpoint)
    if endpoint.kind != Kind.HTTP and not proof.proven(guarded):
        raise ProbeRefused(proof.problem(guarded))


def needs_ownership_proof(guarded: GuardedTarget, load: Load) -> bool:
    """A public host outside the allow-list gets at most 1 request/s for 60 s without proof.

    The warm-up counts: the host gets that load too.
    """
    if guarded.allowed_by != "public":
        return False
    if guarded.scheme not in ("http", "https"):
        return True  # a broker or gRPC probe is never gentle enough to go unproven
    max_rate, max_duration = LOW_RATE_WITHOUT_PROOF
    if load.model == LoadModel.CLOSED:
        return True  # as fast as it goes is never "gentle"
    return (load.rate or 0) > max_rate or load.duration_s + load.warmup_s > max_duration


def team_probe_token(team: Team) -> str:
    """The team's ownership token, made on first use."""
    if not team.probe_token:
        token = f"archway-{secrets.token_urlsafe(24)}"
        Team.objects.filter(pk=team.pk, probe_token="").update(probe_token=token)
        team.refresh_from_db(fields=["probe_token"])
    return team.probe_token


@dataclass(frozen=True)
class TeamProof:
    """The host serves the team's token at /.well-known/archway-probe.txt."""

    team: Team

    def proven(self, guarded: GuardedTarget) -> bool:
        """Fetched from the guarded address (no second DNS lookup), redirects not followed."""
        if not self.team.probe_token:
            return False
        found = asyncio.run(fetch_ownership_token(guarded))
        return found is not None and secrets.compare_digest(found, self.team.probe_token)

    def problem(self, guarded: GuardedTarget) -> str:
        rate, duration = LOW_RATE_WITHOUT_PROOF
        return (
            f"{guarded.host} is a public host outside the allow-list and has not proven that "
            f"{self.team.name} controls it: serve the team token at {ownership_url(guarded)}, "
            f"or keep to {rate:g} request per second for at most {duration:g} s"
        )


@dataclass(frozen=True)
class GivenTokenProof:
    """The host serves the token given on the command line (``manage.py probe``)."""

    token: str | None

    def proven(self, guarded: GuardedTarget) -> bool:
        if not self.token:
            return False
        found = asyncio.run(fetch_ownership_token(guarded, timeout=5.0))
        return found is not None and secrets.compare_digest(found, self.token)

    def problem(self, guarded: GuardedTarget) -> str:
        rate, duration = LOW_RATE_WITHOUT_PROOF
        if self.token:
            return f"{guarded.host} does not serve the given token at {OWNERSHIP_PATH}"
        return (
            f"{guarded.host} ({guarded.address}) is a public host: without an ownership proof "
            f"(--ownership-token) probes are limited to {rate:g} request/s for {duration:g} s"
        )


def checked_target(url: str, *, load: Load, proof: Proof) -> GuardedTarget:
    """The guarded target, or ProbeRefused: the guard first, then (once) the ownership proof."""
    guarded = guard(url)
    if needs_ownership_proof(guarded, load) and not proof.proven(guarded):
        raise ProbeRefused(proof.problem(guarded))
    return guarded


def check_caps(
    *, rate: float | None, concurrency: int, duration_s: float, warmup_s: float, shards: int
) -> None:
    """ProbeRefused naming every value over its cap (``probes.caps``), with its field."""
    problems = cap_problems(
        rate=rate,
        concurrency=concurrency,
        duration_s=duration_s,
        warmup_s=warmup_s,
        shards=shards,
    )
    if problems:
        raise ProbeRefused(
            "; ".join(problems.values()),
            fields={field: f"{problem}." for field, problem in problems.items()},
        )


def check_team_cap(team: Team) -> None:
    """ProbeRefused when the team already runs as many probes as it may (lock the team row)."""
    limit = settings.PROBE_MAX_RUNNING_PER_TEAM
    running = ProbeRun.objects.filter(team=team, status__in=ACTIVE).count()
    if running >= limit:
        raise ProbeRefused(
            f"{team.name} already has {running} probe{'s' if running != 1 else ''} queued or "
            f"running (the limit is {limit} at a time); wait for it to finish or cancel it"
        )
