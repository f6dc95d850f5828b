"""PDF exports: one ADR with its diagram against WeasyPrint alone, and a 50-ADR log.

Run from the repository root: ``.venv/bin/python bench/bench_pdf.py``. Uses its own
SQLite file (var/bench-pdf.sqlite3, tables made straight from the models) and prints one
Markdown section for docs/benchmarks.md.

What is compared:
* **Archway one-ADR PDF**: ``render_pdf(adr_html(decision))``, i.e. the print template
  with the inline SVG diagram, rendered in a forked child with the time limit and the
  restricted URL fetcher (everything a user's download pays for, minus the HTTP layer).
* **WeasyPrint baseline**: the same HTML with the diagram section removed, rendered
  in-process by ``weasyprint.HTML(string=...).write_pdf()`` with default settings.
* **50-ADR log**: ``log_html`` for 50 drafted records (a diagram each) plus the render,
  as the Celery job does it.

Diagrams are kept by content (``patterns.diagrams.svg_cache`` and the ``DiagramRender``
table, ADR-0011), so after the warm-ups
the Archway render reuses its drawing, as a repeat download does. The table also shows
the same render with the cache emptied first (dot runs every time), for comparison; it
is not part of the ratio. The log's 50 records share one use case, so their diagrams are
one drawing: the log's time includes one dot run, not 50.
"""

from __future__ import annotations

import io
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = ROOT / "var" / "bench-pdf.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"

import logging  # noqa: E402

import django  # noqa: E402

# WeasyPrint warns about each refused URL; a benchmark has none, and keeps stdout clean.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

RUNS = 9
LOG_SIZE = 50


def setup() -> None:
    DB.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    django.setup()
    from django.apps import apps
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)


def timed(fn, runs: int = RUNS) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    setup()
    from pypdf import PdfReader
    from weasyprint import HTML

    from decisions.demo import USE_CASES
    from decisions.models import Decision, DiagramRender, UseCase
    from decisions.pdf import BASE_URL, SafeFetcher, render_pdf
    from decisions.records.exports.pdf import adr_html, log_html, log_timeout
    from decisions.records.services import decision_create_from_use_case
    from decisions.usecases.services import use_case_save
    from patterns.diagrams import svg_cache
    from tests.factories import make_team

    team = make_team("bench", "Bench Shop")
    _, name, description, answers, chain = next(u for u in USE_CASES if u[1] == "Place an order")
    use_case = UseCase(team=team, name=name, description=description, **answers)
    use_case_save(use_case=use_case, hops=chain, by=None)
    decision = decision_create_from_use_case(use_case=use_case, by=None)

    def load(number: int) -> Decision:
        return (
            Decision.objects.select_related("team", "superseded_by", "use_case", "snapshot")
            .prefetch_related("supersedes")
            .get(team=team, number=number)
        )

    html = adr_html(load(decision.number))
    bare = re.sub(
        r'<section class="adr-section diagram-section">.*?</section>', "", html, flags=re.S
    )
    assert "<svg" in html and "<svg" not in bare

    def baseline() -> None:
        # Same base URL and fetcher, so the print stylesheet loads as it does for us.
        HTML(string=bare, base_url=BASE_URL, url_fetcher=SafeFetcher()).write_pdf()

    def archway() -> None:
        render_pdf(adr_html(load(decision.number)))

    def archway_cold() -> None:
        svg_cache.clear()
        DiagramRender.objects.all().delete()  # drawings are kept in the database too
        archway()

    # Warm both paths (fonts, caches), then alternate them so that load from other
    # processes on the machine falls on both alike.
    for _ in range(3):
        archway()
        baseline()
    ours, base, cold = [], [], []
    for _ in range(RUNS):
        ours += timed(archway, 1)
        base += timed(baseline, 1)
        cold += timed(archway_cold, 1)
    ours_median, base_median = statistics.median(ours), statistics.median(base)
    cold_median = statistics.median(cold)
    ratio = ours_median / base_median

    for _ in range(LOG_SIZE - 1):
        decision_create_from_use_case(use_case=use_case, by=None)
    decisions = [load(n) for n in range(1, LOG_SIZE + 1)]
    svg_cache.clear()
    DiagramRender.objects.all().delete()
    start = time.perf_counter()
    log_pdf = render_pdf(log_html(team, decisions), timeout=log_timeout(LOG_SIZE))
    log_s = time.perf_counter() - start

    pages = len(PdfReader(io.BytesIO(log_pdf)).pages)

    def ok(passed: bool) -> str:
        return "yes" if passed else "**no**"

    print("## PDF exports")
    print()
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start.")
    print()
    print(
        "One ADR drafted from the demo use case “Place an order” (4 considered options, a "
        f"saga diagram with 9 nodes), median of {RUNS} renders of each, alternating, after "
        "three warm-ups. Archway's render "
        "includes building the page, drawing the diagram with `dot`, the forked child with "
        "its time limit and the restricted URL fetcher; the baseline is WeasyPrint alone on "
        "the same HTML without the diagram section. The log is "
        f"{LOG_SIZE} such records in one PDF with a table of contents ({pages} pages), as the "
        "Celery job builds it."
    )
    print()
    print("| Measure | Result | Target | Met |")
    print("| --- | --- | --- | --- |")
    print(
        f"| One ADR, Archway (median) | {ours_median * 1000:.0f} ms | < 1000 ms | "
        f"{ok(ours_median < 1)} |"
    )
    print(f"| One ADR, WeasyPrint without diagram (median) | {base_median * 1000:.0f} ms | | |")
    print(f"| Ratio Archway / baseline | {ratio:.2f} | <= 1.5 | {ok(ratio <= 1.5)} |")
    print(
        f"| One ADR, Archway (min / max) | {min(ours) * 1000:.0f} / {max(ours) * 1000:.0f} ms | | |"
    )
    print(
        f"| One ADR, Archway, diagram cache emptied first (median) | {cold_median * 1000:.0f} ms "
        f"(ratio {cold_median / base_median:.2f}) | | |"
    )
    print(f"| {LOG_SIZE}-ADR log PDF ({pages} pages) | {log_s:.1f} s | < 20 s | {ok(log_s < 20)} |")


if __name__ == "__main__":
    main()
