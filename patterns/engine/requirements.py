"""Stage one of ``recommend()``: what each option makes the caller wait for, and which
hard requirements it cannot meet.

Designs, not scores
-------------------
Every option is given a concrete shape before it is judged:

* synchronous calls (``rest``, ``grpc``) run every hop before the answer;
* a request-event hybrid and an orchestrated saga keep the hops the caller needs
  (roles ``needed`` and ``confirm``) before the answer, their *synchronous prefix*, and
  move side effects after it;
* publish/subscribe, a queue and a choreographed saga make the caller wait for nothing
  but the hand-off.

When a probe measured the use case's broker (``broker_service``), the options that
publish before they answer (``PUBLISH_PATTERNS``: the request-event hybrid, pub/sub, a
queue, a choreographed saga) also wait for the broker's publish confirmation: its
measured p50/p99 joins the waited part as one more log-normal term. The orchestrated
saga answers once its own state is recorded and sends its commands after, so it does not.

A hop the person marked as needed is never moved silently; moving it is a relaxation
(see ``recommend.py``). The latency and availability checks then read the shape.

Availability of what an option waits for
----------------------------------------
The caller's request fails when any hop it waits for fails, so for independent failures
the availabilities multiply. Per hop, the engine uses the measured lower bound when
probes counted successes, else the stated figure. Fallbacks count only as far as the
engine can reason about them, and each one is written into the output:

1. A durable hand-off takes a hop off the waited path (the hop's outage delays the
   outcome instead of failing the request).
2. ``when_dependency_down == "degrade"`` means a ``needed`` hop's failure is answered
   from cached or reduced data, so the hop no longer counts (a consequence the output
   lists); not with strong consistency, where a cached answer is not current, and never
   for a ``confirm`` hop, whose write a cache cannot confirm. A side effect called
   synchronously is skipped when down.
3. A hop retried ``k`` times gives ``1 - (1 - a)^k``, assuming each attempt fails
   independently of the last, where ``k - 1`` extra attempts (at most two more) each
   fit, at the hop's p99, into what the p99 budget leaves over the option's estimate.

Hops with no availability stated or measured are not guessed: the composite is the
product of what is known (an upper bound, since this service and the broker are not
counted either), and the output says what each unknown hop must reach for the target to
hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from patterns.engine.inputs import UseCaseInput
from patterns.engine.latency import HopEstimate, HopEvidence, sum_quantiles
from patterns.engine.meta import PATTERN_NAMES, PATTERN_ORDER
from patterns.engine.rules import Requirement, render

SYNC_PATTERNS = ("rest", "grpc")
PREFIX_PATTERNS = ("request-event", "saga-orchestration")
PUBLISH_PATTERNS = ("request-event", "event-driven", "message-queue", "saga-choreography")
MAX_ATTEMPTS = 3


def pct(value: float) -> str:
    """A percentage for people: 99.9, 99.99, 99.8083."""
    return format(round(value, 4), "g")


def names(hops: Sequence[HopEstimate]) -> str:
    return ", ".join(hop.service for hop in hops)


@dataclass(frozen=True)
class Design:
    """An option's shape: the hops before the answer and those after it.

    ``confirm`` is the measured publish confirmation (p50, p99) the caller also waits
    for, or None; ``p95_ms``/``p99_ms`` estimate everything waited for.
    """

    before: tuple[HopEstimate, ...]
    after: tuple[HopEstimate, ...]
    p95_ms: float
    p99_ms: float
    confirm: tuple[float, float] | None = None

    @property
    def waits(self) -> bool:
        return bool(self.before) or self.confirm is not None

    def waited_names(self, broker: str) -> str:
        """What the caller waits for, in words."""
        listed = [hop.service for hop in self.before]
        if self.confirm is not None:
            listed.append(f"the publish confirmation of {broker or 'the broker'}")
        return ", ".join(listed)


def _shape(pattern: str) -> str:
    if pattern in SYNC_PATTERNS:
        return "sync"
    return "prefix" if pattern in PREFIX_PATTERNS else "hand-off"


def design_for(
    pattern: str, hops: Sequence[HopEstimate], confirm: tuple[float, float] | None = None
) -> Design:
    """What ``pattern`` makes the caller wait for; see the module docstring.

    ``confirm``: the broker's measured publish confirmation (p50, p99), counted only for
    the options that publish before they answer.
    """
    return _design(_shape(pattern), tuple(hops), confirm if pattern in PUBLISH_PATTERNS else None)


@lru_cache(maxsize=1024)
def _design(
    shape: str, hops: tuple[HopEstimate, ...], confirm: tuple[float, float] | None
) -> Design:
    before: tuple[HopEstimate, ...]
    after: tuple[HopEstimate, ...]
    if shape == "sync":
        before, after = hops, ()
    elif shape == "prefix":
        before = tuple(hop for hop in hops if hop.role != "side-effect")
        after = tuple(hop for hop in hops if hop.role == "side-effect")
    else:
        before, after = (), hops
    pairs = [(hop.p50_ms, hop.p99_ms) for hop in before]
    if confirm is not None:
        pairs.append(confirm)
    _, p95, p99 = sum_quantiles(pairs)
    return Design(before=before, after=after, p95_ms=p95, p99_ms=p99, confirm=confirm)


def confirm_pair(broker: HopEvidence | None) -> tuple[float, float] | None:
    """The broker's measured publish confirmation as (p50, p99), if it confirms."""
    if broker is None or broker.confirm_p99_ms is None or broker.confirm_p99_ms <= 0:
        return None
    p99 = float(broker.confirm_p99_ms)
    # An older summary kept only the p99: a constant is the honest reading of one number.
    p50 = float(broker.confirm_p50_ms) if broker.confirm_p50_ms else p99
    return (min(p50, p99), p99)


