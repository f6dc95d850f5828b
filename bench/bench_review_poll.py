"""Benchmark the live review page's poll: ``python bench/bench_review_poll.py`` from the repo root.

A session of 30 people: 30 users logged in, each polling the poll endpoint with the
token of what its page shows, as the browser does. The server is gunicorn (sync
workers) on 127.0.0.1 with a fresh SQLite file under var/. While the clients poll, this
process plays the room: a vote or a comment every few seconds, through the services,
on the same database file.

Two runs, each bounded in time:

* paced: every client polls once a second (what a live page does). Latency is measured
  from the moment the poll was due, so a stalled server cannot hide behind late sends.
* flat out: every client polls again as soon as it has an answer; this gives the
  throughput the endpoint can sustain, and its latency under that load.

Prints a Markdown section ``## Review session polling``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.timing import percentile  # noqa: E402

DB_FILE = ROOT / "var" / "bench-review.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB_FILE}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PEOPLE = 30
# The live region carries the token of what it shows in its next poll's URL.
SINCE = re.compile(r"\?since=([^\"&]+)")
PACED_S = 10.0
FLAT_OUT_S = 8.0
WARM_UP_MAX_S = 20.0
PACED = "paced, 1 poll/s each"
FLAT_OUT = "flat out"
ROOM_EVERY_S = 3.0  # a vote or a comment this often, like a lively meeting
TARGET_P95_MS = 50.0
WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn's own rule of thumb for sync workers


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    unchanged: int = 0
    changed: int = 0
    errors: int = 0
    unchanged_ms: list[float] = field(default_factory=list)
    changed_ms: list[float] = field(default_factory=list)


# --- the room ----------------------------------------------------------------


def prepare() -> tuple[str, int, list[str], list]:
    """A fresh database with a team of 30, a live session, and a logged-in cookie each."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from decisions.models import Role, Team
    from decisions.records.services import decision_create_from_use_case
    from decisions.reviews.services import session_create, session_start
    from tests.factories import add_member, make_use_case

    call_command("migrate", verbosity=0)
    team = Team.objects.create(slug="bench", name="Bench")
    users = []
    for i in range(PEOPLE):
        user = get_user_model().objects.create_user(username=f"person{i:02d}")
        add_member(team, user, Role.FACILITATOR if i == 0 else Role.MEMBER)
        users.append(user)
    decisions = []
    for name in ("Place an order", "Order notifications"):
        use_case = make_use_case(team, name=name, by=users[0])
        decisions.append(decision_create_from_use_case(use_case=use_case, by=users[0]))
    from django.utils import timezone

    session = session_create(
        team=team,
        title="Bench review",
        scheduled_for=timezone.now(),
        decisions=decisions,
        by=users[0],
    )
    session = session_start(session=session, by=users[0])
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return team.slug, session.pk, cookies, users


def play_the_room(session_pk: int, users: list, stop: threading.Event) -> int:
    """Votes and comments through the services while the clients poll; returns how many."""
    from django.db import connection

    from decisions.models import ReviewSession
    from decisions.reviews.services import comment_add, vote_cast

    session = ReviewSession.objects.get(pk=session_pk)
    item = session.current_item
    rng = random.Random(7)
    acts = 0
    while not stop.wait(ROOM_EVERY_S):
        user = rng.choice(users[1:])
        if rng.random() < 0.6:
            vote_cast(item=item, by=user, choice=rng.choice(["approve", "concerns", "block"]))
        else:
            comment_add(item=item, by=user, body=f"Point {acts}: what about **retries**?")
        acts += 1
    connection.close()
    return acts


# --- the server --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "0", "LOG_LEVEL": "ERROR"}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


# --- the clients -------------------------------------------------------------


async def client(
    base: str,
    cookie: str,
    tokens: dict[str, str],
    paced: bool,
    until: float,
    samples: Samples,
    offset: float,
) -> None:
    """One person's page: poll with the token of what it shows, keep the new one on a 200."""
    import aiohttp

    token = tokens.get(cookie, "")
    jar = aiohttp.DummyCookieJar()  # the session cookie goes in by hand, per client
    headers = {"Cookie": f"sessionid={cookie}", "HX-Request": "true"}
    async with aiohttp.ClientSession(cookie_jar=jar, headers=headers) as http:
        due = time.perf_counter() + offset
        while True:
            if paced:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            start = due if paced else time.perf_counter()
            if time.perf_counter() >= until:
                return
            try:
                async with http.get(base, params={"since": token}) as response:
                    body = await response.read()
                    status = response.status
            except aiohttp.ClientError:
                samples.errors += 1
                due += 1.0
                continue
            elapsed = (time.perf_counter() - start) * 1000
            if status == 204:
                samples.unchanged += 1
                samples.unchanged_ms.append(elapsed)
            elif status == 200:
                samples.changed += 1
                samples.changed_ms.append(elapsed)
                found = SINCE.search(body.decode())
                token = tokens[cookie] = found.group(1) if found else ""
            else:
                samples.errors += 1
            if status in (200, 204):
                samples.latencies_ms.append(elapsed)
            due += 1.0


