"""Importing existing ADR folders: every format, links and numbers kept, all or nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from decisions.models import Decision, DecisionStatus
from decisions.records.exports.zip import log_zip
from decisions.records.imports.parse import ParseError, parse_adr
from decisions.records.imports.service import (
    ImportProblem,
    files_from_folder,
    files_from_zip,
    import_adrs,
)
from decisions.records.selectors import decision_list
from tests.decisions.adr_support import accepted_with_predecessor, drafted
from tests.factories import make_team

FIXTURES = Path(__file__).parent / "fixtures"
S = DecisionStatus


def imported(team, folder: str):
    return import_adrs(team=team, files=files_from_folder(FIXTURES / folder), by=None)


def by_number(team) -> dict[int, Decision]:
    return {d.number: d for d in Decision.objects.filter(team=team)}


def test_adr_tools_records_keep_numbers_statuses_and_the_superceded_spelling(acme):
    result = imported(acme, "adr-tools")
    assert result.formats == {"nygard": 4}
    d = by_number(acme)
    assert [d[n].title for n in (1, 2, 3, 4)] == [
        "Record architecture decisions",
        "Call payments synchronously",
        "Authorise payments through a saga",
        "Use gRPC between internal services",
    ]
    assert [d[n].status for n in (1, 2, 3, 4)] == ["accepted", "superseded", "accepted", "proposed"]
    assert d[2].superseded_by == d[3]
    assert list(d[3].supersedes.all()) == [d[2]]
    assert d[3].date.isoformat() == "2023-06-02"
    assert d[3].justification.startswith("An orchestrator runs reserve stock")
    assert "Compensations must be idempotent" in d[3].consequences
    assert result.unresolved == []


def test_madr2_records_read_status_bullets_options_and_links(acme):
    result = imported(acme, "madr2")
    assert result.formats == {"madr2": 3}
    d = by_number(acme)
    assert d[1].people("decision_makers") == ["Alice Smith", "Bob Jones"]
    assert d[1].chosen_option == "MADR 2.1.2"
    assert d[1].justification == "comes out best (see below)"
    assert "* Good, because Decisions are easy to find" in d[1].consequences
    assert "* Bad, because Writing one takes a little longer" in d[1].consequences
    madr = next(o for o in d[1].considered_options if o["name"] == "MADR 2.1.2")
    assert madr["pros"] == ["lean template", "structured"]
    assert madr["summary"] == "The Markdown Architectural Decision Records"
    assert d[2].status == S.SUPERSEDED and d[2].superseded_by == d[3]
    assert d[2].chosen_pattern == "event-driven"
    assert "three consumers" in d[2].drivers


def test_madr3_records_read_front_matter_deciders_and_validation(acme):
    imported(acme, "madr3")
    d = by_number(acme)
    assert d[1].people("decision_makers") == ["Dave Brown", "Erin Green"]
    assert d[1].consulted == "Finance team"
    assert d[1].confirmation.startswith("The monthly run finishes")
    assert d[1].chosen_pattern == "message-queue"
    assert d[1].more_information == "Revisit when we pass 100,000 customers."
    assert d[2].status == S.REJECTED


def test_madr4_records_read_lists_neutral_points_and_confirmation(acme):
    imported(acme, "madr4")
    d = by_number(acme)
    assert d[1].people("decision_makers") == ["Alice Smith", "Bob Jones"]
    assert d[1].people("informed") == ["Support"]
    assert d[1].confirmation.startswith("Dashboards show")
    assert d[1].considered_options[0]["neutral"] == ["needs HTTP/1.1 keep-alive"]
    assert d[2].status == S.DEPRECATED


def test_log4brains_records_get_numbers_in_date_order_and_keep_links(acme):
    result = imported(acme, "log4brains")
    assert result.formats == {"log4brains": 3}
    d = by_number(acme)
    assert [d[n].title for n in (1, 2, 3)] == [
        "Use Markdown Architectural Decision Records",
        "Use Log4brains to manage the ADRs",
        "Keep ADRs in Archway",
    ]
    assert d[2].status == S.SUPERSEDED and d[2].superseded_by == d[3]
    # "Relates to" under Links is a typed link now, not text.
    assert d[1].more_information == ""
    assert [(link.kind, link.target) for link in d[1].links_out.all()] == [("relates-to", d[2])]


def test_a_madr_export_imported_into_an_empty_team_exports_the_same_files(acme, owner):
    accepted_with_predecessor(acme, owner)
    drafted(acme, owner, more_information="Ask **ops** first.\n\n## Not a section\n\ntext")
    first = log_zip(acme, decision_list(team=acme).prefetch_related("supersedes"))
    empty = make_team("empty")
    import_adrs(team=empty, files=files_from_zip(first), by=None)
    second = log_zip(empty, decision_list(team=empty).prefetch_related("supersedes"))

    def markdown(data: bytes) -> dict[str, bytes]:
        archive = zipfile.ZipFile(io.BytesIO(data))
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name.endswith(".md") and not name.endswith("index.md")
        }

    assert sorted(markdown(first)) == [
        "docs/decisions/0001-saga-with-an-orchestrator-for-place-an-order.md",
        "docs/decisions/0002-saga-with-an-orchestrator-v2.md",
        "docs/decisions/0003-saga-with-an-orchestrator-for-place-an-order.md",
    ]
    # The diagram is drawn from the record's use case, and the assumptions are data of the
    # living record; neither travels: the imported records are the same text without their
    # (generated) Assumptions and Diagram sections.
    assert all(
        b"\n## Diagram\n\n![Pattern diagram](diagrams/" in t for t in markdown(first).values()
    )
    assert markdown(second) == {
        name: text.split(b"\n\n## Assumptions\n")[0].split(b"\n\n## Diagram\n")[0] + b"\n"
        for name, text in markdown(first).items()
    }
    again = by_number(empty)
    assert again[1].status == S.SUPERSEDED and again[1].superseded_by == again[2]


def test_a_bad_file_imports_nothing_and_names_the_file(acme, tmp_path):
    for source in (FIXTURES / "adr-tools").iterdir():
        (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "0005-broken.md").write_text("# 5. Broken\n\n## Status\n\nMaybe later\n")
    with pytest.raises(ImportProblem, match="0005-broken.md: unknown status 'Maybe later'"):
        import_adrs(team=acme, files=files_from_folder(tmp_path), by=None)
    assert not Decision.objects.filter(team=acme).exists()


def test_numbers_that_already_exist_stop_the_import(acme, member):
    drafted(acme, member)
    with pytest.raises(ImportProblem, match="team acme already has ADR-0001"):
        imported(acme, "madr3")
    assert Decision.objects.filter(team=acme).count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no title here", "no title"),
        ("---\nstatus: [unclosed\n---\n# T\n", "the YAML front matter cannot be read"),
        ("---\nstatus: accepted\ndate: 21 May\n---\n# T\n", "date '21 May' is not YYYY-MM-DD"),
    ],
)
def test_unreadable_records_say_which_file_and_why(text, message):
    with pytest.raises(ParseError, match=f"0009-x.md: (the )?{message}"):
        parse_adr(text, "0009-x.md")


def test_a_heading_inside_a_code_block_is_text():
    text = (
        "---\nstatus: accepted\n---\n# T\n\n"
        "## Context and Problem Statement\n\n```\n## Decision Outcome\n```\n"
    )
    assert "## Decision Outcome" in parse_adr(text, "0001-t.md").fields["context"]


def test_zips_outside_the_limits_are_refused(monkeypatch):
    from decisions.records.imports import service as imports

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0001-big.md", "x" * 2000)
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ImportProblem, match="0001-big.md: larger than the limit of 1000 bytes"):
        files_from_zip(buffer.getvalue())
    with pytest.raises(ImportProblem, match="not a zip file"):
        files_from_zip(b"plain text")


def test_the_import_page_takes_a_zip(member_client, acme):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((FIXTURES / "madr4").iterdir()):
            archive.writestr(f"docs/decisions/{path.name}", path.read_text())
    buffer.name = "adrs.zip"
    buffer.seek(0)
    preview = member_client.post("/t/acme/decisions/import/", {"archive": buffer})
    assert preview.status_code == 200
    assert not Decision.objects.filter(team=acme).exists()
    token = preview.context["confirm"]["token"].value()
    response = member_client.post(
        "/t/acme/decisions/import/", {"token": token, "action": "import"}, follow=True
    )
    assert "Imported 2 records (2 madr4)." in response.content.decode()
    assert Decision.objects.filter(team=acme).count() == 2


def test_the_import_page_shows_the_problem_and_imports_nothing(member_client, acme):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0001-a.md", "# 1. A\n\n## Status\n\nAccepted\n")
        archive.writestr("0002-b.md", "no title")
    buffer.name = "adrs.zip"
    buffer.seek(0)
    response = member_client.post("/t/acme/decisions/import/", {"archive": buffer})
    assert response.status_code == 400
    assert "0002-b.md: no title" in response.content.decode()
    assert not Decision.objects.filter(team=acme).exists()


# --- the command line ----------------------------------------------------------------


def test_import_adrs_command_imports_a_folder(acme, capsys):
    call_command("import_adrs", "--team", "acme", str(FIXTURES / "adr-tools"))
    assert "Imported 4 records into acme (4 nygard)." in capsys.readouterr().out
    assert Decision.objects.filter(team=acme).count() == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nope", "fixtures"], "No team with the slug 'nope'"),
        (["--team", "acme", "/no/such/folder"], "/no/such/folder: no such file or folder"),
    ],
)
def test_import_adrs_command_fails_with_status_2(acme, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_adrs", *args)
    assert caught.value.returncode == 2


def test_import_adrs_command_imports_nothing_from_a_bad_folder(acme, tmp_path):
    (tmp_path / "0001-good.md").write_text(
        (FIXTURES / "madr3/0001-queue-invoice-generation.md").read_text()
    )
    (tmp_path / "0002-bad.md").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(
        CommandError, match="0002-bad.md: not UTF-8 text.*team acme; nothing"
    ) as caught:
        call_command("import_adrs", "--team", "acme", str(tmp_path))
    assert caught.value.returncode == 2
    assert not Decision.objects.filter(team=acme).exists()
