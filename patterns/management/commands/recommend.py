"""``manage.py recommend --input FILE|- [--format json|text] [--rules FILE]``."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patterns.engine import (
    InputError,
    Recommendation,
    RulePackError,
    default_rule_pack,
    load_rule_pack,
    parse_input,
    recommend,
)

# One use case is a few hundred bytes; a megabyte is far beyond any real one.
MAX_INPUT_CHARS = 1_000_000


def _read(source: str) -> str:
    """The input text, or exit 2 if it is longer than ``MAX_INPUT_CHARS``."""
    text = sys.stdin.read(MAX_INPUT_CHARS + 1) if source == "-" else _read_file(source)
    if len(text) > MAX_INPUT_CHARS:
        raise CommandError(
            f"input: longer than {MAX_INPUT_CHARS:,} characters; one use case is far smaller",
            returncode=2,
        )
    return text


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(text: str) -> Any:
    """JSON as the standard defines it, or exit 2 saying what is wrong and where."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"input: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            returncode=2,
        ) from None
    except RecursionError:
        raise CommandError(
            "input: the JSON is nested too deeply; a use case needs only a few levels",
            returncode=2,
        ) from None
    except ValueError as exc:  # NaN / Infinity, refused above
        raise CommandError(f"input: invalid JSON: {exc}", returncode=2) from None


def _read_file(source: str) -> str:
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read(MAX_INPUT_CHARS + 1)
    except OSError as exc:
        raise CommandError(
            f"input: cannot read {source}: {exc.strerror or exc}", returncode=2
        ) from None
    except UnicodeDecodeError:
        raise CommandError(f"input: {source} is not UTF-8 text", returncode=2) from None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _pct(value: float | None) -> str:
    return "not stated" if value is None else f"{round(value, 4):g}%"


def _heading(lines: list[str], text: str) -> None:
    lines += [text, "-" * len(text)]


