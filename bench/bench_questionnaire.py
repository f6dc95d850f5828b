"""The questionnaire's pages under wrk, as a ratio to the Django admin change form of the
same use case, and the live preview's latency while 20 people type.

Everything runs against one gunicorn sync worker pinned to core 1, with the app's own
settings and middleware, on a SQLite file under var/ holding the demo data; the load
generators run pinned to core 0. Every request is logged in as alice (a facilitator in
acme, and a superuser so that she may open the admin), with the session and CSRF
cookies a browser sends. The use case is the demo's "Place an order" (four hops).

Throughput: wrk against the admin change form, "New use case", the edit page, the htmx
preview POST and the use-case list, interleaved rounds, the median round counts.

Typing: the preview POST under an open model (Archway's own probe engine): 20 users each
send one preview a second, so requests are due every 50 ms whatever the answers do, and
each latency is measured from its due time, so queueing behind a slow answer counts.

    .venv/bin/python bench/bench_questionnaire.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PY = sys.executable
DB = ROOT / "var" / "bench-questionnaire.sqlite3"
USE_CASE = "Place an order"
TARGET_RATIO = 1.0
DURATION_S = 3
ROUNDS = 3  # each page is measured this often, interleaved; the median run counts
CONNECTIONS = 8
ADMIN = "Django admin change form (baseline)"
PREVIEW = "htmx preview POST"
TYPISTS = 20  # simulated users, one preview each per second
TYPING_S = 30
TYPING_WARMUP_S = 2
TYPING_TIMEOUT_S = 10  # an answer slower than this counts as unanswered
TARGET_TYPING_P95_MS = 50.0


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


def prepare() -> None:
    """Run inside Django (``--prepare``): make alice a superuser, open a page as her in
    a browser-like client, and print her cookies, the use case and a preview POST body."""
    import django

    django.setup()
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.test import Client

    alice = get_user_model().objects.get(username="alice")
    alice.is_staff = alice.is_superuser = True
    alice.save(update_fields=["is_staff", "is_superuser"])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(alice)
    client.get("/t/acme/usecases/")  # sets the CSRF cookie, as any page does
    cookies = {name: client.cookies[name].value for name in ("sessionid", "csrftoken")}

    use_case_model = apps.get_model("decisions", "UseCase")
    use_case = use_case_model.objects.get(team__slug="acme", name=USE_CASE)
    answers: dict[str, object] = {"name": use_case.name, "description": use_case.description}
    for field in use_case_model.REQUIREMENT_FIELDS:
        answers[field] = getattr(use_case, field)
    hops = list(use_case.hops.order_by("position"))
    answers |= {"hops-TOTAL_FORMS": len(hops), "hops-INITIAL_FORMS": 0}
    for i, hop in enumerate(hops):
        for field in ("service", "p50_ms", "p99_ms", "role", "availability"):
            if getattr(hop, field) is not None:
                answers[f"hops-{i}-{field}"] = getattr(hop, field)
    # As a browser sends a form: a ticked checkbox as "on", an unticked one not at all.
    body = urlencode({k: "on" if v is True else v for k, v in answers.items() if v is not False})
    print(json.dumps({"cookies": cookies, "use_case": use_case.pk, "preview_body": body}))


def wrk(url: str, headers: dict[str, str], *, body: str = "", duration_s: int = DURATION_S):
    """requests/s, p50 and p99 in ms of ``url`` under wrk; a POST when there is a body."""
    command = ["taskset", "-c", "0", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration_s}s"]
    command += ["--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if body:
            script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n')
            script.flush()
            command += ["-s", script.name]
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


def typing_latency(port: int, headers: dict[str, str], body: str) -> dict[str, float]:
    """The preview under ``TYPISTS`` people each sending one a second, open model."""
    from probes.engine import LoadPlan, Target, run_probe_sync, summarize

    os.sched_setaffinity(0, {0})  # the generator beside wrk, off the server's core
    target = Target(
        address="127.0.0.1",
        port=port,
        host="127.0.0.1",
        scheme="http",
        method="POST",
        path="/t/acme/usecases/preview/",
        headers=tuple(headers.items()),
        body=body.encode(),
        expected_status=200,
        timeout_s=TYPING_TIMEOUT_S,
    )
    plan = LoadPlan(
        "open",
        rate=TYPISTS,
        concurrency=TYPISTS,
        duration_s=TYPING_S,
        warmup_s=TYPING_WARMUP_S,
    )
    outcome = run_probe_sync(target, plan)
    refused = {kind: n for kind, n in outcome.errors.items() if kind in ("4xx", "5xx") and n}
    if refused:
        raise RuntimeError(f"the preview was refused under typing: {refused}")
    found = summarize(outcome.histogram)
    return {
        **{key: float(found[key]) for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
        "answered": float(found["count"]),
        "unanswered": float(outcome.error_count),
        "valid": outcome.valid,
        "invalid_reason": outcome.invalid_reason,
    }


def main() -> int:
    title = "## Questionnaire pages against the Django admin"
    if not shutil.which("wrk"):
        print(f"{title}\n\nwrk is not installed (`make system`).\n")
        return 1
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run(
            [PY, "manage.py", *command], env=env(), cwd=ROOT, check=True, capture_output=True
        )
    prepared = subprocess.run(
        [PY, __file__, "--prepare"], env=env(), cwd=ROOT, check=True, capture_output=True
    )
    setup = json.loads(prepared.stdout)
    cookies = setup["cookies"]
    pk, body = setup["use_case"], setup["preview_body"]
    page_headers = {"Cookie": "; ".join(f"{n}={v}" for n, v in cookies.items())}
    preview_headers = {
        **page_headers,
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRFToken": cookies["csrftoken"],
        "HX-Request": "true",
    }
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "1", PY, "-m", "gunicorn", "config.wsgi", "-w", "1"]
        + ["-b", f"127.0.0.1:{port}", "--log-level", "warning"],
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
            ADMIN: (f"{base}/admin/decisions/usecase/{pk}/change/", page_headers, ""),
            "questionnaire, edit page": (f"{base}/t/acme/usecases/{pk}/edit/", page_headers, ""),
            "questionnaire, new use case": (f"{base}/t/acme/usecases/new/", page_headers, ""),
            PREVIEW: (f"{base}/t/acme/usecases/preview/", preview_headers, body),
            "use-case list": (f"{base}/t/acme/usecases/", page_headers, ""),
        }
        # A worker's first requests import and compile what the pages need;
        # warm every page first so the timed runs compare steady states.
        for url, headers, data in pages.values():
            wrk(url, headers, body=data, duration_s=1)
        # Interleaved rounds, so that a neighbour's burst of load falls on every page alike.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        for _ in range(ROUNDS):
            for name, (url, headers, data) in pages.items():
                runs[name].append(wrk(url, headers, body=data))
        results = {
            name: sorted(found, key=lambda r: r["rps"])[ROUNDS // 2] for name, found in runs.items()
        }
        typing = typing_latency(port, preview_headers, body)
    finally:
        server.terminate()
        server.wait(timeout=10)
    admin = results[ADMIN]["rps"]
    print(f"{title}\n")
    print(
        f"wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s against one gunicorn sync worker (core 1), "
        f"{ROUNDS} interleaved rounds per page, the median round shown, logged in (session "
        "and CSRF cookies, as a browser sends them), SQLite, `DEBUG=0`; wrk on core 0. "
        f'Every page is about the demo use case "{USE_CASE}" (four hops). Ratio = '
        "requests/s of the page over requests/s of the Django admin's change form for the "
        f"same use case. Goal: >= {TARGET_RATIO:.1f} for the edit page, the preview and "
        "the list.\n"
    )
    print("| page | requests/s | p50 ms | p99 ms | ratio to the admin form |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, result in results.items():
        print(
            f"| {name} | {result['rps']:.0f} | {result['p50']:.2f} | {result['p99']:.2f} | "
            f"{result['rps'] / admin:.2f} |"
        )
    goals = ("questionnaire, edit page", PREVIEW, "use-case list")
    missed = [name for name in goals if results[name]["rps"] / admin < TARGET_RATIO]
    print(
        "\n"
        + (f"Below the goal: {', '.join(missed)}." if missed else "Every goal row meets 1.0.")
        + "\n"
    )
    print(f"### The preview while {TYPISTS} people type\n")
    print(
        f"Open model with Archway's probe engine (core 0): {TYPISTS} users each send one "
        f"preview POST a second ({TYPISTS} requests/s, due every {1000 // TYPISTS} ms), "
        f"{TYPING_S} s after {TYPING_WARMUP_S} s of warm-up, against the same worker; "
        "latency from each request's due time, so time spent queueing counts. "
        f"Goal: p95 <= {TARGET_TYPING_P95_MS:g} ms.\n"
    )
    print(
        f"| answered | unanswered in {TYPING_TIMEOUT_S} s | p50 ms | p95 ms | p99 ms | max ms "
        "| p95 / goal |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {typing['answered']:.0f} | {typing['unanswered']:.0f} | {typing['p50_ms']:.2f} | "
        f"{typing['p95_ms']:.2f} | {typing['p99_ms']:.2f} | {typing['max_ms']:.2f} | "
        f"{typing['p95_ms'] / TARGET_TYPING_P95_MS:.2f} |"
    )
    if not typing["valid"]:
        print(
            f"\nThe load generator fell behind, so these numbers are not valid: "
            f"{typing['invalid_reason']}."
        )
    print()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        prepare()
        sys.exit(0)
    sys.exit(main())
