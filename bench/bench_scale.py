"""Scale: list pages, the log zip and the log PDF for a team of 10,000 use cases and 5,000
decision records, against the same at 100.

Run from the repository root: ``.venv/bin/python bench/bench_scale.py``. Uses its own
SQLite file, var/bench-scale.sqlite3, built once with ``manage.py seed_scale``'s builder
(``decisions.scale.seed_scale``, the app's own services) and reused while it exists:
delete the file to build it again. Building the 10,000-use-case team takes minutes;
``bench/bench_scale.py --build`` builds it alone, and ``make bench`` runs that first.
Endpoints, probe runs and review sessions, which the builder does not make, are added in
bulk so that their lists have rows too.

What is measured:
* **List pages**: each list (use cases, decision log, search, probe endpoints and runs,
  review sessions) through Django's test client as the team's facilitator, median of
  repeated requests, for the big team and the small one, their requests alternating so
  that load on the machine falls on both alike; the ratio big/small (goal <= 1.5: a page
  costs the same however long the list). Both sides show the same number of rows (the
  table says how many), so the ratio compares a page with a page.
* **Log zip, as a job**: the whole 5,000-record log through ``export_job_run`` (run in
  this process, file saved through the storage API), first with no stored diagrams, then
  again (every diagram read from the store); time per record, and first/repeat (goal >= 5).
* **Log PDF**: 1,000 records of the big team, rendered in chunks and joined (``log_pdf``)
  into a temporary file, as the job does, in a fresh process: wall time, time per record,
  and the peak resident memory of that process (its VmHWM) and of its largest forked
  render child (goal: their sum <= 600 MB).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = ROOT / "var" / "bench-scale.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"

import logging  # noqa: E402

import django  # noqa: E402

logging.getLogger("weasyprint").setLevel(logging.ERROR)

BIG = ("scale-10k", 10_000, 5_000)
SMALL = ("scale-100", 100, 100)
PDF_RECORDS = 1_000
REPEATS = 15


def build() -> None:
    """Migrate the file and make both teams if they are missing (minutes, once)."""
    DB.parent.mkdir(exist_ok=True)
    django.setup()
    from django.core.management import call_command

    from decisions.models import Team
    from decisions.scale import seed_scale

    call_command("migrate", verbosity=0)
    for slug, use_cases, adrs in (SMALL, BIG):
        if Team.objects.filter(slug=slug).exists():
            continue
        started = time.monotonic()

        def progress(
            what: str, done: int, total: int, slug: str = slug, started: float = started
        ) -> None:
            elapsed = time.monotonic() - started
            print(f"{slug}: {what} {done:,}/{total:,} ({elapsed:.0f} s)", file=sys.stderr)

        team = seed_scale(slug=slug, use_cases=use_cases, adrs=adrs, progress=progress)
        # At least two pages of each list, so that both teams show full pages.
        _extra_rows(team, sessions=max(100, adrs // 10), endpoints=max(100, use_cases // 10))


def _extra_rows(team, *, sessions: int, endpoints: int) -> None:
    """Review sessions, endpoints and probe runs in bulk (no seed service makes them)."""
    import datetime

    from django.utils import timezone

    from decisions.models import Membership, ReviewSession
    from probes.models import Endpoint, JobStatus, ProbeRun

    owner = Membership.objects.get(team=team).user
    now = timezone.now()
    ReviewSession.objects.bulk_create(
        ReviewSession(
            team=team,
            title=f"Architecture review {i + 1}",
            scheduled_for=now - datetime.timedelta(days=i),
            facilitator=owner,
        )
        for i in range(sessions)
    )
    made = Endpoint.objects.bulk_create(
        Endpoint(
            team=team,
            name=f"Endpoint {i + 1:05d}",
            url=f"http://127.0.0.1:9/{i}",
            service=f"service-{i % 50}",
        )
        for i in range(endpoints)
    )
    ProbeRun.objects.bulk_create(
        ProbeRun(
            team=team,
            endpoint=endpoint,
            url=endpoint.url,
            rate=50.0,
            duration_s=5.0,
            status=JobStatus.SUCCEEDED,
            progress=100.0,
            p50_ms=4.0 + k,
            p99_ms=30.0 + k,
            created_by=owner,
            finished_at=now,
        )
        for endpoint in made
        for k in range(5)
    )


# name: (path under /t/<team>/, query). Filters and searches show 15 rows a page: the
# small team has 15 use cases matching "payments" and 29 accepted records, so both teams
# show full pages of the same size and the ratio compares a page with a page.
PAGES = {
    "use cases": ("usecases/", ""),
    "use cases, page 20": ("usecases/", "page=20"),
    "use-case search": ("usecases/", "q=payments&per_page=15"),
    "decision log": ("decisions/", ""),
    "decision log, accepted": ("decisions/", "status=accepted&per_page=15"),
    "decision search": ("decisions/", "q=queue"),
    "decision log, htmx page 2": ("decisions/", "page=2"),
    "probe endpoints and runs": ("probes/", ""),
    "review sessions": ("reviews/", ""),
}
SHOWN = re.compile(r"(\d[\d,]*)–(\d[\d,]*) of (\d[\d,]*)")


def page_times() -> dict[str, dict[str, tuple[float, str]]]:
    """Per page, per team: the median time in ms and the rows shown ("50 of 10,000").

    The two teams' requests alternate, so load on the machine that comes and goes during
    the run falls on both sides of a ratio alike."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    clients = {}
    for slug in (BIG[0], SMALL[0]):
        clients[slug] = Client(HTTP_HOST="127.0.0.1")
        clients[slug].force_login(get_user_model().objects.get(username=f"{slug}-owner"))
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for name, (path, query) in PAGES.items():
        headers = (
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "adr-table"} if "htmx" in name else {}
        )
        urls = {slug: f"/t/{slug}/{path}" + (f"?{query}" if query else "") for slug in clients}

        def get(slug: str, urls: dict = urls, headers: dict = headers) -> str:
            response = clients[slug].get(urls[slug], **headers)
            assert response.status_code == 200, (urls[slug], response.status_code)
            return response.content.decode()

        shown = {}
        for slug in clients:
            for _ in range(3):
                body = get(slug)
            found = SHOWN.search(body)
            first, last, total = (int(x.replace(",", "")) for x in found.groups())
            shown[slug] = f"{last - first + 1} of {total:,}"
        samples: dict[str, list[float]] = {slug: [] for slug in clients}
        for _ in range(REPEATS):
            for slug in clients:
                start = time.perf_counter()
                get(slug)
                samples[slug].append((time.perf_counter() - start) * 1000.0)
        out[name] = {slug: (statistics.median(samples[slug]), shown[slug]) for slug in clients}
    return out


