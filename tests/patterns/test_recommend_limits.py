"""``manage.py recommend`` refuses hostile JSON with exit 2 and a message, never a traceback."""

from __future__ import annotations

import pytest

from patterns.management.commands.recommend import MAX_INPUT_CHARS
from tests.patterns.test_recommend_command import run


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"chain": ' + "[" * 100_000, "nested too deeply"),
        ('{"peak_rps": NaN}', "NaN is not a JSON number"),
        ('{"peak_rps": Infinity}', "Infinity is not a JSON number"),
        (" " * MAX_INPUT_CHARS + "{}", f"longer than {MAX_INPUT_CHARS:,} characters"),
    ],
    ids=["deep-array", "deep-unclosed", "nan", "infinity", "oversized"],
)
def test_hostile_json_exits_2_with_the_reason(stdin: str, message: str) -> None:
    result = run("--input", "-", stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path) -> None:
    path = tmp_path / "huge.json"
    path.write_text("[" + "1," * MAX_INPUT_CHARS + "1]")
    result = run("--input", str(path))
    assert result.returncode == 2 and f"{MAX_INPUT_CHARS:,}" in result.stderr
