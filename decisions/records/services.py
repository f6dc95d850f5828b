"""ADR lifecycle: create (by hand, from a use case, by import), edit, transition, supersede.

Every write goes through here and leaves a `DecisionChange` row (who, when, what, and a
diff of field -> [old, new]), so the history page and the audit trail cannot drift apart.

Lifecycle (MADR statuses)::

    proposed -> accepted | rejected
    accepted -> deprecated
    accepted -> superseded   (only by accepting the replacement that `decision_supersede` made)

Supersede semantics: `decision_supersede` makes a new *proposed* record and links the two
at once (old.superseded_by = new, so new.supersedes holds old). The old record stays
accepted, because the replacement may still be rejected; it becomes *superseded* in the
same transaction that accepts the replacement. Rejecting the replacement removes the link
so the old record can be superseded again later. Only proposals are edited in place.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User as AuthUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from decisions.editing import EditConflict
from decisions.models import (
    AgendaItem,
    Decision,
    DecisionChange,
    DecisionStatus,
    Membership,
    Team,
    UseCase,
)
from decisions.teams.services import activity_record
from decisions.usecases.services import input_to_dict, use_case_recommend, use_case_snapshot
from patterns.engine import PATTERN_NAMES, ms_text

S = DecisionStatus

# Fields a person may change on a proposal (and that imports may set).
EDITABLE_FIELDS: tuple[str, ...] = (
    "title",
    "date",
    "decision_makers",
    "consulted",
    "informed",
    "context",
    "drivers",
    "considered_options",
    "chosen_option",
    "chosen_pattern",
    "justification",
    "consequences",
    "confirmation",
    "more_information",
)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PROPOSED: (S.ACCEPTED, S.REJECTED),
    S.ACCEPTED: (S.DEPRECATED,),
}

ACTION_FOR: dict[str, str] = {
    S.ACCEPTED: "accepted",
    S.REJECTED: "rejected",
    S.DEPRECATED: "deprecated",
}

# A draft lists the engine's best few options as "considered": MADR asks for the options
# seriously weighed, and the tail of the ranking (patterns that scored far behind) would
# only add pages of pros and cons nobody discussed. People can add any option back.
DRAFT_OPTIONS = 4

# Number allocation retries: a second writer that slipped past the team lock (e.g. a
# database without row locks) hits the unique constraint and simply takes the next one.
_NUMBER_ATTEMPTS = 5


class DecisionError(Exception):
    """A lifecycle rule refused the change; the message is shown to the user as is."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


User = AuthUser | None


# --- creating ---------------------------------------------------------------


