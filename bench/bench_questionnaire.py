"""The questionnaire page under wrk, as a ratio to a bare Django view served the same way.

Both run in one gunicorn worker pinned to core 1, with the same settings and
middleware (sessions, auth, CSRF, htmx), against a SQLite file under var/; wrk
runs pinned to core 0. The page is fetched logged in, as a facilitator would
open "New use case": it renders the whole form and asks the engine for the
default answers' recommendation.

    .venv/bin/python bench/bench_questionnaire.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB = ROOT / "var" / "bench-questionnaire.sqlite3"
TARGET_RATIO = 0.5
DURATION_S = 3
ROUNDS = 3  # each page is measured this often, interleaved; the median run counts
CONNECTIONS = 8
# The steps every logged-in team page takes before its own work, one row each.
SESSION_STEP = "session read, no page"
FLOOR = "+ a CSRF token: the logged-in floor"


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"sqlite:///{DB}",
        "DEBUG": "0",
        "PYTHONPATH": str(ROOT),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def browser_cookies() -> str:
    """The Cookie header of a browser where alice is logged in and has opened a page:
    her session, and the CSRF cookie every page she has seen set."""
    code = (
        "import django; django.setup();"
        "from django.test import Client; from django.contrib.auth import get_user_model;"
        "c = Client(HTTP_HOST='127.0.0.1');"
        "c.force_login(get_user_model().objects.get(username='alice'));"
        "c.get('/t/acme/usecases/');"
        "print('; '.join(f'{n}={c.cookies[n].value}' for n in ('sessionid', 'csrftoken')))"
    )
    out = subprocess.run([PY, "-c", code], env=env(), cwd=ROOT, check=True, capture_output=True)
    return out.stdout.decode().strip()


def wrk(url: str, cookies: str, duration_s: int = DURATION_S) -> dict[str, float]:
    command = [
        "taskset",
        "-c",
        "0",
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{duration_s}s",
        "--latency",
        "-H",
        f"Cookie: {cookies}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url} answered {non2xx.group(1)} errors:\n{out}")
    latencies = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    return {"rps": rps, "p50": _ms(latencies["50"]), "p99": _ms(latencies["99"])}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    if not shutil.which("wrk"):
        print("## Questionnaire page throughput\n\nwrk is not installed (`make system`).\n")
        return 1
    DB.unlink(missing_ok=True)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run(
            [PY, "manage.py", *command], env=env(), cwd=ROOT, check=True, capture_output=True
        )
    cookies = browser_cookies()
    port = free_port()
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "1",
            PY,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env(),
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        pages = {
            "bare Django view": f"{base}/bench/bare/",
            SESSION_STEP: f"{base}/bench/session/acme/",
            "+ the user": f"{base}/bench/user/acme/",
            "+ the team check": f"{base}/bench/team/acme/",
            FLOOR: f"{base}/bench/floor/acme/",
            "questionnaire (new use case)": f"{base}/t/acme/usecases/new/",
            "use-case list": f"{base}/t/acme/usecases/",
        }
        # A worker's first requests import and compile what the pages need;
        # warm every page first so the timed runs compare steady states.
        for url in pages.values():
            wrk(url, cookies, duration_s=1)
        # Interleaved rounds, so that a neighbour's burst of load falls on every page alike.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        for _ in range(ROUNDS):
            for name, url in pages.items():
                runs[name].append(wrk(url, cookies))
        results = {
            name: sorted(found, key=lambda r: r["rps"])[ROUNDS // 2] for name, found in runs.items()
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
    bare = results["bare Django view"]["rps"]
    print("## Questionnaire page throughput\n")
    print(
        f"wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s against one gunicorn sync worker (core 1), "
        f"{ROUNDS} interleaved rounds per page, the median round shown, "
        "logged in (session and CSRF cookies, as a browser sends them), SQLite, `DEBUG=0`; "
        "wrk on core 0. Ratio = requests/s of the page over "
        f"requests/s of a bare view through the same stack. Target: questionnaire ratio >= "
        f"{TARGET_RATIO}.\n"
    )
    print("| page | requests/s | p50 ms | p99 ms | ratio to bare view |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, result in results.items():
        print(
            f"| {name} | {result['rps']:.0f} | {result['p50']:.2f} | {result['p99']:.2f} | "
            f"{result['rps'] / bare:.2f} |"
        )
    ratio = results["questionnaire (new use case)"]["rps"] / bare
    floor = results[FLOOR]["rps"] / bare
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(
        f"\nQuestionnaire ratio {ratio:.2f}: {verdict} the target of {TARGET_RATIO}. "
        f'The rows from "{SESSION_STEP}" down to the logged-in floor each add one step '
        "that every logged-in team page takes before its own work (read the session from "
        "the database, load the user it names, check the team, mask a CSRF token); the "
        f"floor, which renders nothing, reaches {floor:.2f}, and the page itself keeps "
        f"{ratio / floor:.0%} of what that floor leaves.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
