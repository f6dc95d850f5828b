"""Run every bench/bench_*.py in one go and write docs/benchmarks.md.

Each benchmark prints one Markdown section; this stitches them together under
a header that says when and on what they ran, so ratios are read side by side.
A benchmark that fails is reported in its section and makes the run exit 1.

    make bench            # or: .venv/bin/python bench/run.py [name ...]
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _merge(previous: str, fresh: dict[str, str]) -> list[str]:
    """The previous file's sections, with those just measured put in their place."""
    body = previous.split("\n## ", 1)[1] if "\n## " in previous else ""
    merged = []
    for chunk in ("## " + part for part in body.split("\n\n## ")) if body else ():
        name = re.search(r"<sub>(bench_\w+\.py),", chunk)
        merged.append(fresh.pop(name.group(1)) if name and name.group(1) in fresh else chunk)
    return [*merged, *fresh.values()]


def main(names: list[str]) -> int:
    scripts = sorted(ROOT.glob("bench/bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    sections, failed = [], []
    for script in scripts:
        print(f"running {script.name} ...", flush=True)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            # The scale section renders a 1,000-record log PDF; give every section an hour.
            timeout=3600,
        )
        took = time.monotonic() - started
        section = result.stdout.strip()
        if result.returncode != 0:
            failed.append(script.name)
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            section += (
                f"\n\n**{script.name} failed (exit {result.returncode}):**\n\n```\n{tail}\n```"
            )
        sections.append(f"{section}\n\n<sub>{script.name}, {took:.0f} s</sub>")
        print(section, flush=True)
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
        f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Each section compares Archway with the "
        "tool people would otherwise use, measured in the same run, so read the ratios "
        "rather than the absolute numbers. Load on the machine during the run moves the "
        "absolute numbers; run `make bench` on a quiet machine.\n"
    )
    if names and OUT.exists():
        # A partial run replaces its own sections and keeps the others.
        measured = dict(zip([script.name for script in scripts], sections, strict=True))
        sections = _merge(OUT.read_text(), measured)
    OUT.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
