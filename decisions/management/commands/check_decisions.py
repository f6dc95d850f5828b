"""Check accepted ADRs' assumptions: manage.py check_decisions --team SLUG [--adr N] [--now].

Exit status: 0 every assumption holds, 1 at least one fails (even if another could
not be measured), 2 bad input or a refusal (with ``--now``: a probe a precondition
refused), 3 none fails but a measurement was invalid.
Without ``--now`` the latest measurements are judged; with it the endpoints are probed
again (a Celery worker must be running) and the command waits for the results.
"""

from __future__ import annotations

import json
import time
from typing import Any
from xml.etree import ElementTree as ET

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from decisions.evidence import remeasurer
from decisions.living.derive import CHAIN
from decisions.living.selectors import HEALTH_LABELS, decision_health
from decisions.living.services import (
    REFUSED_PREFIX,
    assumption_kind,
    assumption_verdict,
    checks_advance,
    checks_request,
    measured_value,
)
from decisions.living.staleness import rule_pack_recheck
from decisions.management.commands._adr_common import decision_or_fail, team_or_fail
from decisions.models import (
    AssumptionCheck,
    AssumptionMetric,
    CheckStatus,
    Decision,
    DecisionStatus,
)

POLL_S = 0.5
# Beyond the probes' own durations, how long --now waits for a worker to take them.
WAIT_MARGIN_S = 120.0

# Judged from the latest valid probe of the assumption's endpoint until a check measures it.
FROM_LATEST_PROBE = (
    AssumptionMetric.HOP_P50,
    AssumptionMetric.HOP_P99,
    AssumptionMetric.AVAILABILITY,
    AssumptionMetric.STALENESS,
)