def render_text(rec: Recommendation, name: str) -> str:
    """A readable report: ranking with reasons, what is ruled out and why, chain and
    availability vs targets, what would change the answer, supporting, risks."""
    data = rec.to_dict()
    lines: list[str] = []
    title = f"Recommendation for {name}" if name else "Recommendation"
    lines += [title, "=" * len(title), ""]
    lines.append(f"Rule pack: {data['rule_pack']['name']} {data['rule_pack']['version']}")
    if data["meets_all"]:
        lines.append("The first option meets every hard requirement.")
    else:
        lines.append(
            "NO OPTION MEETS EVERY REQUIREMENT: the first misses the fewest, by the smallest "
            "margin. See the relaxations below."
        )
    lines.append("")
    _heading(lines, "Ranked options")
    for rank, option in enumerate(data["options"], start=1):
        verdict = "" if option["meets_all"] else f"  RULED OUT: {', '.join(option['misses'])}"
        lines.append(
            f"{rank}. {option['name']} [{option['pattern']}, {option['family']}]"
            f"  score {option['score']:+.1f}{verdict}"
        )
        for reason in option["because"]:
            inputs = ", ".join(f"{k}={v}" for k, v in reason["inputs"].items())
            lines.append(f"     {reason['effect']:+.1f} {reason['rule']} ({inputs})")
        if rank == 1:
            for reason in option["because"]:
                if reason["effect"] > 0:
                    lines.append(f"     - {reason['explanation']}")
            lines += [f"     + {item}" for item in option["strengths"]]
            lines += [f"     ! {item}" for item in option["weaknesses"]]
        if option.get("sync_steps"):
            lines.append(f"     before the answer: {' -> '.join(option['sync_steps'])}")
            lines.append(f"     after the answer:  {' -> '.join(option['async_steps'])}")
    lines.append("")

    _heading(lines, "Ruled out")
    for miss in data["ruled_out"]:
        lines.append(f"* {miss['pattern']} ({miss['requirement']}): {miss['detail']}")
    if not data["ruled_out"]:
        lines.append("  nothing: every option meets every hard requirement")
    lines.append("")
    if data["relaxations"]:
        _heading(lines, "Relaxations")
        for item in data["relaxations"]:
            lines.append(
                f"* {item['requirement']} -> {item['to']} makes {item['option']} meet every "
                f"requirement: {item['detail']}"
            )
        lines.append("")

    chain = data["chain_estimate"]
    _heading(lines, "Chain estimate")
    if chain["hops"]:
        for hop in chain["hops"]:
            kind = "before the answer" if hop["critical"] else "after the answer"
            extra = ""
            if hop["source"] == "measured":
                extra = (
                    f" (measured: {hop['evidence']}; stated p50 {hop['stated_p50_ms']:g} ms,"
                    f" p99 {hop['stated_p99_ms']:g} ms)"
                )
            availability = _pct(hop["availability"])
            if hop["availability_source"] == "measured":
                availability += (
                    f" (measured lower bound: {hop['success_ratio']:g}% of {hop['samples']}"
                    f" requests succeeded; stated {_pct(hop['stated_availability'])})"
                )
            elif hop["availability_source"] == "stated":
                availability += " (stated)"
            lines.append(
                f"  {hop['service']}: p50 {hop['p50_ms']:g} ms, p99 {hop['p99_ms']:g} ms,"
                f" {hop['role']}, {kind}, {hop['source']}{extra}; availability {availability}"
            )
        verdict = {True: "within budget", False: "OVER BUDGET", None: "no verdict"}[
            chain["within_budget"]
        ]
        lines.append(
            f"  caller waits for {chain['critical_hops']} hop(s): p50 {_fmt(chain['p50_ms'])},"
            f" p95 {_fmt(chain['p95_ms'])} (budget {_fmt(chain['budget_p95_ms'])}),"
            f" p99 {_fmt(chain['p99_ms'])} (budget {_fmt(chain['budget_p99_ms'])}): {verdict}"
        )
    else:
        lines.append("  no chain given")
    lines.append("")

    if data["broker"]:
        _heading(lines, "Asynchronous half")
        lines.append(f"  {data['broker']['service']}: {data['broker']['verdict']}")
        lines.append("")

    availability = data["availability"]
    _heading(lines, "Availability of what the first option waits for")
    meets = "meets" if availability["meets"] else "MISSES"
    lines.append(
        f"  at most {_pct(availability['composite'])} against a target of "
        f"{_pct(availability['target'])}: {meets} it"
    )
    for item in availability["assumptions"]:
        lines.append(f"  assumes: {item}")
    for item in availability["consequences"]:
        lines.append(f"  consequence: {item}")
    lines.append("")

    if data["sensitivity"]:
        _heading(lines, "What would change the answer")
        for item in data["sensitivity"]:
            lines.append(f"* {item['detail']}")
        lines.append("")

    _heading(lines, "Supporting decisions")
    for item in data["supporting"]:
        lines.append(f"* {item['title']}")
        lines.append(f"  {item['why']}")
        for key, value in item["settings"].items():
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            lines.append(f"    {key}: {shown}")
    if not data["supporting"]:
        lines.append("  none")
    lines.append("")

    _heading(lines, "Risks")
    for risk in data["risks"]:
        lines.append(f"[{risk['severity']}] {risk['id']}: {risk['text']}")
    if not data["risks"]:
        lines.append("  none found")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Recommend communication patterns for one use case given as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--input", required=True, help="use case JSON file, or - to read standard input"
        )
        parser.add_argument("--format", choices=("json", "text"), default="json")
        parser.add_argument("--rules", help="a team rule pack (YAML) layered over the default pack")
        parser.add_argument(
            "--no-sensitivity",
            action="store_true",
            help="skip the search for what would change the answer (faster)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = _parse_json(_read(options["input"]))
        try:
            inp = parse_input(data)
        except InputError as exc:
            message = "\n".join(f"{field}: {error}" for field, error in exc.errors.items())
            raise CommandError(message, returncode=2) from None

        pack = default_rule_pack()
        if options.get("rules"):
            try:
                pack = pack.merged_with(load_rule_pack(options["rules"]))
            except RulePackError as exc:
                raise CommandError(f"rules: {exc}", returncode=2) from None

        rec = recommend(inp, rule_pack=pack, sensitivity=not options["no_sensitivity"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(rec.to_dict(), indent=2))
        else:
            self.stdout.write(render_text(rec, inp.name), ending="")