async def run_clients(
    base: str, cookies: list[str], tokens: dict[str, str], paced: bool, seconds: float
) -> Samples:
    samples = Samples()
    until = time.perf_counter() + seconds
    # Browsers open the page at different moments: spread the paced polls over a second.
    await asyncio.gather(
        *(
            client(base, cookie, tokens, paced, until, samples, offset=i / len(cookies))
            for i, cookie in enumerate(cookies)
        )
    )
    return samples


def warm_up(base: str, cookies: list[str], tokens: dict[str, str]) -> bool:
    """Everyone opens the page and becomes present; every worker has served requests.

    A worker's first request imports the URLconf and the views, which takes a second or
    more on a busy machine, so warm until every page shows the same, settled state
    (nothing changed for anyone), within a bound.
    """
    deadline = time.perf_counter() + WARM_UP_MAX_S
    while time.perf_counter() < deadline:
        samples = asyncio.run(run_clients(base, cookies, tokens, paced=False, seconds=2.0))
        settled = len(set(tokens.values())) == 1 and len(tokens) == len(cookies)
        if settled and samples.changed == 0 and samples.unchanged:
            return True
    return False


def row(name: str, samples: Samples, seconds: float, verdict: str) -> str:
    total = samples.unchanged + samples.changed
    share = samples.unchanged / total if total else 0.0
    return (
        f"| {name} | {PEOPLE} | {total} | {total / seconds:.0f} | "
        f"{percentile(samples.latencies_ms, 50):.1f} | "
        f"{percentile(samples.latencies_ms, 95):.1f} | "
        f"{percentile(samples.latencies_ms, 99):.1f} | {share:.0%} | {samples.errors} | "
        f"{verdict} |"
    )


def main() -> None:
    team_slug, session_pk, cookies, users = prepare()
    port = free_port()
    server = start_gunicorn(port)
    base = f"http://127.0.0.1:{port}/t/{team_slug}/reviews/{session_pk}/poll/"
    results: dict[str, tuple[Samples, int]] = {}
    tokens: dict[str, str] = {}
    try:
        settled = warm_up(base, cookies, tokens)
        load = os.getloadavg()[0]
        for name, paced, seconds in ((PACED, True, PACED_S), (FLAT_OUT, False, FLAT_OUT_S)):
            stop = threading.Event()
            acts: list[int] = []
            room = threading.Thread(
                target=lambda stop=stop, acts=acts: acts.append(
                    play_the_room(session_pk, users, stop)
                )
            )
            room.start()
            samples = asyncio.run(run_clients(base, cookies, tokens, paced=paced, seconds=seconds))
            stop.set()
            room.join()
            results[name] = (samples, acts[0] if acts else 0)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    paced_run, flat_run = results[PACED][0], results[FLAT_OUT][0]
    changed_p50 = percentile(paced_run.changed_ms, 50)
    unchanged_p50 = percentile(paced_run.unchanged_ms, 50)
    ok = "yes" if percentile(paced_run.latencies_ms, 95) < TARGET_P95_MS else "**no**"
    capacity = (flat_run.unchanged + flat_run.changed) / FLAT_OUT_S / PEOPLE
    lines = [
        "## Review session polling",
        "",
        f"The live review page's poll endpoint for a session of {PEOPLE} people: {PEOPLE} "
        f"logged-in clients (aiohttp) each poll with the token of what they show; gunicorn "
        f"with {WORKERS} sync workers on 127.0.0.1, SQLite file database (WAL). During each "
        f"run a vote or comment lands every {ROOM_EVERY_S:g} s, so some polls carry a new "
        "region (200) and the rest answer “nothing changed” (204). Paced latency is measured "
        "from when each poll was due; the paced run is what a real session produces, the "
        f"flat-out run is the capacity. Runs: {PACED_S:g} s paced, {FLAT_OUT_S:g} s flat out.",
        "",
        "| run | clients | polls | polls/s | p50 ms | p95 ms | p99 ms | nothing changed "
        "| errors | against the target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        row(PACED, paced_run, PACED_S, f"p95 < {TARGET_P95_MS:g} ms: {ok}"),
        row(FLAT_OUT, flat_run, FLAT_OUT_S, f"capacity {capacity:.1f}× what the room needs"),
        "",
        f"A changed answer (the live region again) costs {changed_p50 / unchanged_p50:.1f}× "
        f"a “nothing changed” answer at the median ({changed_p50:.1f} ms vs "
        f"{unchanged_p50:.1f} ms, paced run). "
        f"Room activity: {results[PACED][1]} and {results[FLAT_OUT][1]} votes or comments "
        "during the two runs. Flat-out latency is queueing by construction (30 clients "
        "always waiting on the workers); the target applies to the paced run. "
        f"Load average when the runs started: {load:.1f} on {os.cpu_count()} cores"
        + ("" if settled else "; the warm-up did not settle, so the first polls are cold")
        + ".",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