class Command(BaseCommand):
    help = (
        "Check the assumptions of a team's accepted ADRs; "
        "exit 0 hold, 1 fail, 2 bad input, 3 invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--adr", type=int, help="Only this ADR number.")
        parser.add_argument(
            "--now",
            action="store_true",
            help="Probe the endpoints again instead of judging the latest measurements.",
        )
        parser.add_argument("--format", choices=["text", "json", "junit"], default="text")
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            help="With --now: give up after this many seconds.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_or_fail(options["team"])
        decisions = list(
            Decision.objects.filter(team=team, status=DecisionStatus.ACCEPTED).select_related(
                "team", "snapshot"
            )
        )
        if options["adr"] is not None:
            decision = decision_or_fail(team, options["adr"])
            if decision.status != DecisionStatus.ACCEPTED:
                raise CommandError(
                    f"{decision.label} is {decision.get_status_display().lower()}; only accepted "
                    "records have assumptions to check.",
                    returncode=2,
                )
            decisions = [decision]
        if options["now"]:
            self._measure_now(team, decisions, options["timeout"])
        changed = {d.pk: top for d, top in rule_pack_recheck(team=team)}
        report = [self._decision_report(d, changed) for d in decisions]
        self._print(report, options["format"])
        statuses = [a["status"] for d in report for a in d["assumptions"]]
        refused = [
            a["reason"]
            for d in report
            for a in d["assumptions"]
            if a["status"] == CheckStatus.INVALID and a["reason"].startswith(REFUSED_PREFIX)
        ]
        if options["now"] and refused:
            raise CommandError(f"A probe was refused: {refused[0]}", returncode=2)
        if CheckStatus.FAILED in statuses:
            raise CommandError("At least one assumption fails.", returncode=1)
        if CheckStatus.INVALID in statuses:
            raise CommandError("No assumption fails, but a measurement was invalid.", returncode=3)

    def _measure_now(self, team: Any, decisions: list[Decision], timeout: float | None) -> None:
        now = timezone.now()
        for decision in decisions:
            checks_request(team=team, decision=decision, now=now)
        planned = sum(
            a.duration_s + 2 for d in decisions for a in d.assumptions.exclude(target=CHAIN)
        )
        deadline = time.monotonic() + (timeout if timeout is not None else planned + WAIT_MARGIN_S)
        ids = [d.pk for d in decisions]
        while True:
            result = checks_advance(team=team)
            mine = AssumptionCheck.objects.filter(
                assumption__decision__in=ids, status=CheckStatus.PENDING
            ).exists()
            if not mine:
                return
            if time.monotonic() > deadline:
                raise CommandError(
                    "Gave up waiting for the probes: is a Celery worker running? "
                    f"({len(result.started_probes)} started in the last step)",
                    returncode=2,
                )
            time.sleep(POLL_S)

    def _decision_report(self, decision: Decision, changed: dict[int, str]) -> dict[str, Any]:
        decision.refresh_from_db()
        healths = decision_health(decision)
        if decision.pk in changed and "recommendation_changed" not in healths:
            healths.append("recommendation_changed")
        rows = []
        for a in decision.assumptions.all():
            last = a.checks.exclude(status=CheckStatus.PENDING).first()
            status, value, reason = a.status, None, ""
            measured_at = None
            if last is not None:
                status, value, reason, measured_at = (
                    last.status,
                    last.value,
                    last.reason,
                    last.measured_at,
                )
            elif a.target != CHAIN and a.metric in FROM_LATEST_PROBE:
                # Never checked yet: judge the latest valid probe of its endpoint, if any.
                latest = remeasurer().latest(decision.team_id, a.target, kind=assumption_kind(a))
                if latest is not None and latest.state == "done":
                    value = measured_value(a.metric, latest)
                    measured_at = latest.measured_at
                    if value is not None:
                        status, reason = assumption_verdict(
                            assumption=a, value=value, measurement=latest
                        )
            ok = {CheckStatus.OK.value: True, CheckStatus.FAILED.value: False}.get(str(status))
            rows.append(
                {
                    "metric": a.metric,
                    "target": a.target,
                    "comparator": a.comparator,
                    "threshold": a.threshold,
                    "unit": a.unit,
                    "measured": value,
                    "ok": ok,
                    "status": str(status),
                    "reason": reason,
                    "measured_at": measured_at.isoformat() if measured_at else None,
                    "label": a.label,
                }
            )
        return {
            "number": decision.number,
            "label": decision.label,
            "title": decision.title,
            "health": healths[0] if healths else "holding",
            "healths": healths or ["holding"],
            "at_risk_reason": decision.at_risk_reason,
            "recommendation": decision.recommendation_note,
            "assumptions": rows,
        }

    def _print(self, report: list[dict[str, Any]], fmt: str) -> None:
        if fmt == "json":
            self.stdout.write(json.dumps({"decisions": report}, indent=2))
        elif fmt == "junit":
            self.stdout.write(junit_xml(report))
        else:
            for d in report:
                labels = ", ".join(HEALTH_LABELS[h] for h in d["healths"])
                self.stdout.write(f"{d['label']} {d['title']}: {labels}")
                if d["at_risk_reason"]:
                    self.stdout.write(f"  at risk: {d['at_risk_reason']}")
                if d["recommendation"]:
                    self.stdout.write(f"  {d['recommendation']}")
                for a in d["assumptions"]:
                    measured = "—" if a["measured"] is None else f"{a['measured']:.4g} {a['unit']}"
                    line = f"  [{CheckStatus(a['status']).label}] {a['label']}: measured {measured}"
                    if a["reason"]:
                        line += f" ({a['reason']})"
                    self.stdout.write(line)


def junit_xml(report: list[dict[str, Any]]) -> str:
    """One testsuite per ADR, one testcase per assumption: CI shows them as tests."""
    suites = ET.Element("testsuites", name="check_decisions")
    for d in report:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{d['label']} {d['title']}",
            tests=str(len(d["assumptions"])),
            failures=str(sum(a["status"] == CheckStatus.FAILED for a in d["assumptions"])),
            errors=str(sum(a["status"] == CheckStatus.INVALID for a in d["assumptions"])),
        )
        for a in d["assumptions"]:
            case = ET.SubElement(suite, "testcase", classname=d["label"], name=a["label"])
            measured = (
                "not measured" if a["measured"] is None else f"{a['measured']:.4g} {a['unit']}"
            )
            if a["status"] == CheckStatus.FAILED:
                ET.SubElement(case, "failure", message=a["reason"] or f"measured {measured}")
            elif a["status"] == CheckStatus.INVALID:
                ET.SubElement(case, "error", message=a["reason"] or "could not measure")
            elif a["status"] != CheckStatus.OK:
                ET.SubElement(case, "skipped", message=CheckStatus(a["status"]).label)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
