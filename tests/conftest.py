"""People and teams for every test: acme with owner, member, viewer; globex with outsider."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from decisions.models import Role
from tests.factories import add_member, make_team, make_user

PASSWORD = "pw-for-tests-1"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real hashing costs about a second per test that makes users; tests check logic, not cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme(db):
    return make_team("acme", "Acme Shop")


@pytest.fixture
def globex(db):
    return make_team("globex", "Globex")


@pytest.fixture
def owner(acme):
    user = make_user("olivia")
    add_member(acme, user, Role.FACILITATOR)
    return user


@pytest.fixture
def member(acme):
    user = make_user("max")
    add_member(acme, user, Role.MEMBER)
    return user


@pytest.fixture
def viewer(acme):
    user = make_user("vera")
    add_member(acme, user, Role.VIEWER)
    return user


@pytest.fixture
def outsider(globex):
    user = make_user("oscar")
    add_member(globex, user, Role.FACILITATOR)
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def member_client(member):
    return _client_for(member)


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)


@pytest.fixture
def csrf_member_client(member):
    """A member's client that enforces CSRF, as a browser session would."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    return client


# --- A real Celery worker process ------------------------------------------


class WorkerProcess:
    """A `celery worker` subprocess on the test database and the test queue."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": _test_database_url()}
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "-n",
                f"{name}@%h",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while " ready." not in log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Celery worker {name} did not start:\n{log_path.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as a crashed machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


@pytest.fixture
def start_celery_worker(django_db_setup, tmp_path):
    """start_celery_worker(name) -> WorkerProcess; every one is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(name: str = "worker") -> WorkerProcess:
        worker = WorkerProcess(f"{name}-{len(started)}", tmp_path / f"{name}-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker_process(start_celery_worker):
    """A worker for one test (tests using it need `transactional_db`).

    Not shared across tests: a worker left running would take the next test's
    tasks with that test's settings unseen (an allow-list, a killed worker).
    """
    return start_celery_worker("worker")