def zip_times(slug: str) -> dict[str, float]:
    """The log zip as the export job builds it (``export_job_run``, in this process: the
    claim, the heartbeat, the file saved through the storage API), first with no stored
    diagrams, then again as another worker would (the in-process cache emptied)."""
    from decisions.jobs import JobStatus
    from decisions.models import Decision, DiagramRender, ExportJob, Team
    from decisions.records.exports.jobs import export_job_run
    from decisions.records.exports.kinds import LOG_ZIP
    from patterns.diagrams import svg_cache

    team = Team.objects.get(slug=slug)
    DiagramRender.objects.all().delete()
    records = Decision.objects.filter(team=team).count()

    def once() -> float:
        svg_cache.clear()
        job = ExportJob.objects.create(team=team, kind=LOG_ZIP)
        start = time.perf_counter()
        export_job_run(job_id=job.pk, worker="bench pid 1")
        took = time.perf_counter() - start
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error
        return took

    first = once()
    repeat = once()
    return {"records": records, "first_s": first, "repeat_s": repeat}


def pdf_memory(slug: str, records: int) -> dict[str, float]:
    """log_pdf of ``records`` records in a fresh process; its peak RSS and its children's."""
    code = f"""
import json, os, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
import django, logging
django.setup()
logging.getLogger("weasyprint").setLevel(logging.ERROR)
from decisions.models import Decision, Team
from decisions.records.exports.log_pdf import log_pdf
from pypdf import PdfReader
import tempfile
team = Team.objects.get(slug={slug!r})
decisions = Decision.objects.filter(team=team, number__lte={records})
decisions = decisions.only("pk", "number", "title", "status")
start = time.perf_counter()
# Into a file, as the job does (a temporary file that storage then copies).
pdf = tempfile.TemporaryFile()
log_pdf(team, decisions, target=pdf)
took = time.perf_counter() - start
# Peaks taken before this script reads the PDF back (which is not the job's memory).
# This process's own peak is VmHWM: ru_maxrss would carry over the peak of the bench
# process that started it (Linux keeps it across the exec).
with open("/proc/self/status") as status:
    parent_mb = next(int(x.split()[1]) for x in status if x.startswith("VmHWM")) / 1024
child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
size = pdf.tell()
pdf.seek(0)
pages = len(PdfReader(pdf).pages)
print(json.dumps({{
    "seconds": took, "pages": pages, "bytes": size,
    "parent_mb": parent_mb, "child_mb": child_mb,
}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    build()
    pages = page_times()
    zipped = zip_times(BIG[0])
    pdf = pdf_memory(BIG[0], PDF_RECORDS)

    def ok(passed: bool) -> str:
        return "yes" if passed else "**no**"

    print("## Scale: 10,000 use cases and 5,000 decision records\n")
    print(
        "One team built by `manage.py seed_scale` (the app's services; varied answers) "
        f"with {BIG[1]:,} use cases and {BIG[2]:,} records, against one with {SMALL[1]} and "
        f"{SMALL[2]} (and 100 review sessions and endpoints); SQLite, in-process through "
        f"Django's test client, median of {REPEATS} requests to each, the two teams' "
        "requests alternating. Every list shows 50 rows a page with a count; filters and "
        "searches 15, as many as the small team has, so that both sides show the same "
        "rows. Search on SQLite is a substring scan of every row by design (PostgreSQL "
        "uses GIN indexes), so its page grows with the team.\n"
    )
    print("| page | at 100 | at 10,000 / 5,000 | ratio | flat (<= 1.5x) |")
    print("| --- | --- | --- | --- | --- |")
    for name, found in pages.items():
        (small, small_rows), (big, big_rows) = found[SMALL[0]], found[BIG[0]]
        ratio = big / small
        print(
            f"| {name} | {small:.1f} ms ({small_rows}) | {big:.1f} ms ({big_rows}) | "
            f"{ratio:.2f}x | {ok(ratio <= 1.5)} |"
        )
    per_record = zipped["first_s"] / zipped["records"] * 1000
    speedup = zipped["first_s"] / zipped["repeat_s"]
    print()
    print("| export | result | goal |")
    print("| --- | --- | --- |")
    print(
        f"| log zip, {zipped['records']:,} records, first (every diagram drawn) | "
        f"{zipped['first_s']:.1f} s ({per_record:.1f} ms a record) | finishes |"
    )
    print(
        f"| log zip, repeat (diagrams from the store) | {zipped['repeat_s']:.1f} s, "
        f"{speedup:.1f}x faster | >= 5x: {ok(speedup >= 5)} |"
    )
    total_mb = pdf["parent_mb"] + pdf["child_mb"]
    print(
        f"| log PDF, {PDF_RECORDS:,} records in parts of 25 ({pdf['pages']:,} pages) | "
        f"{pdf['seconds']:.0f} s ({pdf['seconds'] / PDF_RECORDS * 1000:.0f} ms a record); "
        f"peak memory {pdf['parent_mb']:.0f} MB (job) + {pdf['child_mb']:.0f} MB (largest "
        f"render child) = {total_mb:.0f} MB | <= 600 MB: {ok(total_mb <= 600)} |"
    )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nLoad average at the end of the run (1 / 5 / 15 min): {load} on {os.cpu_count()} "
        "cores: other work on the machine stretches the times (and a ratio, if it comes and goes "
        "between the two sides); the memory is not affected."
    )


if __name__ == "__main__":
    if "--build" in sys.argv:
        build()
    else:
        main()
