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


def render_text(rec: Recommendation, name: str) -> str:
    """A readable report: ranking with reasons, chain vs budget, supporting, risks."""
    data = rec.to_dict()
    lines: list[str] = []
    title = f"Recommendation for {name}" if name else "Recommendation"
    lines += [title, "=" * len(title), ""]
    lines.append(f"Rule pack: {data['rule_pack']['name']} {data['rule_pack']['version']}")
    lines.append("")
    lines.append("Ranked options")
    lines.append("--------------")
    for rank, option in enumerate(data["options"], start=1):
        lines.append(
            f"{rank}. {option['name']} [{option['pattern']}, {option['family']}]"
            f"  score {option['score']:+.1f}"
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

    chain = data["chain_estimate"]
    lines.append("Chain estimate")
    lines.append("--------------")
    if chain["hops"]:
        for hop in chain["hops"]:
            kind = "critical" if hop["critical"] else "after the answer"
            extra = ""
            if hop["source"] == "measured":
                extra = (
                    f" (measured: {hop['evidence']}; stated p50 {hop['stated_p50_ms']:g} ms,"
                    f" p99 {hop['stated_p99_ms']:g} ms)"
                )
            lines.append(
                f"  {hop['service']}: p50 {hop['p50_ms']:g} ms, p99 {hop['p99_ms']:g} ms,"
                f" {kind}, {hop['source']}{extra}"
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

    lines.append("Supporting decisions")
    lines.append("--------------------")
    for item in data["supporting"]:
        lines.append(f"* {item['title']}")
        lines.append(f"  {item['why']}")
        for key, value in item["settings"].items():
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            lines.append(f"    {key}: {shown}")
    if not data["supporting"]:
        lines.append("  none")
    lines.append("")

    lines.append("Risks")
    lines.append("-----")
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

        rec = recommend(inp, rule_pack=pack)
        if options["format"] == "json":
            self.stdout.write(json.dumps(rec.to_dict(), indent=2))
        else:
            self.stdout.write(render_text(rec, inp.name), ending="")
