"""manage.py lint_adrs and the same checks on the log page: exit 1 on problems, 2 on bad
input, 0 on a clean log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from decisions.models import Decision, DecisionStatus
from decisions.records.selectors import decision_log_problems
from tests.decisions.adr_support import drafted

FIXTURES = Path(__file__).parent / "fixtures"


def lint(path: Path, capsys) -> tuple[int, str]:
    try:
        call_command("lint_adrs", str(path))
    except CommandError as exc:
        return exc.returncode, capsys.readouterr().out + str(exc)
    return 0, capsys.readouterr().out


def test_a_clean_log_passes(capsys):
    code, out = lint(FIXTURES / "madr4", capsys)
    assert (code, out.strip()) == (0, "2 records, no problems.")


def test_each_kind_of_problem_is_reported_with_exit_1(tmp_path, capsys):
    folder = tmp_path / "adr"
    shutil.copytree(FIXTURES / "adr-tools-links/doc/adr", folder)
    # A second record numbered 2, a dangling link, a one-way supersede, no date.
    (folder / "0002-another-second-record.md").write_text(
        "# 2. Another second record\n\n## Status\n\nAccepted\n\n"
        "Relates to [9. Nowhere](0009-nowhere.md)\n\n## Context\n\nx\n"
    )
    (folder / "0006-drop-html-mails.md").write_text(
        "# 6. Drop HTML mails\n\nDate: 2023-05-01\n\n## Status\n\nAccepted\n\n"
        "Supersedes [5. Render invoices as PDF](0005-render-invoices-as-pdf.md)\n"
    )
    (folder / "0007-dangling.md").write_text(
        "# 7. Dangling\n\nDate: 2023-05-02\n\n## Status\n\nSuperseded by [ADR-0042](0042-x.md)\n"
    )
    code, out = lint(folder, capsys)
    assert code == 1
    lines = out.splitlines()
    assert (
        "0002-send-invoices-from-a-queue-worker.md: number 0002 is also used by "
        "0002-another-second-record.md." in lines
    )
    assert any("link to [9. Nowhere](0009-nowhere.md) points at no record" in x for x in lines)
    assert any("0002-another-second-record.md: no date." in x for x in lines)
    assert any(
        "0006-drop-html-mails.md: supersedes 0005-render-invoices-as-pdf.md, but "
        "0005-render-invoices-as-pdf.md does not say it is superseded by it" in x
        for x in lines
    )
    assert any(
        "0007-dangling.md: superseded by [ADR-0042](0042-x.md), which is no record" in x
        for x in lines
    )
    assert any(
        "0004-retry-invoice-mails-with-backoff.md: accepted, but depends on "
        "0003-render-invoices-as-html.md, which is superseded." in x
        for x in lines
    )
    assert "problems in 8 records" in out


def test_unreadable_records_are_problems_and_bad_paths_exit_2(tmp_path, capsys):
    (tmp_path / "0001-broken.md").write_text("no title at all")
    code, out = lint(tmp_path, capsys)
    assert code == 1 and "0001-broken.md: no title" in out
    code, out = lint(tmp_path / "missing", capsys)
    assert code == 2 and "no such file or folder" in out
    (tmp_path / "log.zip").write_bytes(b"not a zip")
    code, out = lint(tmp_path / "log.zip", capsys)
    assert code == 2 and "not a zip file" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = lint(empty, capsys)
    assert code == 2 and "no ADR files found" in out


def test_the_log_page_runs_the_same_checks(acme, owner, owner_client):
    old = drafted(acme, owner)
    Decision.objects.filter(pk=old.pk).update(status=DecisionStatus.SUPERSEDED)
    assert decision_log_problems(team=acme) == [
        "ADR-0001: superseded, but it names no replacement."
    ]
    page = owner_client.get("/t/acme/decisions/").content.decode()
    assert "ADR-0001: superseded, but it names no replacement." in page


@pytest.mark.parametrize("folder", ["madr2", "madr3", "adr-tools", "log4brains"])
def test_the_existing_fixture_logs_lint_clean(folder, capsys):
    code, out = lint(FIXTURES / folder, capsys)
    assert code == 0, out