@dataclass(frozen=True)
class HopAvailability:
    service: str
    availability: float | None
    source: str
    attempts: int
    effective: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "availability": None if self.availability is None else round(self.availability, 4),
            "source": self.source,
            "attempts": self.attempts,
            "effective": None if self.effective is None else round(self.effective, 6),
        }


@dataclass(frozen=True)
class AvailabilityCheck:
    """The availability of what one option waits for, against the target."""

    target: float
    composite: float
    meets: bool
    counted: tuple[HopAvailability, ...]
    unstated: tuple[str, ...]
    required_each: float | None
    assumptions: tuple[str, ...]
    consequences: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "composite": round(self.composite, 6),
            "meets": self.meets,
            "hops": [hop.to_dict() for hop in self.counted],
            "unstated": list(self.unstated),
            "required_each": None if self.required_each is None else round(self.required_each, 4),
            "assumptions": list(self.assumptions),
            "consequences": list(self.consequences),
        }


def retry_headroom(design: Design, inp: UseCaseInput) -> float:
    """What the p99 budget leaves over the option's estimate (unbounded if nobody waits)."""
    return float(inp.latency_p99_ms) - design.p99_ms if inp.caller_waits else math.inf


def attempts_for(hop: HopEstimate, headroom: float) -> int:
    """Calls of ``hop`` that fit: one, plus a retry per hop p99 the headroom holds."""
    if headroom <= 0:
        return 1
    if math.isinf(headroom):  # nobody waits: retries take as long as they need
        return MAX_ATTEMPTS
    return 1 + min(MAX_ATTEMPTS - 1, int(headroom // hop.p99_ms))


def availability_check(design: Design, inp: UseCaseInput) -> AvailabilityCheck:
    """Composite availability of ``design``'s waited hops; see the module docstring."""
    return _availability_check(
        design,
        float(inp.availability),
        inp.when_dependency_down,
        inp.consistency,
        float(inp.staleness_s),
        retry_headroom(design, inp),
    )


@lru_cache(maxsize=1024)
def _availability_check(
    design: Design,
    target: float,
    when_dependency_down: str,
    consistency: str,
    staleness_s: float,
    headroom: float,
) -> AvailabilityCheck:
    assumptions: list[str] = []
    consequences: list[str] = []
    degrade = when_dependency_down == "degrade"
    cache_counts = degrade and consistency != "strong"

    if design.after:
        assumptions.append(
            f"{names(design.after)} run after the answer from a durable hand-off; an outage "
            "there delays the outcome instead of failing the request."
        )
        consequences += [
            f"When {hop.service} is down, its work waits and finishes late." for hop in design.after
        ]
    counted: list[HopAvailability] = []
    unstated: list[str] = []
    retried: list[str] = []
    for hop in design.before:
        if degrade and hop.role == "side-effect":
            consequences.append(f"When {hop.service} is down, its side effect is skipped.")
            continue
        if cache_counts and hop.role == "needed":
            consequences.append(
                f"When {hop.service} is down, the answer uses cached or reduced data, "
                f"at most {staleness_s:g} s old."
            )
            continue
        if hop.availability is None:
            unstated.append(hop.service)
            continue
        attempts = attempts_for(hop, headroom)
        share = hop.availability / 100.0
        effective = 100.0 * (1.0 - (1.0 - share) ** attempts)
        if attempts > 1:
            retried.append(f"{hop.service} ({attempts} attempts)")
        counted.append(
            HopAvailability(
                hop.service, hop.availability, hop.availability_source, attempts, effective
            )
        )
    if degrade and not cache_counts and any(hop.role == "needed" for hop in design.before):
        assumptions.append(
            "With strong consistency a cached answer is not current, so it does not count "
            "as a fallback."
        )
    if retried:
        assumptions.append(
            f"Retried within the p99 budget: {', '.join(retried)}. This assumes each "
            "attempt fails independently of the last (an outage of minutes defeats "
            "retries) and that retried calls carry an idempotency key."
        )
    composite = 100.0
    for counted_hop in counted:
        composite *= (counted_hop.effective or 0.0) / 100.0
    required_each: float | None = None
    if counted:
        assumptions.append(
            "Failures of different hops are independent; this service and any broker are "
            "not counted, so the composite is an upper bound."
        )
    if unstated:
        if composite >= target:
            required_each = 100.0 * (target / composite) ** (1.0 / len(unstated))
            assumptions.append(
                f"No availability stated or measured for {', '.join(unstated)}: assumed to "
                f"reach at least {pct(required_each)}% each, which the target needs. State "
                "it or probe it."
            )
        else:
            assumptions.append(
                f"No availability stated or measured for {', '.join(unstated)}; they can "
                "only lower the composite further."
            )
    meets = composite >= target - 1e-9
    return AvailabilityCheck(
        target=target,
        composite=composite,
        meets=meets,
        counted=tuple(counted),
        unstated=tuple(unstated),
        required_each=required_each,
        assumptions=tuple(assumptions),
        consequences=tuple(dict.fromkeys(consequences)),
    )


@dataclass(frozen=True)
class Miss:
    """A hard requirement an option fails, how far off it is, and why in numbers."""

    pattern: str
    requirement: str
    detail: str
    margin: float

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "requirement": self.requirement, "detail": self.detail}


@dataclass(frozen=True)
class Assessment:
    """One option, judged: its design, availability and the requirements it misses."""

    design: Design
    availability: AvailabilityCheck
    misses: tuple[Miss, ...]

    @property
    def meets_all(self) -> bool:
        return not self.misses

    @property
    def margin(self) -> float:
        return sum(miss.margin for miss in self.misses)


def _latency_miss(pattern: str, design: Design, inp: UseCaseInput) -> Miss | None:
    if not design.waits:
        return None
    b95, b99 = float(inp.latency_p95_ms), float(inp.latency_p99_ms)
    if design.p95_ms <= b95 and design.p99_ms <= b99:
        return None
    # The share of the estimate the budget does not cover: 0 at the edge, towards 1 far
    # off; a requirement no number can fix (a declared one) counts a full 1.
    shortfalls = [1.0 - b95 / design.p95_ms, 1.0 - b99 / design.p99_ms]
    detail = (
        f"waits for {design.waited_names(inp.broker_service)}: about {design.p95_ms:.0f} ms p95 / "
        f"{design.p99_ms:.0f} ms p99 against a budget of {b95:.0f} ms / {b99:.0f} ms"
    )
    return Miss(pattern, "latency-budget", detail, max(shortfalls))


def _availability_miss(pattern: str, check: AvailabilityCheck) -> Miss | None:
    if check.meets:
        return None
    weakest = ", ".join(
        f"{hop.service} at {pct(hop.availability or 0.0)}%"
        + (f" ({hop.attempts} attempts)" if hop.attempts > 1 else "")
        for hop in check.counted
        if (hop.effective or 0.0) < 100.0
    )
    detail = f"waits for {weakest}: at most {pct(check.composite)}% against {pct(check.target)}%"
    # The share of the expected downtime the target does not allow, as for latency.
    margin = 1.0 - (100.0 - check.target) / max(100.0 - check.composite, 1e-12)
    return Miss(pattern, "availability-target", detail, margin)


def assess(
    inp: UseCaseInput,
    hops: Sequence[HopEstimate],
    values: Mapping[str, Any],
    requirements: Sequence[Requirement],
    broker: HopEvidence | None = None,
) -> dict[str, Assessment]:
    """Every pattern's design, availability and misses, in ``PATTERN_ORDER``.

    ``broker``: the measured broker of ``inp.broker_service``, whose publish confirmation
    the publishing options wait for."""
    applying = [req for req in requirements if req.applies(values)]
    result: dict[str, Assessment] = {}
    confirm = confirm_pair(broker)
    # Patterns of one shape wait for the same hops: estimate and check each shape once.
    shapes: dict[tuple[str, bool], tuple[Design, AvailabilityCheck]] = {}
    for pattern in PATTERN_ORDER:
        shape = (_shape(pattern), pattern in PUBLISH_PATTERNS)
        if shape not in shapes:
            design = design_for(pattern, hops, confirm)
            shapes[shape] = (design, availability_check(design, inp))
        design, check = shapes[shape]
        misses: list[Miss] = []
        for req in applying:
            if req.check == "waited-latency":
                miss = _latency_miss(pattern, design, inp) if inp.caller_waits else None
            elif req.check == "waited-availability":
                miss = _availability_miss(pattern, check)
            else:
                condition = req.fails.get(pattern)
                miss = None
                if condition is not None and condition(values):
                    text = render(req.detail, {**values, "option": PATTERN_NAMES[pattern]})
                    miss = Miss(pattern, req.id, text, 1.0)
            if miss is not None:
                misses.append(miss)
        result[pattern] = Assessment(design=design, availability=check, misses=tuple(misses))
    return result
