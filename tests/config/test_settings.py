from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[2]


def test_celery_is_configured_to_lose_no_task():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    # Redis would hand a still-running task to a second worker otherwise.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.django_db
def test_every_model_change_has_a_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)


def documented_production_environment() -> dict[str, str]:
    """The variables docs/operations.md gives for production, placeholders filled in."""
    text = (REPO / "docs" / "operations.md").read_text()
    block = re.search(
        r"<!-- production-environment -->\n```sh\n(.*?)```\n<!-- /production-environment -->",
        text,
        re.S,
    )
    assert block, "docs/operations.md lost its production-environment block"
    variables = dict(line.split("=", 1) for line in block.group(1).splitlines() if line)
    assert variables["SECRET_KEY"].startswith("<"), "the docs must not hold a real key"
    variables["SECRET_KEY"] = secrets.token_urlsafe(64)
    return variables


def test_the_documented_production_settings_pass_the_deploy_check():
    documented = documented_production_environment()
    assert {"SECURE_HSTS_PRELOAD", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT"} <= set(documented)
    # Only what the docs say: nothing from this shell may make the check pass.
    inherited = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "ARCHWAY_VAR_DIR"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env={**inherited, **documented},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_readme_documents_every_production_variable():
    readme = (REPO / "README.md").read_text()
    configuration = readme[readme.index("## Configuration") :]
    missing = [
        name for name in documented_production_environment() if f"`{name}`" not in configuration
    ]
    assert missing == []


def test_database_url_selects_postgresql():
    env = {**os.environ, "DATABASE_URL": "postgres://archway:pw@127.0.0.1:5432/archway"}
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr
