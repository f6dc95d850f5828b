"""`make prod` (bin/run-prod): refuses an incomplete environment, runs gunicorn, workers
and beat, starts a Redis only when none answers, and never takes over one it did not start."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from tests.config.test_settings import documented_production_environment
from tests.probes.servers import free_port

REPO = Path(__file__).resolve().parents[2]
RUN_PROD = str(REPO / "bin" / "run-prod")
POSTGRES = "postgres://postgres@127.0.0.1:5432"


def _environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return {
        **base,
        **documented_production_environment(),
        "ARCHWAY_VAR_DIR": str(tmp_path),
        "ARCHWAY_QUEUE": f"archway-prod-test-{uuid.uuid4().hex[:8]}",
        **overrides,
    }


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RUN_PROD], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    env = _environment(tmp_path)
    del env["SECRET_KEY"]
    result = _run(env)
    assert result.returncode == 2
    assert "set SECRET_KEY" in result.stderr


def test_it_says_what_to_set_instead_of_starting_a_postgresql(tmp_path):
    result = _run(_environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3"))
    assert result.returncode == 2
    assert "set DATABASE_URL to the team's PostgreSQL" in result.stderr


def test_a_redis_it_did_not_start_is_used_as_it_is_and_left_running(tmp_path):
    port = free_port()
    theirs = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--dir",
            tmp_path,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(50):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.1)
        # A database that does not answer stops the script after the Redis step.
        result = _run(
            _environment(
                tmp_path,
                REDIS_URL=f"redis://127.0.0.1:{port}/0",
                DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/archway",
            )
        )
        assert result.returncode != 0
        assert "maxmemory-policy=noeviction, appendonly=no" in result.stderr
        assert "not ours to change" in result.stderr
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert not (tmp_path / "prod" / "redis").exists()
    finally:
        theirs.terminate()
        theirs.wait(timeout=10)


@pytest.fixture
def scratch_postgres():
    name = f"archway_prod_test_{uuid.uuid4().hex[:8]}"
    try:
        psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 for make prod to use")
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _health(bind: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://{bind}/healthz", headers={"Host": "archway.example.com"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_it_runs_web_workers_and_beat_on_a_redis_of_its_own(tmp_path, scratch_postgres):
    redis_port, bind = free_port(), f"127.0.0.1:{free_port()}"
    env = _environment(
        tmp_path,
        DATABASE_URL=scratch_postgres,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ARCHWAY_WEB_BIND=bind,
        ARCHWAY_WEB_WORKERS="1",
        ARCHWAY_CELERY_WORKERS="2",
        ARCHWAY_CELERY_CONCURRENCY="1",
    )
    log = open(tmp_path / "run-prod.log", "w")  # noqa: SIM115 - closed below
    script = subprocess.Popen(
        [RUN_PROD], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        status, body = 0, {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and script.poll() is None:
            with contextlib.suppress(OSError):
                status, body = _health(bind)
                if status == 200 and body["workers"]["count"] == 2:
                    break
            time.sleep(0.5)
        output = (tmp_path / "run-prod.log").read_text()
        assert (status, body.get("workers")) == (200, {"count": 2}), output
        assert "started Redis" in output
        ours = redis.Redis(port=redis_port)
        assert ours.config_get("appendonly") == {"appendonly": "yes"}
        assert ours.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert "beat: Starting" in (tmp_path / "prod" / "beat.log").read_text()

        script.send_signal(signal.SIGTERM)
        script.wait(timeout=60)
        # Everything it started is gone, the Redis too.
        with pytest.raises(redis.ConnectionError):
            ours.ping()
        with pytest.raises(OSError):
            _health(bind)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        log.close()


def test_make_run_runs_beat_as_its_own_process():
    # Inside a worker (`worker --beat`), beat and its reaper would die with that worker.
    script = (REPO / "bin" / "run-all").read_text()
    assert "--beat" not in script
    assert "-m celery -A config beat" in script
