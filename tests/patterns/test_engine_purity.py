"""The engine stays pure: nothing under patterns/engine/ imports Django or Celery."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "patterns" / "engine"
FORBIDDEN = ("django", "celery")


def forbidden_imports(path: Path) -> list[str]:
    """Module names imported by ``path`` whose top-level package is forbidden."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", ""))
            in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def test_the_engine_imports_neither_django_nor_celery() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert files, "engine sources not found"
    offenders = {str(path): forbidden_imports(path) for path in files}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_scanner_catches_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import os\n"
        "import django.conf\n"
        "from celery import shared_task\n"
        "def f():\n"
        "    from django.db import models\n"
        "    return __import__('celery.app')\n"
    )
    assert forbidden_imports(sample) == ["django.conf", "celery", "django.db", "celery.app"]