def decision_create(
    *,
    team: Team,
    data: Mapping[str, Any],
    by: User,
    status: str = S.PROPOSED,
    number: int | None = None,
    action: str = "created",
    note: str = "",
) -> Decision:
    """A new record with the next free number (or `number`, for imports)."""
    unknown = set(data) - set(EDITABLE_FIELDS) - {"use_case", "snapshot"}
    if unknown:
        raise DecisionError(f"Unknown ADR fields: {', '.join(sorted(unknown))}.")
    values = {"date": timezone.localdate(), **{k: normalised_text(v) for k, v in data.items()}}
    for attempt in range(_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                chosen = number if number is not None else _next_number(team)
                if (
                    number is not None
                    and Decision.objects.filter(team=team, number=number).exists()
                ):
                    raise DecisionError(f"{team.slug} already has ADR-{number:04d}.")
                decision = Decision.objects.create(
                    team=team, number=chosen, status=status, created_by=_user(by), **values
                )
                diff = {
                    name: [None, _jsonable(getattr(decision, name))] for name in ("title", "status")
                }
                _log(decision, by, action, diff, note)
                return decision
        except IntegrityError:
            if number is not None or attempt == _NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _next_number(team: Team) -> int:
    """Lock the team row, then read the highest number: creators of one team queue here.

    On SQLite, `select_for_update` is a no-op but the connection opens transactions with
    BEGIN IMMEDIATE (settings), which serialises writers the same way.
    """
    Team.objects.select_for_update().filter(pk=team.pk).first()
    highest = Decision.objects.filter(team=team).aggregate(n=Max("number"))["n"]
    return (highest or 0) + 1


def decision_draft_for_use_case(*, use_case: UseCase) -> Decision:
    """An unsaved proposal filled from the use case's latest recommendation, to preview.

    Nothing is written: a use case never evaluated is recommended in memory.
    """
    snapshot = use_case.latest_snapshot
    if snapshot is not None:
        inputs, output = snapshot.inputs, snapshot.output
    else:
        use_case_input = use_case.to_input()
        output = use_case_recommend(team=use_case.team, use_case_input=use_case_input)
        inputs = input_to_dict(use_case_input)
    data = draft_from_recommendation(
        use_case_name=use_case.name,
        description=use_case.description,
        inputs=inputs,
        output=output,
    )
    return Decision(
        team=use_case.team,
        use_case=use_case,
        snapshot=snapshot,
        date=timezone.localdate(),
        **data,
    )


@transaction.atomic
def decision_create_from_use_case(
    *, use_case: UseCase, by: User, data: Mapping[str, Any] | None = None
) -> Decision:
    """Draft a proposal from the use case's latest recommendation (evaluating it if needed).

    `data` holds the fields as the person edited them in the preview; they win over the
    drafted ones.
    """
    snapshot = use_case.latest_snapshot or use_case_snapshot(use_case=use_case, by=by)
    drafted = draft_from_recommendation(
        use_case_name=use_case.name,
        description=use_case.description,
        inputs=snapshot.inputs,
        output=snapshot.output,
    )
    data = {**drafted, **(data or {})}
    data["use_case"] = use_case
    data["snapshot"] = snapshot
    return decision_create(
        team=use_case.team,
        data=data,
        by=by,
        note=f"Drafted from the use case “{use_case.name}”.",
        action="drafted",
    )


def draft_from_recommendation(
    *,
    use_case_name: str,
    description: str,
    inputs: Mapping[str, Any],
    output: Mapping[str, Any],
) -> dict[str, Any]:
    """The MADR fields filled from an engine answer (pure: dicts in, dict out)."""
    options = list(output.get("options", []))
    top = options[0] if options else {"name": "", "pattern": "", "because": [], "score": 0}
    reasons: dict[str, str] = {}
    for option in options:
        for reason in option.get("because", []):
            reasons.setdefault(reason["rule"], reason["explanation"])
    fired = [rule for rule in output.get("fired_rules", []) if rule in reasons]
    fired += [rule for rule in reasons if rule not in fired]

    context = []
    if description:
        context.append(description.strip())
    context.append(f"The use case “{use_case_name}” states these requirements:")
    context.append(_requirements_markdown(inputs))

    runner_up = options[1] if len(options) > 1 else None
    for_top = [r["explanation"] for r in top.get("because", []) if r.get("effect", 0) > 0]
    justification = "; ".join(for_top) or "it scored highest against the stated requirements"
    justification += f" (score {top.get('score', 0):g}"
    if runner_up:
        justification += f", ahead of {runner_up['name']} at {runner_up['score']:g}"
    justification += ")"
    if output.get("meets_all") is False:
        justification += (
            ". No option meets every requirement; this one misses the fewest "
            f"({', '.join(top.get('misses', []))}), by the smallest margin"
        )

    consequences = [f"* Good, because {_lower_first(s)}" for s in top.get("strengths", [])]
    consequences += [f"* Bad, because {_lower_first(w)}" for w in top.get("weaknesses", [])]
    consequences += [
        f"* Bad, because {_lower_first(risk['text'])} ({risk['severity']} risk)"
        for risk in output.get("risks", [])
    ]

    more = []
    more += _measured_markdown(output)
    more += _revisit_markdown(output)
    more += _availability_markdown(output.get("availability") or {})
    if output.get("supporting"):
        more.append("Supporting decisions:")
        more.append("")
        more.extend(f"* **{s['title']}**: {s['why']}" for s in output["supporting"])
        more.append("")
    pack = output.get("rule_pack", {})
    if pack:
        more.append(f"Recommended by rule pack {pack.get('name', '')} {pack.get('version', '')}.")

    return {
        "title": f"{top['name']} for {use_case_name}"[:200],
        "context": "\n\n".join(context),
        "drivers": "\n".join(f"* {reasons[rule]}" for rule in fired),
        "considered_options": [
            {
                "name": option["name"],
                "pattern": option["pattern"],
                "summary": f"{option['family'].capitalize()} pattern, score {option['score']:g}."
                + (
                    f" Ruled out: {', '.join(option['misses'])}."
                    if option.get("meets_all") is False
                    else ""
                ),
                "pros": [_lower_first(s) for s in option.get("strengths", [])],
                "cons": [_lower_first(w) for w in option.get("weaknesses", [])],
            }
            for option in options[:DRAFT_OPTIONS]
        ],
        "chosen_option": top["name"],
        "chosen_pattern": top["pattern"],
        "justification": justification,
        "consequences": "\n".join(consequences),
        "confirmation": _confirmation(output),
        "more_information": "\n".join(more).strip(),
    }


REVISIT_HEADING = "### What would make us revisit this"


def _revisit_markdown(output: Mapping[str, Any]) -> list[str]:
    """The engine's sensitivity (and relaxations, when nothing met everything), as the
    questions a review should keep asking."""
    lines = []
    if output.get("sensitivity"):
        lines += [REVISIT_HEADING, ""]
        lines += [f"* {item['detail']}" for item in output["sensitivity"]]
        lines.append("")
    if output.get("relaxations"):
        lines += ["### Requirements to relax", ""]
        lines += [
            f"* `{item['requirement']}` to {item['to']}: {item['detail']}"
            for item in output["relaxations"]
        ]
        lines.append("")
    if output.get("ruled_out"):
        lines += ["### Ruled out", ""]
        lines += [
            f"* {PATTERN_NAMES.get(item['pattern'], item['pattern'])} "
            f"({item['requirement']}): {item['detail']}"
            for item in output["ruled_out"]
        ]
        lines.append("")
    return lines


def _availability_markdown(availability: Mapping[str, Any]) -> list[str]:
    if not availability:
        return []
    verdict = "meets" if availability.get("meets") else "misses"
    lines = [
        "### Availability",
        "",
        f"What the caller waits for is available at most {availability['composite']:g}% "
        f"against a target of {availability['target']:g}%: it {verdict} the target.",
        "",
    ]
    lines += [f"* Assumes: {text}" for text in availability.get("assumptions", [])]
    lines += [f"* Consequence: {text}" for text in availability.get("consequences", [])]
    lines.append("")
    return lines


def _requirements_markdown(inputs: Mapping[str, Any]) -> str:
    def get(key: str, default: Any = "") -> Any:
        return inputs.get(key, default)

    lines = [
        f"* Operation: {get('operation', 'write')}"
        + (", waits for a person or runs for minutes" if get("long_running", False) else ""),
        f"* Caller: {get('caller')}, {'waits for' if get('caller_waits') else 'does not wait for'}"
        " the result",
        f"* Latency budget: p95 {get('latency_p95_ms'):g} ms, p99 {get('latency_p99_ms'):g} ms",
        f"* Consistency: {get('consistency')}"
        + (f" (stale up to {get('staleness_s'):g} s)" if get("consistency") == "eventual" else ""),
        f"* Availability target: {get('availability'):g} %",
        f"* When a dependency is down: {get('when_dependency_down')}",
        f"* Message loss: {'acceptable' if get('message_loss_ok') else 'not acceptable'}",
        f"* Load: peak {get('peak_rps'):g}/s, average {get('avg_rps'):g}/s",
        f"* Consumers of the outcome: {get('consumers')}",
        f"* Distributed transaction: {'yes' if get('distributed_transaction') else 'no'}",
        f"* Ordering: {get('ordering')}; delivery: {get('delivery')}",
        f"* Streaming: {get('streaming')}",
    ]
    if get("broker_service"):
        lines.append(f"* Broker of the asynchronous half: {get('broker_service')}")
    chain = get("chain", []) or []
    if chain:
        hops = ", ".join(
            f"{hop['service']} (p50 {hop['p50_ms']:g} / p99 {hop['p99_ms']:g} ms, "
            + _role_text(hop)
            + (
                f", availability {hop['availability']:g}%"
                if hop.get("availability") is not None
                else ""
            )
            + ")"
            for hop in chain
        )
        lines.append(f"* Chain: {hops}")
    return "\n".join(lines)


def _role_text(hop: Mapping[str, Any]) -> str:
    role = hop.get("role") or ("needed" if hop.get("critical", True) else "side-effect")
    return "side-effect, after the answer" if role == "side-effect" else role


def _measured_markdown(output: Mapping[str, Any]) -> list[str]:
    """Stated against measured, for the part before the answer (the hops) and the part
    after it (the broker), as one table."""
    hops = (output.get("chain_estimate") or {}).get("hops") or []
    broker = output.get("broker")
    if not any(hop.get("source") == "measured" for hop in hops) and not broker:
        return []
    rows = ["| Part | Stated | Measured | Source |", "| --- | --- | --- | --- |"]
    for hop in hops:
        when = "before the answer" if hop.get("critical", True) else "after the answer"
        stated_p50 = hop.get("stated_p50_ms", hop["p50_ms"])
        stated_p99 = hop.get("stated_p99_ms", hop["p99_ms"])
        measured = (
            f"p50 {hop['p50_ms']:g} / p99 {hop['p99_ms']:g} ms"
            if hop.get("source") == "measured"
            else "not measured"
        )
        rows.append(
            f"| {_cell(hop['service'])} ({when}) | p50 {stated_p50:g} / p99 {stated_p99:g} ms "
            f"| {measured} | {_cell(hop.get('evidence', ''))} |"
        )
    if broker:
        budget = f"staleness budget {broker['staleness_budget_s']:g} s"
        service = _cell(broker["service"])
        if broker.get("measured"):
            verdict = "within" if broker.get("within_staleness") else "over"
            rows.append(
                f"| {service}: delivery (after the answer) | {budget} | "
                f"p50 {ms_text(broker['delivery_p50_ms'])} / "
                f"p99 {ms_text(broker['delivery_p99_ms'])} "
                f"at {broker['rate_per_s']:,.0f} msg/s: {verdict} | {_cell(broker['source'])} |"
            )
            confirm = broker.get("confirm_p99_ms")
            rows.append(
                f"| {service}: publish confirmation | not stated | "
                + (f"p99 {ms_text(confirm)}" if confirm is not None else "none (no confirms)")
                + f" | {_cell(broker['source'])} |"
            )
            loss = "occasional loss accepted" if broker.get("loss_ok") else "no loss"
            rows.append(
                f"| {service}: lost / duplicated / out of order | {loss} | "
                f"{broker['lost']} / {broker['duplicates']} / {broker['reordered']} of "
                f"{broker['messages']:,} messages | {_cell(broker['source'])} |"
            )
        else:
            rows.append(f"| {service}: delivery (after the answer) | {budget} | not measured | |")
    return ["### Measured against stated", "", *rows, ""]


def _cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _confirmation(output: Mapping[str, Any]) -> str:
    estimate = output.get("chain_estimate") or {}
    broker = output.get("broker")
    if not broker:
        async_text = ""
    elif broker.get("measured"):
        verdict = "within" if broker.get("within_staleness") else "over"
        async_text = (
            f" The asynchronous half runs over {broker['service']}: events reach consumers in "
            f"p99 {ms_text(broker['delivery_p99_ms'])} at {broker['rate_per_s']:,.0f} msg/s, "
            f"{verdict} the staleness budget of {broker['staleness_budget_s']:g} s."
        )
        if broker.get("confirm_p99_ms") is not None:
            async_text += (
                f" Its publish confirmation (p99 {ms_text(broker['confirm_p99_ms'])}) is part of "
                "what the caller waits for when the event is published before the answer."
            )
        async_text += (
            f" The probe saw {broker['lost']} lost, {broker['duplicates']} duplicated and "
            f"{broker['reordered']} out-of-order messages of {broker['messages']:,}. Probe "
            f"{broker['service']} again at the peak rate before and after the change."
        )
    else:
        async_text = (
            f" The asynchronous half runs over {broker['service']}, not measured yet: probe it "
            f"to confirm that delivery stays within the staleness budget of "
            f"{broker['staleness_budget_s']:g} s."
        )
    if not estimate.get("critical_hops"):
        if async_text:
            return "No synchronous hop sits on the caller's path." + async_text
        return (
            "No synchronous hop sits on the caller's path. Confirm in production that "
            "the queue or topic lag stays within the staleness the use case allows."
        )
    verdict = "within" if estimate.get("within_budget") else "over"
    measured = [h["service"] for h in estimate.get("hops", []) if h.get("source") == "measured"]
    text = (
        f"The estimated chain latency over {estimate['critical_hops']} synchronous "
        f"hop{'s' if estimate['critical_hops'] != 1 else ''} is p50 {estimate['p50_ms']:.0f} ms, "
        f"p95 {estimate['p95_ms']:.0f} ms and p99 {estimate['p99_ms']:.0f} ms, {verdict} the "
        f"budget of p95 {estimate['budget_p95_ms']:g} ms / p99 {estimate['budget_p99_ms']:g} ms."
    )
    if measured:
        text += f" Measured by probes: {', '.join(measured)}."
    text += " Confirm with a probe run of the chain before and after the change."
    return text + async_text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --- editing ----------------------------------------------------------------


@transaction.atomic
def decision_update(
    *,
    decision: Decision,
    data: Mapping[str, Any],
    by: User,
    expected_version: int | None = None,
) -> Decision:
    """Change a proposal's fields; a settled record is superseded, never edited in place.

    ``expected_version``: the ``edit_version`` the editor started from; if someone saved
    since, ``EditConflict`` is raised and nothing changes."""
    decision = _locked(decision)
    if expected_version is not None and expected_version != decision.edit_version:
        raise EditConflict(decision.edit_version)
    if not decision.is_editable:
        if decision.status == S.ACCEPTED:
            raise DecisionError(
                f"{decision.label} is accepted and cannot be edited in place; "
                "supersede it with a new record instead."
            )
        raise DecisionError(
            f"{decision.label} is {decision.get_status_display().lower()}; "
            "only proposed records can be edited."
        )
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise DecisionError(f"These fields cannot be edited: {', '.join(sorted(unknown))}.")
    diff = _apply(decision, data)
    if diff:
        decision.edit_version += 1
        decision.save()
        _log(decision, by, "edited", diff)
    return decision


# --- lifecycle --------------------------------------------------------------


@transaction.atomic
def decision_transition(
    *,
    decision: Decision,
    to: str,
    by: User,
    note: str = "",
    decision_makers: list[str] | None = None,
    consulted: list[str] | None = None,
) -> Decision:
    """Move a record along its lifecycle, or raise `DecisionError` saying why not."""
    decision = _locked(decision)
    current = decision.status
    if to not in S.values:
        raise DecisionError(f"“{to}” is not an ADR status.")
    if to == S.SUPERSEDED:
        raise DecisionError(
            f"{decision.label} becomes superseded when its replacement is accepted; "
            "use “Supersede” to start the replacement."
        )
    if to not in TRANSITIONS.get(current, ()):
        allowed = TRANSITIONS.get(current, ())
        hint = (
            "it can go to " + " or ".join(S(a).label.lower() for a in allowed)
            if allowed
            else "that is final"
        )
        raise DecisionError(
            f"{decision.label} is {S(current).label.lower()} and cannot become "
            f"{S(to).label.lower()}; {hint}."
        )
    changes: dict[str, Any] = {"status": to}
    if to == S.ACCEPTED:
        changes["date"] = timezone.localdate()
        if decision_makers is not None:
            changes["decision_makers"] = "\n".join(_people(decision_makers))
        if consulted is not None:
            changes["consulted"] = "\n".join(_people(consulted))
    diff = _apply(decision, changes)
    decision.save()
    if to == S.ACCEPTED:
        # What the record relies on, from the snapshot it was drafted from, checked from now on.
        from decisions.living.services import assumptions_derive

        assumptions_derive(decision=decision, by=by)
    _log(decision, by, ACTION_FOR[to], diff, note)

    predecessors = list(Decision.objects.select_for_update().filter(superseded_by=decision))
    for old in predecessors:
        if to == S.ACCEPTED and old.status == S.ACCEPTED:
            old_diff = _apply(old, {"status": S.SUPERSEDED})
            old.save()
            _log(old, by, "superseded", old_diff, f"Superseded by {decision.label}.")
        elif to == S.REJECTED:
            old.superseded_by = None
            old.save(update_fields=["superseded_by", "updated"])
            _log(
                old,
                by,
                "unlinked",
                {"superseded_by": [decision.label, None]},
                f"Replacement {decision.label} was rejected.",
            )
    return decision


def decision_replacement_draft(*, decision: Decision) -> Decision:
    """An unsaved copy of a record, to preview as its replacement; nothing is written."""
    fields = {name: getattr(decision, name) for name in EDITABLE_FIELDS if name != "date"}
    return Decision(
        team=decision.team,
        use_case=decision.use_case,
        snapshot=decision.snapshot,
        date=timezone.localdate(),
        **fields,
    )


@transaction.atomic
def decision_supersede(
    *,
    decision: Decision,
    by: User,
    data: Mapping[str, Any] | None = None,
    note: str = "",
) -> Decision:
    """Start a replacement for an accepted record: a proposed copy, linked both ways.

    `data` holds the replacement's fields as edited in the preview, or drafted from new
    evidence (then with its own ``snapshot``); by default a copy. The old record stays
    accepted until the replacement is accepted (see module docstring).
    """
    old = _locked(decision)
    if old.status != S.ACCEPTED:
        raise DecisionError(
            f"Only an accepted record can be superseded; {old.label} is "
            f"{old.get_status_display().lower()}."
        )
    if old.superseded_by is not None:
        pending = old.superseded_by
        raise DecisionError(f"{old.label} already has a replacement in progress: {pending.label}.")
    copied = {name: getattr(old, name) for name in EDITABLE_FIELDS if name != "date"}
    data = {**copied, **(data or {})}
    data.setdefault("use_case", old.use_case)
    data.setdefault("snapshot", old.snapshot)
    new = decision_create(
        team=old.team,
        data=data,
        by=by,
        action="created",
        note=f"Started to supersede {old.label}.{' ' + note if note else ''}",
    )
    old.superseded_by = new
    old.save(update_fields=["superseded_by", "updated"])
    _log(
        old,
        by,
        "superseding",
        {"superseded_by": [None, new.label]},
        f"{new.label} proposed as its replacement.",
    )
    return new


# --- deleting ---------------------------------------------------------------


def decision_may_delete(*, decision: Decision, membership: Membership) -> bool:
    """A facilitator may delete any proposal; a member only the ones they created."""
    if decision.status != S.PROPOSED or not membership.can_write:
        return False
    return membership.is_facilitator or decision.created_by_id == membership.user_id


@transaction.atomic
def decision_delete(*, decision: Decision, by: User) -> None:
    """Delete a proposal that no review has taken up; settled records are never deleted.

    A record it was replacing is unlinked (and says so in its history), so that record can
    be superseded again. The deletion itself goes into the team's activity.
    """
    decision = _locked(decision)
    if decision.status != S.PROPOSED:
        raise DecisionError(
            f"{decision.label} is {decision.get_status_display().lower()}: only proposals "
            "are deleted. Deprecate or supersede it instead."
        )
    agenda = AgendaItem.objects.filter(decision=decision).select_related("session").first()
    if agenda is not None:
        raise DecisionError(
            f"{decision.label} is on the agenda of “{agenda.session.title}”; "
            "it stays as long as that session does."
        )
    for old in Decision.objects.select_for_update().filter(superseded_by=decision):
        old.superseded_by = None
        old.save(update_fields=["superseded_by", "updated"])
        _log(
            old,
            by,
            "unlinked",
            {"superseded_by": [decision.label, None]},
            f"Replacement {decision.label} was deleted.",
        )
    subject = f"{decision.label} {decision.title}"
    team = decision.team
    decision.delete()
    activity_record(team=team, by=by, action="deleted", subject=subject, note="Proposed ADR.")


# --- helpers ----------------------------------------------------------------


def _locked(decision: Decision) -> Decision:
    """The row as it is now, locked for this transaction (two facilitators, one click each)."""
    return Decision.objects.select_for_update().select_related("team").get(pk=decision.pk)


def normalised_text(value: Any) -> Any:
    """Text as it should be stored and compared: LF line endings, no trailing blanks.

    Browsers send textareas back with CRLF, so without this an untouched field would
    show up in the history as changed.
    """
    if isinstance(value, str):
        lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(line.rstrip() for line in lines).rstrip()
    if isinstance(value, list):
        return [normalised_text(item) for item in value]
    if isinstance(value, dict):
        return {key: normalised_text(item) for key, item in value.items()}
    return value


def _apply(decision: Decision, changes: Mapping[str, Any]) -> dict[str, list[Any]]:
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name == "date" and isinstance(value, str):
            value = datetime.date.fromisoformat(value)
        value = normalised_text(value)
        old = getattr(decision, name)
        if normalised_text(old) != value:
            diff[name] = [_jsonable(old), _jsonable(value)]
            setattr(decision, name, value)
    return diff


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decision):
        return value.label
    if hasattr(value, "pk"):
        return str(value)
    return value


def _people(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def _user(by: User) -> Any:
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _log(
    decision: Decision, by: User, action: str, diff: Mapping[str, Any], note: str = ""
) -> DecisionChange:
    return DecisionChange.objects.create(
        decision=decision, by=_user(by), action=action, diff=dict(diff), note=note
    )


def pattern_for_option(name: str) -> str:
    """The engine's pattern id for an option name, or "" (imports, hand-written options)."""
    for pattern, label in PATTERN_NAMES.items():
        if label.casefold() == name.strip().casefold():
            return pattern
    return ""
